import type { Config } from 'jest';

/**
 * TypeScript through ts-jest; the ESM-only packages (http-proxy-middleware 4, httpxy, is-plain-obj)
 * rewritten to CommonJS because jest's module loader cannot require() an ES module (issue [11]).
 */
const ESM_PACKAGES = ['http-proxy-middleware', 'httpxy', 'is-plain-obj'];
const tsJest: Config['transform'] = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  [`/node_modules/(${ESM_PACKAGES.join('|')})/.+\\.m?js$`]: '<rootDir>/test/jest/esm-to-commonjs.cjs',
};
const transformIgnorePatterns = [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`];

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
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      // Hostile requests through the proxy to real backends behind a recording relay (issue [9]).
      displayName: 'security',
      testEnvironment: 'node',
      transform: tsJest,
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/security/**/*.test.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform: tsJest,
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
  ],
  // Generous: e2e tests move real bytes through real servers on a 2-core machine.
  testTimeout: 120_000,
};

export default config;
