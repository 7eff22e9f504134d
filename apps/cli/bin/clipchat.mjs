#!/usr/bin/env node
// Runs the TypeScript entry directly, so the command works right after `npm install`
// with no build step. `grab` and `clip` run from a bundle of their sources that esbuild
// (tsx's own transformer) writes to node_modules/.cache/clipchat-cli on first use and
// rebuilds whenever a bundled file changes: loading the same modules through tsx's
// loader hooks costs about 0.3 s of every start, a large share of a short clip.
// `serve`, and anything unusual (no esbuild, a read-only node_modules, a bundle that
// fails to load), go through tsx as before. CLIPCHAT_NO_BUNDLE=1 forces tsx.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const debug = (e) => {
  if (process.env.CLIPCHAT_DEBUG) console.error(e);
};

/** Bundled commands: they need nothing outside their sources' own imports. */
const BUNDLED = new Set(['grab', 'clip']);

/** A file's identity for the cache check: size and modification time. */
const stamp = (file) => {
  const s = statSync(file);
  return `${s.size}:${s.mtimeMs}`;
};

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

async function loadBundled() {
  const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  // The cache sits in the node_modules that holds tsx, so the bundle's bare imports
  // (sharp, @ffmpeg-installer/ffmpeg, …) resolve exactly as they do from the sources.
  const tsx = fileURLToPath(import.meta.resolve('tsx/esm/api'));
  const modules = tsx.slice(0, tsx.lastIndexOf('/node_modules/') + '/node_modules'.length);
  const dir = join(modules, '.cache', 'clipchat-cli');
  const file = join(dir, 'main.mjs');
  const manifest = join(dir, 'inputs.json');
  let fresh = false;
  try {
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    fresh = m.entry === entry && Object.entries(m.inputs).every(([f, s]) => stamp(f) === s);
  } catch {
    /* no cache yet, or a file is gone */
  }
  if (!fresh) {
    const esbuild = await import('esbuild');
    const r = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: dirname(entry),
      plugins: [
        {
          name: 'clipchat-cli',
          setup(b) {
            // Workspace packages (TypeScript sources) are bundled; installed packages stay
            // imports. serve is never bundled: the bin runs it through tsx.
            b.onResolve({ filter: /\/commands\/serve\.ts$/ }, () => ({
              path: 'serve',
              namespace: 'clipchat-stub',
            }));
            b.onLoad({ filter: /.*/, namespace: 'clipchat-stub' }, () => ({
              contents: 'throw new Error("serve runs through tsx");',
              loader: 'js',
            }));
            // sharp loads libvips (~0.1 s), which a GIF sticker never needs: load it on first use.
            b.onResolve({ filter: /^sharp$/ }, () => ({
              path: 'sharp',
              namespace: 'clipchat-lazy',
            }));
            b.onLoad({ filter: /.*/, namespace: 'clipchat-lazy' }, () => ({
              contents: LAZY_SHARP,
              loader: 'js',
            }));
            b.onResolve({ filter: /^[^./]/ }, (a) =>
              a.path.startsWith('@clipchat/') ? undefined : { path: a.path, external: true },
            );
          },
        },
      ],
    });
    const inputs = {};
    for (const f of Object.keys(r.metafile.inputs))
      if (!f.includes(':')) {
        const abs = join(dirname(entry), f);
        inputs[abs] = stamp(abs);
      }
    mkdirSync(dir, { recursive: true });
    // Written aside and renamed, so a concurrent start never reads half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, r.outputFiles[0].contents);
    renameSync(tmp, file);
    writeFileSync(`${manifest}.${process.pid}.tmp`, JSON.stringify({ entry, inputs }));
    renameSync(`${manifest}.${process.pid}.tmp`, manifest);
  }
  return import(pathToFileURL(file).href);
}

async function loadMain() {
  if (BUNDLED.has(process.argv[2]) && !process.env.CLIPCHAT_NO_BUNDLE) {
    try {
      return await loadBundled();
    } catch (e) {
      debug(e);
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import('../src/main.ts');
}

try {
  const { main } = await loadMain();
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // Only a broken installation gets here; keep it to one line unless debugging.
  debug(e);
  process.stderr.write(
    `clipchat: cannot start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`,
  );
  process.exitCode = 1;
}
