#!/usr/bin/env node
// A strict type check of every project of the workspace, through the TypeScript API. The
// capture core is checked on its own with no DOM and no Node types, which is what keeps it
// runnable in both.
//
// `noUncheckedIndexedAccess` is on everywhere except the typed-array kernels of
// packages/capture/src/gif/ (and their own tests): there every `a[i]` is inside a loop
// bound by the array's length, and ~400 `!`s would say nothing. TypeScript has no
// per-file option, so each project is checked with the flag on, ignoring the kernels, and
// the capture projects once more with it off, for the kernels alone.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

const ts = createRequire(import.meta.url)('typescript');
const KERNEL = /\/packages\/capture\/(src\/gif\/|test\/gif(\.test|-helpers)\.ts$)/;
const projects = [
  'packages/protocol/tsconfig.json',
  'packages/capture/tsconfig.core.json',
  'packages/capture/tsconfig.json',
  'packages/server/tsconfig.json',
  'apps/cli/tsconfig.json',
  'apps/web/tsconfig.json',
  'apps/web/test/tsconfig.json',
  'bench/tsconfig.json',
  'scripts/tsconfig.json',
].filter((p) => existsSync(p));

const host = {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
};
const format = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: ts.sys.getCurrentDirectory,
  getNewLine: () => ts.sys.newLine,
};

/** Diagnostics of `project` with the flag set as given, in the files `keep` accepts. */
function check(project, noUncheckedIndexedAccess, keep) {
  const cfg = ts.getParsedCommandLineOfConfigFile(project, { noUncheckedIndexedAccess }, host);
  if (!cfg) throw new Error(`cannot read ${project}`);
  const program = ts.createProgram({
    rootNames: cfg.fileNames,
    options: cfg.options,
    projectReferences: cfg.projectReferences,
  });
  return [...cfg.errors, ...ts.getPreEmitDiagnostics(program)].filter(
    (d) => !d.file || keep(d.file.fileName),
  );
}

let failed = 0;
for (const p of projects) {
  const diags = check(p, true, (f) => !KERNEL.test(f));
  if (p.startsWith('packages/capture/')) diags.push(...check(p, false, (f) => KERNEL.test(f)));
  if (diags.length) {
    failed++;
    process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diags, format));
    console.error(`typecheck failed: ${p} (${diags.length} errors)`);
  }
}
if (failed) process.exit(1);
console.log(
  `typecheck: ${projects.length} projects clean (noUncheckedIndexedAccess outside capture/src/gif kernels)`,
);
