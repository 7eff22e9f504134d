#!/usr/bin/env node
// Runs the command built into dist/ at install time (scripts/build.mjs, from the root's
// `prepare` or this package's `prepack`): no TypeScript loader or bundler at run time.
// In a checkout (the build script is there, with esbuild), a source changed since the
// last build is rebuilt first, so edits and tests never run a stale dist/.
import { existsSync } from 'node:fs';

const debug = (e) => {
  if (process.env.CLIPCHAT_DEBUG) console.error(e);
};

const BUILD = new URL('../scripts/build.mjs', import.meta.url);
const MAIN = new URL('../dist/main.js', import.meta.url);

try {
  if (existsSync(BUILD) && !process.env.CLIPCHAT_NO_REBUILD) {
    try {
      await (await import(BUILD.href)).ensureBuilt();
    } catch (e) {
      debug(e); // no esbuild here: run what was built
    }
  }
  if (!existsSync(MAIN))
    throw new Error(
      'clipchat is not built: run `npm run build -w @clipchat/cli` (or `npm install`)',
    );
  const { main } = await import(MAIN.href);
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // Only a broken installation gets here; keep it to one line unless debugging.
  debug(e);
  process.stderr.write(
    `clipchat: cannot start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`,
  );
  process.exitCode = 1;
}
