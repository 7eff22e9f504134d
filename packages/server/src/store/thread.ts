/**
 * Starting the store's worker threads from their typed modules (`*.thread.ts`). From the
 * sources (tsx, Vitest, `clipchat serve`) the thread loads the `.ts` module through tsx;
 * from built output (`.js` beside this file) it loads the `.js` one directly.
 */
import { Worker } from 'node:worker_threads';

const BOOT = new URL('./thread-boot.mjs', import.meta.url);
const EXT = new URL(import.meta.url).pathname.endsWith('.ts') ? '.ts' : '.js';

/** Starts the thread module `./<name>.thread.{ts,js}` with `data` as its `workerData` (plus `entry`). */
export function startThread<T extends object>(name: string, data: T): Worker {
  const entry = new URL(`./${name}.thread${EXT}`, import.meta.url).href;
  return new Worker(BOOT, { workerData: { ...data, entry } });
}
