// Lint: typescript-eslint's recommended rules on the library, the tests and the examples.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Unused parameters keep Express's (req, res, next) signatures readable.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The middleware must not load the server's stack (issue 12): runtime imports of these stay in
    // lib/server; type-only imports are fine (they vanish at compile time).
    files: ['lib/**/*.ts'],
    ignores: ['lib/server/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['express', 'helmet', 'pino', 'pino-http', 'prom-client', 'express-prom-bundle'].map((name) => ({
            name,
            message: 'Runtime imports of the server stack belong in lib/server (type-only imports are allowed).',
            allowTypeImports: true,
          })),
          patterns: [{ group: ['express/*', 'pino/*', 'prom-client/*'], message: 'Runtime imports of the server stack belong in lib/server.', allowTypeImports: true }],
        },
      ],
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      // Tests poke at internals and SDK shapes.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The benchmarks' require hook is plain CommonJS (it is what loads the TypeScript).
    files: ['bench/register.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
