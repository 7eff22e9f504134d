/**
 * The SQLite writer thread (started by sqlite-writer.ts): its own connection, appending
 * batches of messages and applying message changes, each in one transaction. Rows are
 * named records (store/message.ts `toSqliteRow`), so this thread names no message field.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { COLUMN_NAMES, MUTABLE_COLUMNS } from './message';
import { configure, MESSAGE_SELECT } from './sqlite-schema';
import type {
  WriterData,
  WriterRequest,
  WriterAppend,
  WriterChange,
  WriterResult,
  ChangeResult,
} from './sqlite-writer';

const data = workerData as WriterData;
const db = new Database(data.file);
configure(db, data.synchronous);

const existing = db.prepare(
  `${MESSAGE_SELECT} WHERE msg.conv = ? AND msg.sender = ? AND msg.client_id = ?`,
);
const convRow = db.prepare<[string], { n: number; last_seq: number; last_rev: number }>(
  'SELECT n, last_seq, last_rev FROM conversations WHERE id = ?',
);
const userN = db.prepare<[string], number>('SELECT n FROM users WHERE id = ?').pluck();
const setLastSeq = db.prepare('UPDATE conversations SET last_seq = ?, active_at = ? WHERE n = ?');
// A repeated clientId is found by the unique index itself: no separate lookup per message.
const insertMsg = db.prepare(`INSERT INTO messages (conv, seq, sender, ${COLUMN_NAMES.join(', ')})
  VALUES (@conv, @seq, @sender, ${COLUMN_NAMES.map((c) => `@${c}`).join(', ')}) ON CONFLICT (conv, sender, client_id) DO NOTHING`);
const insertPost = db.prepare(
  'INSERT OR IGNORE INTO media_posts (media_id, conversation_id) VALUES (?, ?)',
);
const curRev = db
  .prepare<[number, number], number>('SELECT rev FROM messages WHERE conv = ? AND seq = ?')
  .pluck();
const setLastRev = db.prepare('UPDATE conversations SET last_rev = ? WHERE n = ?');
const updateMsg = db.prepare(
  `UPDATE messages SET ${MUTABLE_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE conv = @conv AND seq = @seq`,
);
const dropPost = db.prepare(`DELETE FROM media_posts WHERE media_id = @m AND conversation_id = @cid
  AND NOT EXISTS (SELECT 1 FROM messages WHERE conv = @conv AND media_id = @m)`);
const unreferenced =
  db.prepare(`SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM messages WHERE media_id = @m)
  AND NOT EXISTS (SELECT 1 FROM stickers WHERE media_id = @m)`);
// A video's poster goes with it unless something else shows it (a message, a sticker, another video).
const posterOf = db
  .prepare<{ m: string }, string | null>('SELECT poster FROM media WHERE id = @m')
  .pluck();
const posterUnused =
  db.prepare(`SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM messages WHERE media_id = @m)
  AND NOT EXISTS (SELECT 1 FROM stickers WHERE media_id = @m) AND NOT EXISTS (SELECT 1 FROM media WHERE poster = @m)`);
const dropMedia = [
  db.prepare('DELETE FROM media_posts WHERE media_id = @m'),
  db.prepare('DELETE FROM media_uploaders WHERE media_id = @m'),
  db.prepare('DELETE FROM media WHERE id = @m'),
];

// Ids never change their integer keys, so they are cached for the life of the thread.
const users = new Map<string, number>();

const append = db.transaction((rows: WriterAppend[]): WriterResult[] => {
  const convs = new Map<string, { n: number; seq: number; at: number; dirty: boolean }>();
  const out = rows.map(({ conversationId: cid, senderId, row }): WriterResult => {
    const at = row.created_at as number;
    let c = convs.get(cid);
    if (!c) {
      const r = convRow.get(cid);
      if (!r) throw new Error(`conversation ${cid} does not exist`);
      c = { n: r.n, seq: r.last_seq, at, dirty: false };
      convs.set(cid, c);
    }
    let u = users.get(senderId);
    if (u === undefined) {
      u = userN.get(senderId);
      if (u === undefined) throw new Error(`user ${senderId} does not exist`);
      if (users.size > 100_000) users.clear();
      users.set(senderId, u);
    }
    const seq = c.seq + 1;
    if (insertMsg.run({ ...row, conv: c.n, seq, sender: u }).changes === 0) {
      return { existing: existing.get(c.n, u, row.client_id) as Record<string, unknown> };
    }
    c.seq = seq;
    c.at = at;
    c.dirty = true;
    if (row.media_id) insertPost.run(row.media_id, cid);
    return { seq };
  });
  for (const c of convs.values()) if (c.dirty) setLastSeq.run(c.seq, c.at, c.n);
  return out;
});

const change = db.transaction((ch: WriterChange): ChangeResult => {
  const c = convRow.get(ch.conversationId);
  if (!c) return { stale: true };
  const now = curRev.get(c.n, ch.seq);
  if (now === undefined || now !== ch.expectRev) return { stale: true };
  const rev = c.last_rev + 1;
  setLastRev.run(rev, c.n);
  updateMsg.run({ ...ch.row, rev, conv: c.n, seq: ch.seq });
  let removedMedia: string[] | undefined;
  if (ch.detachMedia) {
    const p = { m: ch.detachMedia, cid: ch.conversationId, conv: c.n };
    dropPost.run(p);
    if (unreferenced.get({ m: p.m })) {
      const poster = posterOf.get({ m: p.m });
      for (const s of dropMedia) s.run({ m: p.m });
      removedMedia = [p.m];
      if (poster && posterUnused.get({ m: poster })) {
        for (const s of dropMedia) s.run({ m: poster });
        removedMedia.push(poster);
      }
    }
  }
  return { rev, removedMedia };
});

parentPort!.on('message', (m: WriterRequest) => {
  if (m.op === 'close') {
    db.close();
    parentPort!.postMessage({ closed: true });
    return;
  }
  try {
    const results = m.op === 'append' ? append.immediate(m.rows) : change.immediate(m.change);
    parentPort!.postMessage({ id: m.id, results });
  } catch (e) {
    const err = e as { message?: string; code?: unknown };
    parentPort!.postMessage({
      id: m.id,
      error: String(err?.message ?? e),
      code: typeof err?.code === 'string' ? err.code : undefined,
    });
  }
});
// Loaded and listening: the store's init() waits for this before the server takes requests.
parentPort!.postMessage({ ready: true });
