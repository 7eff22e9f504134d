#!/usr/bin/env node
// Runs the TypeScript entry directly through tsx, so the command works right after
// `npm install` with no build step.
import { register } from 'tsx/esm/api';
register();
try {
  const { main } = await import('../src/main.ts');
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // Only a broken installation gets here; keep it to one line unless debugging.
  if (process.env.CLIPCHAT_DEBUG) console.error(e);
  process.stderr.write(`clipchat: cannot start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
  process.exitCode = 1;
}
