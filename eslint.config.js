// Lint: mostly the layering rules that keep the architecture honest, plus TypeScript's
// recommended checks. The engine (shared/) never imports electron; shared/common imports
// neither Node built-ins nor Node-only packages; the renderer never imports the engine.
import tseslint from 'typescript-eslint'
import svelte from 'eslint-plugin-svelte'
import svelteParser from 'svelte-eslint-parser'

// Bare built-in names are matched exactly (as `paths`); `node:*` as a pattern.
const bareBuiltins = ['fs', 'path', 'os', 'net', 'tls', 'http', 'https', 'http2', 'dns', 'crypto', 'stream', 'zlib', 'child_process', 'worker_threads', 'url', 'util', 'events', 'buffer', 'vm'].map((name) => ({ name, message: 'No Node built-ins here.' }))

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', '.vite/**'] },
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parser: svelteParser, parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'The engine is pure Node: electron belongs in electron/ only.' }] }],
    },
  },
  {
    files: ['shared/common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'shared/common runs everywhere: no Electron.' }, 'ws', 'undici', ...bareBuiltins],
          patterns: [{ group: ['node:*'], message: 'shared/common runs in the renderer too: no Node built-ins.' }, { group: ['**/node/**', '**/electron/**'], message: 'shared/common may import only shared/common.' }],
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.svelte'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['electron', 'ws', 'undici', ...bareBuiltins],
          patterns: [{ group: ['node:*'], message: 'The renderer has no Node.' }, { group: ['**/shared/node/**', '**/electron/**'], message: 'The renderer talks to the host only through the HostClient API.' }],
        },
      ],
    },
  },
)
