#!/usr/bin/env node
// One strict `tsc --noEmit` per project of the workspace. The capture core is checked
// on its own with no DOM and no Node types, which is what keeps it runnable in both.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const projects = [
  'packages/protocol/tsconfig.json',
  'packages/capture/tsconfig.core.json',
  'packages/capture/tsconfig.json',
  'packages/server/tsconfig.json',
  'apps/cli/tsconfig.json',
  'apps/web/tsconfig.json',
  'apps/web/test/tsconfig.json',
  'bench/tsconfig.json',
];
let failed = 0;
for (const p of projects) {
  if (!existsSync(p)) continue;
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', p], { stdio: 'inherit' });
  if (r.status !== 0) { failed++; console.error(`typecheck failed: ${p}`); }
}
if (failed) process.exit(1);
console.log(`typecheck: ${projects.filter((p) => existsSync(p)).length} projects clean`);
