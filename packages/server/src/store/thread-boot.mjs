// Entry of the store's worker threads (SQLite writer, checkpointer). It loads the typed
// module named in workerData: a `.js` one (built output) as is, a `.ts` one (sources, as
// `clipchat serve`, tsx and Vitest run them) through tsx's loader, which Node 20 does not
// pass on from the parent thread.
import { workerData } from 'node:worker_threads';

const entry = workerData.entry;
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(entry);
