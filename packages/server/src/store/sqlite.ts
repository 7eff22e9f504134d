/**
 * The embedded {@link Store}: one SQLite file (better-sqlite3, WAL) plus media bytes on
 * local disk under `<dataDir>/media`, content-addressed by sha256. Each method is one
 * transaction. Messages are appended on a writer thread with its own connection
 * (sqlite-writer.ts) so a commit never stalls the sockets; everything else runs on the
 * calling thread, and WAL lets reads proceed while the writer commits. A second thread
 * checkpoints the WAL in the background.
 */
import Database from 'better-sqlite3';
import { mkdirSync, existsSync, writeFileSync, renameSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { SqliteWriter, type WriterRow } from './sqlite-writer';
import type {
  AppendResult, Conversation, ConversationKind, ConversationSummary, MediaMeta, Member, NewMessage,
  Session, Sticker, Store, StoredMessage, User, UserWithSecret, MessageSource, MessageKind,
} from './types';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** Folder holding `clipchat.db` and `media/`. Created when missing. */
  dataDir: string;
  /**
   * `full` (default) fsyncs the WAL at every commit, so an acked message survives a power
   * cut; `normal` survives a process crash only and is faster.
   */
  synchronous?: 'full' | 'normal';
}

// Each entry runs once, in order; the applied count lives in user_version.
const MIGRATIONS: string[] = [
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
];

// Runs PASSIVE checkpoints every second on its own connection: it never blocks writers.
const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
setInterval(() => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} }, 1000);
`;

function startCheckpointer(file: string): Worker {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const w = new Worker(CHECKPOINTER, { eval: true, workerData: { module, file } });
  w.unref();
  w.on('error', () => { /* the connection's autocheckpoint remains */ });
  return w;
}

interface MessageRow {
  conversation_id: string; seq: number; id: string; sender_id: string; sender_name: string; client_id: string;
  kind: string; text: string | null; source: string | null; created_at: number;
  m_id: string | null; m_mime: string | null; m_width: number | null; m_height: number | null; m_frames: number | null;
  m_bytes: number | null; m_created_at: number | null;
}

export const MESSAGE_SELECT = `SELECT c.id AS conversation_id, msg.seq, msg.id, u.id AS sender_id, u.username AS sender_name, msg.client_id,
  msg.kind, msg.text, msg.source, msg.created_at, md.id AS m_id, md.mime AS m_mime, md.width AS m_width, md.height AS m_height,
  md.frames AS m_frames, md.bytes AS m_bytes, md.created_at AS m_created_at
  FROM messages msg JOIN conversations c ON c.n = msg.conv JOIN users u ON u.n = msg.sender LEFT JOIN media md ON md.id = msg.media_id`;
const CONV_N = '(SELECT n FROM conversations WHERE id = ?)';

function mediaFromRow(r: { id: string; mime: string; width: number; height: number; frames: number; bytes: number; created_at: number }): MediaMeta {
  return { id: r.id, mime: r.mime, width: r.width, height: r.height, frames: r.frames, bytes: r.bytes, createdAt: r.created_at };
}

function messageFromRow(r: MessageRow): StoredMessage {
  return {
    id: r.id, conversationId: r.conversation_id, seq: r.seq, senderId: r.sender_id, senderName: r.sender_name,
    clientId: r.client_id, kind: r.kind as MessageKind, text: r.text,
    media: r.m_id ? { id: r.m_id, mime: r.m_mime!, width: r.m_width!, height: r.m_height!, frames: r.m_frames!, bytes: r.m_bytes!, createdAt: r.m_created_at! } : null,
    source: r.source ? (JSON.parse(r.source) as MessageSource) : null,
    createdAt: r.created_at,
  };
}

function conversationFromRow(r: { id: string; kind: string; title: string | null; created_by: string; created_at: number; last_seq: number }): Conversation {
  return { id: r.id, kind: r.kind as ConversationKind, title: r.title, createdBy: r.created_by, createdAt: r.created_at, lastSeq: r.last_seq };
}

interface StickerRow {
  id: string; user_id: string; media_id: string; name: string; tags: string; created_at: number; mime: string;
  width: number; height: number; frames: number; bytes: number; m_created_at: number;
}

/** SQLite implementation of {@link Store}. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly db: Database.Database;
  readonly #mediaDir: string;
  #s!: ReturnType<SqliteStore['prepare']>;
  #checkpointer: Worker | undefined;
  #writer: SqliteWriter | undefined;
  readonly #file: string;
  readonly #opts: SqliteStoreOptions;

  constructor(opts: SqliteStoreOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.#mediaDir = join(opts.dataDir, 'media');
    mkdirSync(this.#mediaDir, { recursive: true });
    this.#opts = opts;
    this.#file = join(opts.dataDir, 'clipchat.db');
    this.db = new Database(this.#file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // A big page cache keeps a batch's dirty pages in memory until commit. Checkpoints
    // (copying the WAL back into the database) run on a background thread so a commit never
    // waits for one; the connection's own automatic checkpoint is only a backstop.
    this.db.pragma('cache_size = -65536');
    this.db.pragma('wal_autocheckpoint = 50000');
    this.#checkpointer = startCheckpointer(join(opts.dataDir, 'clipchat.db'));
  }

  async init(): Promise<void> {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
    this.#s = this.prepare();
    // The writer opens its own connection only after migrations created the tables.
    if (!this.#writer) {
      this.#writer = new SqliteWriter(this.#file, this.#opts.synchronous === 'normal' ? 'NORMAL' : 'FULL', MESSAGE_SELECT);
    }
  }

  private prepare() {
    const d = this.db;
    return {
      insertUser: d.prepare('INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(username) DO NOTHING'),
      userById: d.prepare('SELECT id, username, created_at FROM users WHERE id = ?'),
      userByName: d.prepare('SELECT id, username, password_hash, created_at FROM users WHERE username = ?'),
      insertSession: d.prepare('INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
      session: d.prepare('SELECT * FROM sessions WHERE token_hash = ? AND expires_at > ?'),
      deleteSession: d.prepare('DELETE FROM sessions WHERE token_hash = ?'),
      purgeSessions: d.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
      convById: d.prepare('SELECT * FROM conversations WHERE id = ?'),
      convByDirectKey: d.prepare('SELECT * FROM conversations WHERE direct_key = ?'),
      insertConv: d.prepare('INSERT INTO conversations (id, kind, title, created_by, created_at, direct_key, active_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertMember: d.prepare('INSERT OR IGNORE INTO members (conversation_id, user_id) VALUES (?, ?)'),
      memberIds: d.prepare('SELECT user_id FROM members WHERE conversation_id = ?'),
      members: d.prepare('SELECT u.id, u.username FROM members m JOIN users u ON u.id = m.user_id WHERE m.conversation_id = ? ORDER BY u.username'),
      isMember: d.prepare('SELECT 1 FROM members WHERE conversation_id = ? AND user_id = ?'),
      myConvs: d.prepare(`SELECT c.*, m.read_seq,
          (SELECT COUNT(*) FROM messages x WHERE x.conv = c.n AND x.seq > m.read_seq
             AND x.sender <> (SELECT n FROM users WHERE id = m.user_id)) AS unread
        FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ? ORDER BY c.active_at DESC, c.id`),
      msgBySeq: d.prepare(`${MESSAGE_SELECT} WHERE msg.conv = ${CONV_N} AND msg.seq = ?`),
      after: d.prepare(`${MESSAGE_SELECT} WHERE msg.conv = ${CONV_N} AND msg.seq > ? ORDER BY msg.seq ASC LIMIT ?`),
      before: d.prepare(`${MESSAGE_SELECT} WHERE msg.conv = ${CONV_N} AND msg.seq < ? ORDER BY msg.seq DESC LIMIT ?`),
      markRead: d.prepare(`UPDATE members SET read_seq = MAX(read_seq, MIN(?, (SELECT last_seq FROM conversations WHERE id = ?)))
        WHERE conversation_id = ? AND user_id = ? RETURNING read_seq`),
      insertMedia: d.prepare('INSERT OR IGNORE INTO media (id, mime, width, height, frames, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertUploader: d.prepare('INSERT OR IGNORE INTO media_uploaders (media_id, user_id) VALUES (?, ?)'),
      media: d.prepare('SELECT * FROM media WHERE id = ?'),
      canRead: d.prepare(`SELECT 1 WHERE EXISTS (SELECT 1 FROM media_uploaders WHERE media_id = @m AND user_id = @u)
        OR EXISTS (SELECT 1 FROM media_posts p JOIN members m ON m.conversation_id = p.conversation_id WHERE p.media_id = @m AND m.user_id = @u)
        OR EXISTS (SELECT 1 FROM stickers WHERE media_id = @m AND user_id = @u)`),
      insertSticker: d.prepare('INSERT INTO stickers (id, user_id, media_id, name, tags, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      stickers: d.prepare(`SELECT s.*, md.mime, md.width, md.height, md.frames, md.bytes, md.created_at AS m_created_at
        FROM stickers s JOIN media md ON md.id = s.media_id WHERE s.user_id = ? ORDER BY s.created_at DESC, s.rowid DESC`),
      sticker: d.prepare(`SELECT s.*, md.mime, md.width, md.height, md.frames, md.bytes, md.created_at AS m_created_at
        FROM stickers s JOIN media md ON md.id = s.media_id WHERE s.user_id = ? AND s.id = ?`),
      updateSticker: d.prepare('UPDATE stickers SET name = COALESCE(?, name), tags = COALESCE(?, tags) WHERE user_id = ? AND id = ?'),
      deleteSticker: d.prepare('DELETE FROM stickers WHERE user_id = ? AND id = ?'),
      getSettings: d.prepare('SELECT settings FROM capture_settings WHERE user_id = ?'),
      putSettings: d.prepare(`INSERT INTO capture_settings (user_id, settings, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(user_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`),
    };
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.#writer?.close();
    this.#writer = undefined;
    await this.#checkpointer?.terminate();
    this.#checkpointer = undefined;
    if (this.db.open) this.db.close();
  }

  async createUser(u: { id: string; username: string; passwordHash: string; createdAt: number }): Promise<User | null> {
    const r = this.#s.insertUser.run(u.id, u.username, u.passwordHash, u.createdAt);
    return r.changes ? { id: u.id, username: u.username, createdAt: u.createdAt } : null;
  }

  async getUser(id: string): Promise<User | null> {
    const r = this.#s.userById.get(id) as { id: string; username: string; created_at: number } | undefined;
    return r ? { id: r.id, username: r.username, createdAt: r.created_at } : null;
  }

  async findUserByName(username: string): Promise<UserWithSecret | null> {
    const r = this.#s.userByName.get(username) as { id: string; username: string; password_hash: string; created_at: number } | undefined;
    return r ? { id: r.id, username: r.username, passwordHash: r.password_hash, createdAt: r.created_at } : null;
  }

  async findUsersByNames(usernames: string[]): Promise<User[]> {
    const out: User[] = [];
    for (const n of new Set(usernames)) {
      const u = await this.findUserByName(n);
      if (u) out.push({ id: u.id, username: u.username, createdAt: u.createdAt });
    }
    return out;
  }

  async createSession(s: Session): Promise<void> {
    this.#s.insertSession.run(s.tokenHash, s.userId, s.csrfToken, s.createdAt, s.expiresAt);
  }

  async getSession(tokenHash: string, now: number): Promise<Session | null> {
    const r = this.#s.session.get(tokenHash, now) as
      { token_hash: string; user_id: string; csrf_token: string; created_at: number; expires_at: number } | undefined;
    return r ? { tokenHash: r.token_hash, userId: r.user_id, csrfToken: r.csrf_token, createdAt: r.created_at, expiresAt: r.expires_at } : null;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    this.#s.deleteSession.run(tokenHash);
  }

  async purgeExpiredSessions(now: number): Promise<number> {
    return this.#s.purgeSessions.run(now).changes;
  }

  async createConversation(c: {
    id: string; kind: ConversationKind; title: string | null; createdBy: string; createdAt: number;
    memberIds: string[]; directKey: string | null;
  }): Promise<{ conversation: Conversation; created: boolean }> {
    return this.db.transaction(() => {
      if (c.directKey) {
        const existing = this.#s.convByDirectKey.get(c.directKey) as Parameters<typeof conversationFromRow>[0] | undefined;
        if (existing) return { conversation: conversationFromRow(existing), created: false };
      }
      this.#s.insertConv.run(c.id, c.kind, c.title, c.createdBy, c.createdAt, c.directKey, c.createdAt);
      for (const m of new Set(c.memberIds)) this.#s.insertMember.run(c.id, m);
      return {
        conversation: { id: c.id, kind: c.kind, title: c.title, createdBy: c.createdBy, createdAt: c.createdAt, lastSeq: 0 },
        created: true,
      };
    }).immediate();
  }

  async getConversation(id: string): Promise<Conversation | null> {
    const r = this.#s.convById.get(id) as Parameters<typeof conversationFromRow>[0] | undefined;
    return r ? conversationFromRow(r) : null;
  }

  async memberIds(conversationId: string): Promise<string[]> {
    return (this.#s.memberIds.all(conversationId) as { user_id: string }[]).map((r) => r.user_id);
  }

  async members(conversationId: string): Promise<Member[]> {
    return this.#s.members.all(conversationId) as Member[];
  }

  async isMember(conversationId: string, userId: string): Promise<boolean> {
    return this.#s.isMember.get(conversationId, userId) !== undefined;
  }

  async listConversations(userId: string): Promise<ConversationSummary[]> {
    const rows = this.#s.myConvs.all(userId) as (Parameters<typeof conversationFromRow>[0] & { read_seq: number; unread: number })[];
    return rows.map((r) => {
      const last = r.last_seq ? (this.#s.msgBySeq.get(r.id, r.last_seq) as MessageRow | undefined) : undefined;
      return {
        ...conversationFromRow(r),
        members: this.#s.members.all(r.id) as Member[],
        lastMessage: last ? messageFromRow(last) : null,
        readSeq: r.read_seq,
        unread: r.unread,
      };
    });
  }

  async appendMessages(batch: NewMessage[]): Promise<AppendResult[]> {
    if (this.#writer) {
      const results = await this.#writer.append(batch.map((m): WriterRow => [
        m.conversationId, m.senderId, m.clientId, m.id, m.kind, m.text, m.media?.id ?? null,
        m.source ? JSON.stringify(m.source) : null, m.createdAt,
      ]));
      return results.map((r, i): AppendResult => {
        if ('existing' in r) return { message: messageFromRow(r.existing as unknown as MessageRow), created: false };
        const m = batch[i]!;
        return {
          message: {
            id: m.id, conversationId: m.conversationId, seq: r.seq, senderId: m.senderId, senderName: m.senderName, clientId: m.clientId,
            kind: m.kind, text: m.text, media: m.media, source: m.source, createdAt: m.createdAt,
          },
          created: true,
        };
      });
    }
    throw new Error('the SQLite store is closed');
  }

  async messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return (this.#s.after.all(conversationId, afterSeq, limit) as MessageRow[]).map(messageFromRow);
  }

  async messagesBefore(conversationId: string, beforeSeq: number | null, limit: number): Promise<StoredMessage[]> {
    const rows = this.#s.before.all(conversationId, beforeSeq ?? Number.MAX_SAFE_INTEGER, limit) as MessageRow[];
    return rows.reverse().map(messageFromRow);
  }

  async markRead(userId: string, conversationId: string, seq: number): Promise<number> {
    const r = this.#s.markRead.get(seq, conversationId, conversationId, userId) as { read_seq: number } | undefined;
    return r?.read_seq ?? 0;
  }

  #mediaPath(id: string): string {
    return join(this.#mediaDir, id.slice(0, 2), id);
  }

  async putMedia(meta: MediaMeta, bytes: Buffer, uploaderId: string): Promise<MediaMeta> {
    const path = this.#mediaPath(meta.id);
    if (!existsSync(path)) {
      // Write-then-rename: a crash never leaves a partial file under the content address.
      mkdirSync(join(this.#mediaDir, meta.id.slice(0, 2)), { recursive: true });
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      writeFileSync(tmp, bytes, { flush: true });
      renameSync(tmp, path);
    }
    this.db.transaction(() => {
      this.#s.insertMedia.run(meta.id, meta.mime, meta.width, meta.height, meta.frames, meta.bytes, meta.createdAt);
      this.#s.insertUploader.run(meta.id, uploaderId);
    }).immediate();
    return (await this.getMedia(meta.id))!;
  }

  async getMedia(id: string): Promise<MediaMeta | null> {
    const r = this.#s.media.get(id) as Parameters<typeof mediaFromRow>[0] | undefined;
    return r ? mediaFromRow(r) : null;
  }

  async readMedia(id: string): Promise<Buffer | null> {
    if (!/^[0-9a-f]{64}$/.test(id) || !this.#s.media.get(id)) return null;
    try { return readFileSync(this.#mediaPath(id)); } catch { return null; }
  }

  async canReadMedia(userId: string, mediaId: string): Promise<boolean> {
    return this.#s.canRead.get({ m: mediaId, u: userId }) !== undefined;
  }

  #sticker(r: StickerRow): Sticker {
    return {
      id: r.id, userId: r.user_id, name: r.name, tags: JSON.parse(r.tags) as string[], createdAt: r.created_at,
      media: { id: r.media_id, mime: r.mime, width: r.width, height: r.height, frames: r.frames, bytes: r.bytes, createdAt: r.m_created_at },
    };
  }

  async addSticker(s: { id: string; userId: string; mediaId: string; name: string; tags: string[]; createdAt: number }): Promise<Sticker> {
    this.#s.insertSticker.run(s.id, s.userId, s.mediaId, s.name, JSON.stringify(s.tags), s.createdAt);
    return (await this.getSticker(s.userId, s.id))!;
  }

  async listStickers(userId: string): Promise<Sticker[]> {
    return (this.#s.stickers.all(userId) as StickerRow[]).map((r) => this.#sticker(r));
  }

  async getSticker(userId: string, id: string): Promise<Sticker | null> {
    const r = this.#s.sticker.get(userId, id) as StickerRow | undefined;
    return r ? this.#sticker(r) : null;
  }

  async updateSticker(userId: string, id: string, patch: { name?: string; tags?: string[] }): Promise<Sticker | null> {
    const r = this.#s.updateSticker.run(patch.name ?? null, patch.tags ? JSON.stringify(patch.tags) : null, userId, id);
    return r.changes ? this.getSticker(userId, id) : null;
  }

  async deleteSticker(userId: string, id: string): Promise<boolean> {
    return this.#s.deleteSticker.run(userId, id).changes > 0;
  }

  async getCaptureSettings(userId: string): Promise<unknown | null> {
    const r = this.#s.getSettings.get(userId) as { settings: string } | undefined;
    return r ? (JSON.parse(r.settings) as unknown) : null;
  }

  async putCaptureSettings(userId: string, settings: unknown): Promise<void> {
    this.#s.putSettings.run(userId, JSON.stringify(settings), Date.now());
  }
}
