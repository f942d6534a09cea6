import type { Config } from 'jest';

const tsJest: Config['transform'] = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

/**
 * Three projects: `unit` (pure functions, no servers), `security` (the adversarial suite) and `e2e` (real HTTP against the real S3
 * servers that test/run-all.sh starts and describes in OSP_TEST_* environment variables).
 */
const config: Config = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      // Hostile requests through the proxy to real backends behind a recording relay (issue [9]).
      displayName: 'security',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/test/security/**/*.test.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
  ],
  // Generous: e2e tests move real bytes through real servers on a 2-core machine.
  testTimeout: 120_000,
};

export default config;
