/**
 * The SQLite message writer thread. Appending a batch (one transaction, one fsync) takes
 * tens of milliseconds under load; on its own thread and connection it no longer stalls
 * the event loop that reads and writes sockets. WAL lets the main connection keep reading
 * meanwhile. The worker source is plain CommonJS so it runs under any loader (tsx, Vitest).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** One message to insert: [conversationId, senderId, clientId, id, kind, text, mediaId, sourceJson, createdAt]. */
export type WriterRow = [string, string, string, string, string, string | null, string | null, string | null, number];
/** Per row: the new seq, or the existing row (as selected by MESSAGE_SELECT) when the clientId was seen. */
export type WriterResult = { seq: number } | { existing: Record<string, unknown> };

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -65536');
db.pragma('wal_autocheckpoint = 50000');
const existing = db.prepare(workerData.messageSelect + ' WHERE msg.conv = ? AND msg.sender = ? AND msg.client_id = ?');
const convRow = db.prepare('SELECT n, last_seq FROM conversations WHERE id = ?');
const userN = db.prepare('SELECT n FROM users WHERE id = ?').pluck();
const setLastSeq = db.prepare('UPDATE conversations SET last_seq = ?, active_at = ? WHERE n = ?');
// A repeated clientId is found by the unique index itself: no separate lookup per message.
const insertMsg = db.prepare('INSERT INTO messages (conv, seq, sender, client_id, id, kind, text, media_id, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (conv, sender, client_id) DO NOTHING');
const insertPost = db.prepare('INSERT OR IGNORE INTO media_posts (media_id, conversation_id) VALUES (?, ?)');
// Ids never change their integer keys, so they are cached for the life of the thread.
const users = new Map();
const append = db.transaction((rows) => {
  const convs = new Map();
  const out = rows.map(([cid, sender, clientId, id, kind, text, mediaId, source, at]) => {
    let c = convs.get(cid);
    if (!c) {
      const r = convRow.get(cid);
      if (!r) throw new Error('conversation ' + cid + ' does not exist');
      c = { n: r.n, seq: r.last_seq, at, dirty: false };
      convs.set(cid, c);
    }
    let u = users.get(sender);
    if (u === undefined) {
      u = userN.get(sender);
      if (u === undefined) throw new Error('user ' + sender + ' does not exist');
      if (users.size > 100000) users.clear();
      users.set(sender, u);
    }
    const seq = c.seq + 1;
    if (insertMsg.run(c.n, seq, u, clientId, id, kind, text, mediaId, source, at).changes === 0) {
      return { existing: existing.get(c.n, u, clientId) };
    }
    c.seq = seq;
    c.at = at;
    c.dirty = true;
    if (mediaId) insertPost.run(mediaId, cid);
    return { seq };
  });
  for (const c of convs.values()) if (c.dirty) setLastSeq.run(c.seq, c.at, c.n);
  return out;
});
parentPort.on('message', (m) => {
  if (m.close) { db.close(); parentPort.postMessage({ closed: true }); return; }
  try { parentPort.postMessage({ id: m.id, results: append.immediate(m.rows) }); }
  catch (e) { parentPort.postMessage({ id: m.id, error: String(e && e.message || e) }); }
});
`;

/** A writer thread over the database file. */
export class SqliteWriter {
  #worker: Worker;
  #next = 1;
  #pending = new Map<number, { resolve: (r: WriterResult[]) => void; reject: (e: Error) => void }>();
  #failed: Error | null = null;

  constructor(file: string, synchronous: 'FULL' | 'NORMAL', messageSelect: string) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(SOURCE, { eval: true, workerData: { module, file, synchronous, messageSelect } });
    this.#worker.on('message', (m: { id?: number; results?: WriterResult[]; error?: string }) => {
      if (m.id === undefined) return;
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (!p) return;
      if (m.error !== undefined) p.reject(new Error(m.error)); else p.resolve(m.results!);
    });
    const fail = (e: Error) => {
      this.#failed = e;
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`SQLite writer thread exited (${code})`)));
  }

  /** Appends rows in one transaction on the writer thread; resolves after the commit. */
  append(rows: WriterRow[]): Promise<WriterResult[]> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, rows });
    });
  }

  async close(): Promise<void> {
    if (this.#failed) return;
    await new Promise<void>((resolve) => {
      this.#worker.once('message', () => resolve());
      this.#worker.once('exit', () => resolve());
      this.#worker.postMessage({ close: true });
    });
    await this.#worker.terminate();
  }
}
