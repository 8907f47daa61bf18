import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import boundaries from './eslint/import-boundaries.js'

export default tseslint.config(
  { ignores: ['node_modules/', '.tap/', 'dist/', 'bench/results/', 'protocols/wire/proto/messages.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { counterweight: boundaries },
    rules: {
      'counterweight/import-boundaries': 'error',
      'no-console': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The CLI prints; tests, benchmarks and scripts print their own reports.
    files: ['cli/**', 'test/**', 'bench/**', 'scripts/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['bin/**/*.js', 'eslint/**/*.js', 'scripts/**/*.mjs', '.ci/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
)
