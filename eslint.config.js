// @ts-check
// Lint of the whole workspace: ESLint's recommended rules and typescript-eslint's
// type-aware ones (recommendedTypeChecked), each file checked with the types of the
// tsconfig that `scripts/typecheck.mjs` checks it with. Relaxations below say why.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const GIF_KERNELS = [
  'packages/capture/src/gif/**',
  'packages/capture/test/gif.test.ts',
  'packages/capture/test/gif-helpers.ts',
];
const TESTS = ['packages/*/test/**', 'apps/*/test/**', 'bench/**'];

export default defineConfig(
  { ignores: ['**/node_modules/', '**/dist/', 'data/', '.tmp/', '.fixtures/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
  },
  {
    ignores: GIF_KERNELS,
    languageOptions: {
      parserOptions: {
        tsconfigRootDir: import.meta.dirname,
        // The first project holding a file gives its types, so the narrower ones come first
        // (capture's Node project before the server, which imports capture; the web app
        // before its tests). capture's *.browser.ts are checked by the web app's project.
        project: [
          'packages/protocol/tsconfig.json',
          'packages/capture/tsconfig.json',
          'packages/server/tsconfig.json',
          'apps/cli/tsconfig.json',
          'apps/web/tsconfig.json',
          'apps/web/test/tsconfig.json',
          'bench/tsconfig.json',
          'scripts/tsconfig.json',
        ],
      },
    },
  },
  {
    rules: {
      // Async functions here implement async contracts (the Store and Bus interfaces over
      // synchronous better-sqlite3, fastify plugins and handlers): `async` is what turns a
      // synchronous throw into a rejection, so an async function with no await is intended.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // A rejection that passes on what was caught (typed `unknown`) is not a new reason.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/no-misused-promises': [
        'error',
        // Preact ignores what an event handler returns, an async handler's promise
        // included; as in any handler, its failures are for it to catch and show.
        { checksVoidReturn: { attributes: false } },
      ],
    },
  },
  {
    // The typed-array kernels are type-checked with noUncheckedIndexedAccess off (see
    // scripts/typecheck.mjs); linted with it on, every `a[i]` of their loops would be
    // `number | undefined` and half their locals unresolved.
    files: GIF_KERNELS,
    languageOptions: {
      parserOptions: { project: ['packages/capture/tsconfig.gif.json'] },
    },
  },
  {
    files: ['apps/web/src/**', 'packages/capture/src/**/*.browser.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: TESTS,
    rules: {
      // Tests and benchmarks read JSON bodies and WebSocket frames as `any` and assert on
      // their shape; typing every response only to read it once is noise. The source keeps
      // these rules.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `String(data)` of a `ws` message: text frames arrive as a Buffer, typed as
      // Buffer | ArrayBuffer | Buffer[].
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // @tus/server's hooks refuse an upload by throwing `{ status_code, body }`, not an Error.
    files: ['packages/server/src/routes/uploads.ts'],
    rules: { '@typescript-eslint/only-throw-error': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
