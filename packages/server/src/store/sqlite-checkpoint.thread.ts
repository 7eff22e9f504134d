/** Runs PASSIVE checkpoints every second on its own connection: it never blocks writers. */
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database((workerData as { file: string }).file);
db.pragma('busy_timeout = 1000');
setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    /* next second */
  }
}, 1000);
