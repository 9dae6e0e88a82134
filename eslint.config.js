// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'loadtest/k6/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a const object and a derived union (STYLE.md).' },
        { selector: 'TSModuleDeclaration', message: 'No namespaces (STYLE.md).' },
      ],
    },
  },
  {
    // The k6 shim of the tests (test/helpers/k6): plain Node modules, run outside vitest.
    files: ['test/helpers/k6/**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        performance: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        URL: 'readonly',
      },
    },
  },
  {
    files: ['bin/**/*.js', 'loadtest/**/*.js', 'loadtest/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', __ENV: 'readonly' } },
  },
);
