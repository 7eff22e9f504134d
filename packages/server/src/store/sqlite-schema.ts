/**
 * The SQLite schema of Clipchat (migrations, applied in order, the count in user_version),
 * the connection settings every connection uses, and the message SELECT that both the
 * main connection and the writer thread read messages with.
 */
import type Database from 'better-sqlite3';
import { SELECT_COLUMNS, SELECT_MEDIA } from './message';

// Each entry runs once, in order; the applied count lives in user_version.
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL);
   CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), csrf_token TEXT NOT NULL,
     created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
   CREATE INDEX sessions_user ON sessions(user_id);
   CREATE TABLE conversations (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, title TEXT, created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0, direct_key TEXT UNIQUE, active_at INTEGER NOT NULL);
   CREATE TABLE members (conversation_id TEXT NOT NULL REFERENCES conversations(id), user_id TEXT NOT NULL REFERENCES users(id),
     read_seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (conversation_id, user_id)) WITHOUT ROWID;
   CREATE INDEX members_user ON members(user_id);
   CREATE TABLE media (id TEXT PRIMARY KEY, mime TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
     frames INTEGER NOT NULL, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE media_uploaders (media_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (media_id, user_id)) WITHOUT ROWID;
   CREATE TABLE media_posts (media_id TEXT NOT NULL, conversation_id TEXT NOT NULL, PRIMARY KEY (media_id, conversation_id)) WITHOUT ROWID;
   -- Messages are appended in rowid order and keyed by small integers (conversations.n,
   -- users.n): a commit then dirties few pages, which is what bounds write throughput.
   CREATE TABLE messages (n INTEGER PRIMARY KEY, conv INTEGER NOT NULL REFERENCES conversations(n), seq INTEGER NOT NULL,
     sender INTEGER NOT NULL REFERENCES users(n), client_id TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, text TEXT,
     media_id TEXT REFERENCES media(id), source TEXT, created_at INTEGER NOT NULL,
     UNIQUE (conv, seq), UNIQUE (conv, sender, client_id));
   CREATE TABLE stickers (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, media_id TEXT NOT NULL REFERENCES media(id), name TEXT NOT NULL,
     tags TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE INDEX stickers_user ON stickers(user_id, created_at);
   CREATE TABLE capture_settings (user_id TEXT PRIMARY KEY, settings TEXT NOT NULL, updated_at INTEGER NOT NULL);`,

  // Replies, reactions, edits and deletes (store/message.ts): existing messages keep
  // everything and read as never changed (rev 0, no reactions). A change takes the next
  // last_rev of its conversation; messages_rev finds what changed since a client's rev.
  `ALTER TABLE messages ADD COLUMN reply_to TEXT;
   ALTER TABLE messages ADD COLUMN reactions TEXT;
   ALTER TABLE messages ADD COLUMN edited_at INTEGER;
   ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
   ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE conversations ADD COLUMN last_rev INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX messages_id ON messages(id);
   CREATE INDEX messages_rev ON messages(conv, rev) WHERE rev > 0;
   CREATE INDEX messages_media ON messages(media_id) WHERE media_id IS NOT NULL;
   CREATE INDEX stickers_media ON stickers(media_id);`,
  // Presence: when each user was last connected.
  `ALTER TABLE users ADD COLUMN last_seen INTEGER;`,
  // Search: an FTS5 index of each message's text and source video name, kept by triggers
  // (so every writer — the append thread, edits, deletes to a tombstone — keeps it true in
  // the same transaction). Contentless: the words live in messages; the index holds only
  // tokens, keyed by messages.n.
  `CREATE VIRTUAL TABLE message_search USING fts5(words, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
   INSERT INTO message_search (rowid, words)
     SELECT n, coalesce(text, '') || ' ' || coalesce(json_extract(source, '$.video'), '') FROM messages;
   CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
     INSERT INTO message_search (rowid, words) VALUES (new.n, coalesce(new.text, '') || ' ' || coalesce(json_extract(new.source, '$.video'), ''));
   END;
   CREATE TRIGGER message_search_update AFTER UPDATE OF text, source ON messages BEGIN
     DELETE FROM message_search WHERE rowid = old.n;
     INSERT INTO message_search (rowid, words) VALUES (new.n, coalesce(new.text, '') || ' ' || coalesce(json_extract(new.source, '$.video'), ''));
   END;
   CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
     DELETE FROM message_search WHERE rowid = old.n;
   END;`,

  // Shared videos: what ffprobe found and the poster frame (NULL for images).
  `ALTER TABLE media ADD COLUMN duration REAL;
   ALTER TABLE media ADD COLUMN codec TEXT;
   ALTER TABLE media ADD COLUMN poster TEXT;
   CREATE INDEX media_uploaders_user ON media_uploaders(user_id);
   CREATE INDEX media_poster ON media(poster) WHERE poster IS NOT NULL;`,

  // Delivery receipts: how far each member's devices hold the conversation. A read implies
  // delivery, so it starts at read_seq and never falls below it.
  `ALTER TABLE members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;
   UPDATE members SET delivered_seq = read_seq WHERE read_seq > 0;`,
];

/** Every stored message column, its conversation and sender ids, and its media; rows feed `fromRow` (message.ts). */
export const MESSAGE_SELECT = `SELECT c.id AS conversation_id, msg.seq, u.id AS sender_id, u.username AS sender_name, ${SELECT_COLUMNS},
  ${SELECT_MEDIA}
  FROM messages msg JOIN conversations c ON c.n = msg.conv JOIN users u ON u.n = msg.sender LEFT JOIN media md ON md.id = msg.media_id`;

/**
 * Settings of every connection. A big page cache keeps a batch's dirty pages in memory until
 * commit. Checkpoints (copying the WAL back into the database) run on a background thread so
 * a commit never waits for one; a connection's own automatic checkpoint is only a backstop.
 */
export function configure(db: Database.Database, synchronous: 'FULL' | 'NORMAL'): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('wal_autocheckpoint = 50000');
}
