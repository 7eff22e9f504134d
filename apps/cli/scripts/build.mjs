// Builds the `clipchat` command into dist/ with esbuild: the workspace's TypeScript
// (the CLI, @clipchat/capture, @clipchat/server) is bundled, installed packages stay
// imports. Runs at install time (the root `prepare`, this package's `prepack`), so the
// command needs neither esbuild nor tsx when it runs. `serve` is its own chunk, so `grab`
// and `clip` never load fastify; the store's worker threads are entries of their own,
// beside the chunk that starts them, as packages/server/src/store/thread.ts expects.
//
// In a checkout, bin/clipchat.mjs calls ensureBuilt() first: it rebuilds when a bundled
// source changed since the last build (size and mtime of each input, about 2 ms for the
// ~150 inputs), so tests and a developer's edits never run a stale dist/.
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(CLI, 'dist');
const MANIFEST = join(DIST, 'inputs.json');
const SERVER_STORE = join(CLI, '../../packages/server/src/store');
const SERVER_MEDIA = join(CLI, '../../packages/server/src/media');

/** Plain modules the server starts by file name (a thread's boot, a decoder process). */
const COPIED = [join(SERVER_STORE, 'thread-boot.mjs'), join(SERVER_MEDIA, 'decoder.child.mjs')];

// sharp loads libvips (~0.1 s), which a GIF sticker never needs: load it on first use.
const LAZY_SHARP = `
import { createRequire } from 'node:module';
let sharp;
const load = () => (sharp ??= createRequire(import.meta.url)('sharp'));
export default new Proxy(function sharpOnDemand() {}, {
  apply: (_, self, args) => load().apply(self, args),
  construct: (_, args) => new (load())(...args),
  get: (_, key) => load()[key],
});
`;

/** A file's identity for the freshness check: size and modification time. */
const stamp = (file) => {
  const s = statSync(file);
  return `${s.size}:${s.mtimeMs}`;
};

/** Builds dist/ from the sources. */
export async function build() {
  const esbuild = await import('esbuild');
  rmSync(DIST, { recursive: true, force: true }); // chunks of an older build are names no more
  const r = await esbuild.build({
    entryPoints: {
      main: join(CLI, 'src/main.ts'),
      'sqlite-writer.thread': join(SERVER_STORE, 'sqlite-writer.thread.ts'),
      'sqlite-checkpoint.thread': join(SERVER_STORE, 'sqlite-checkpoint.thread.ts'),
    },
    outdir: DIST,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    absWorkingDir: CLI,
    logLevel: 'warning',
    plugins: [
      {
        name: 'clipchat-cli',
        setup(b) {
          b.onResolve({ filter: /^sharp$/ }, () => ({ path: 'sharp', namespace: 'lazy' }));
          b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
            contents: LAZY_SHARP,
            loader: 'js',
          }));
          // Workspace packages (TypeScript sources) are bundled; installed packages stay imports.
          b.onResolve({ filter: /^[^./]/ }, (a) =>
            a.path.startsWith('@clipchat/') ? undefined : { path: a.path, external: true },
          );
        },
      },
    ],
  });
  for (const f of COPIED) copyFileSync(f, join(DIST, f.slice(f.lastIndexOf('/') + 1)));
  const inputs = {};
  for (const f of [...Object.keys(r.metafile.inputs), ...COPIED])
    if (!f.includes(':')) {
      const abs = f.startsWith('/') ? f : join(CLI, f);
      inputs[abs] = stamp(abs);
    }
  writeFileSync(MANIFEST, JSON.stringify({ inputs }));
}

/** Whether dist/ was built from the sources as they are now. */
function fresh() {
  try {
    const { inputs } = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    return Object.entries(inputs).every(([f, s]) => stamp(f) === s);
  } catch {
    return false; // never built, or a source is gone
  }
}

/** Rebuilds dist/ when a source changed (a checkout; a published package has no sources). */
export async function ensureBuilt() {
  if (fresh()) return;
  // One start builds; the others wait for it, so none loads a half-written dist/.
  const lock = `${DIST}.building`;
  for (let waited = 0; ; waited += 50) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (waited > 60_000) rmSync(lock, { recursive: true, force: true }); // a crashed build's
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    if (!fresh()) await build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await build();
