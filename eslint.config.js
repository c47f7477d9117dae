// Lint configuration: typescript-eslint's recommended type-aware rules over src, test and bench, and the import boundaries of src/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ENV_MESSAGE = 'Only src/config/settings.ts and src/config/env-vars.ts read process.env: take Settings (or CliIo.env) as an argument.';
const GLOBAL_ENV = { selector: "MemberExpression[property.name='env'][object.type='MemberExpression'][object.property.name='process']", message: ENV_MESSAGE };
const CORE_MESSAGE = 'src/core/ imports nothing from other src/ folders: move the shared piece into src/core/, or pass it in.';
const CONTRACTS_MESSAGE = 'Only src/contracts/ (the `keyturn/contracts` export) and tests import vitest or the contract suites: the main entry and the CLI must never load them.';
const CONTRACTS = { group: ['vitest', 'vitest/*', '**/contracts', '**/contracts/*'], message: CONTRACTS_MESSAGE };

export default tseslint.config(
  // test/fixtures/scan/: third-party data with planted fake secrets (leaky-repo, secretlint's snapshots), not our code.
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/.cache/**', 'test/fixtures/scan/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // The environment is read in one place, src/config/ (settings.ts and its table, env-vars.ts);
  // everything else gets settings (or the CLI's injected `io.env`) passed in.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config/settings.ts', 'src/config/env-vars.ts', 'src/**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: ENV_MESSAGE }],
      'no-restricted-syntax': ['error', GLOBAL_ENV],
    },
  },
  // Import boundaries: vitest and the contract suites (src/contracts/, shipped as `keyturn/contracts`)
  // stay out of everything else in src/, so `import 'keyturn'` and the CLI bundle never load them.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/contracts/**', 'src/**/*.test.ts'],
    // ESLint's own rule, not typescript-eslint's (which src/core/ uses below), so neither replaces the other.
    rules: { 'no-restricted-imports': ['error', { patterns: [CONTRACTS] }] },
  },
  // src/core/ is the bottom layer and imports nothing from the other src/ folders.
  // (After the process.env block: this no-restricted-syntax list replaces that one, so it repeats GLOBAL_ENV.)
  {
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['../**'], message: CORE_MESSAGE }] }],
      'no-restricted-syntax': ['error', { selector: 'ImportExpression[source.value=/^\\.\\.\\//]', message: CORE_MESSAGE }, GLOBAL_ENV],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', AbortSignal: 'readonly', setTimeout: 'readonly' } },
  },
);
