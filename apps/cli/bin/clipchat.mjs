#!/usr/bin/env node
// Runs the TypeScript entry directly through tsx, so the command works right after
// `npm install` with no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
