/**
 * The embedded {@link Store}: one SQLite file (better-sqlite3, WAL) plus media bytes on
 * local disk under `<dataDir>/media`, content-addressed by sha256. Each method is one
 * transaction. Messages are appended on a writer thread with its own connection
 * (sqlite-writer.ts) so a commit never stalls the sockets; everything else runs on the
 * calling thread, and WAL lets reads proceed while the writer commits. A second thread
 * checkpoints the WAL in the background.
 */
import Database from 'better-sqlite3';
import {
  mkdirSync,
  existsSync,
  writeFileSync,
  renameSync,
  readFileSync,
  rmSync,
  createReadStream,
  createWriteStream,
} from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { SqliteWriter } from './sqlite-writer';
import { startThread } from './thread';
import { configure, MESSAGE_SELECT, MIGRATIONS } from './sqlite-schema';
import { fromRow, stored, toSqliteRow, mediaVideo, MUTABLE_COLUMNS } from './message';
import { fts5Query } from '../im/search';
import type {
  AppendResult,
  ByteRange,
  Conversation,
  ConversationKind,
  ConversationSummary,
  MediaMeta,
  Member,
  MemberState,
  MessagePatch,
  NewMessage,
  Session,
  Sticker,
  Store,
  StoredMessage,
  User,
  UserWithSecret,
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

function startCheckpointer(file: string): Worker {
  const w = startThread('sqlite-checkpoint', { file });
  w.unref();
  w.on('error', () => {
    /* the connection's autocheckpoint remains */
  });
  return w;
}

const CONV_N = '(SELECT n FROM conversations WHERE id = ?)';

interface MediaRow {
  id: string;
  mime: string;
  width: number;
  height: number;
  frames: number;
  bytes: number;
  created_at: number;
  duration: number | null;
  codec: string | null;
  poster: string | null;
}

function mediaFromRow(r: MediaRow): MediaMeta {
  return {
    id: r.id,
    mime: r.mime,
    width: r.width,
    height: r.height,
    frames: r.frames,
    bytes: r.bytes,
    createdAt: r.created_at,
    // Images carry no `video` (absent, as in what was stored), videos what ffprobe found.
    ...mediaVideo(r.duration, r.codec, r.poster),
  };
}

type MessageRow = Record<string, unknown>;
const messageFromRow = fromRow;

function conversationFromRow(r: {
  id: string;
  kind: string;
  title: string | null;
  created_by: string;
  created_at: number;
  last_seq: number;
  last_rev: number;
}): Conversation {
  return {
    id: r.id,
    kind: r.kind as ConversationKind,
    title: r.title,
    createdBy: r.created_by,
    createdAt: r.created_at,
    lastSeq: r.last_seq,
    lastRev: r.last_rev,
  };
}

interface StickerRow {
  id: string;
  user_id: string;
  media_id: string;
  name: string;
  tags: string;
  created_at: number;
  mime: string;
  width: number;
  height: number;
  frames: number;
  bytes: number;
  m_created_at: number;
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
    configure(this.db, opts.synchronous === 'normal' ? 'NORMAL' : 'FULL');
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
      this.#writer = new SqliteWriter(
        this.#file,
        this.#opts.synchronous === 'normal' ? 'NORMAL' : 'FULL',
      );
    }
    // The first append would otherwise wait for the thread to load (seconds from sources).
    await this.#writer.ready;
  }

  private prepare() {
    const d = this.db;
    return {
      insertUser: d.prepare(
        'INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(username) DO NOTHING',
      ),
      userById: d.prepare('SELECT id, username, created_at FROM users WHERE id = ?'),
      userByName: d.prepare(
        'SELECT id, username, password_hash, created_at FROM users WHERE username = ?',
      ),
      insertSession: d.prepare(
        'INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      ),
      session: d.prepare('SELECT * FROM sessions WHERE token_hash = ? AND expires_at > ?'),
      deleteSession: d.prepare('DELETE FROM sessions WHERE token_hash = ?'),
      purgeSessions: d.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
      convById: d.prepare('SELECT * FROM conversations WHERE id = ?'),
      convByDirectKey: d.prepare('SELECT * FROM conversations WHERE direct_key = ?'),
      insertConv: d.prepare(
        'INSERT INTO conversations (id, kind, title, created_by, created_at, direct_key, active_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertMember: d.prepare(
        'INSERT OR IGNORE INTO members (conversation_id, user_id) VALUES (?, ?)',
      ),
      memberIds: d.prepare('SELECT user_id FROM members WHERE conversation_id = ?'),
      members: d.prepare(
        'SELECT u.id, u.username FROM members m JOIN users u ON u.id = m.user_id WHERE m.conversation_id = ? ORDER BY u.username',
      ),
      memberStates:
        d.prepare(`SELECT u.id, u.username, u.last_seen AS lastSeen, m.read_seq AS readSeq, m.delivered_seq AS deliveredSeq
        FROM members m JOIN users u ON u.id = m.user_id WHERE m.conversation_id = ? ORDER BY u.username`),
      contactIds:
        d.prepare(`SELECT DISTINCT o.user_id FROM members m JOIN members o ON o.conversation_id = m.conversation_id
        WHERE m.user_id = ? AND o.user_id <> m.user_id`),
      setLastSeen: d.prepare('UPDATE users SET last_seen = ? WHERE id = ?'),
      deleteMember: d.prepare('DELETE FROM members WHERE conversation_id = ? AND user_id = ?'),
      passAdmin:
        d.prepare(`UPDATE conversations SET created_by = (SELECT u.id FROM members m JOIN users u ON u.id = m.user_id
        WHERE m.conversation_id = @c ORDER BY u.username LIMIT 1) WHERE id = @c AND created_by = @u
        AND EXISTS (SELECT 1 FROM members WHERE conversation_id = @c)`),
      rename: d.prepare('UPDATE conversations SET title = ? WHERE id = ?'),
      // Driven by the index in rowid order (newest first), stopping at the limit; membership checked per hit.
      search:
        d.prepare(`${MESSAGE_SELECT.replace('FROM messages msg', 'FROM message_search s JOIN messages msg ON msg.n = s.rowid')}
        JOIN members mm ON mm.conversation_id = c.id AND mm.user_id = @u
        WHERE message_search MATCH @q AND (@c IS NULL OR c.id = @c) ORDER BY s.rowid DESC LIMIT @limit`),
      showingMedia: d.prepare(`${MESSAGE_SELECT}
        JOIN members mm ON mm.conversation_id = c.id AND mm.user_id = @u
        WHERE msg.media_id IN (SELECT value FROM json_each(@ids)) AND msg.deleted_at IS NULL AND (@c IS NULL OR c.id = @c)
        ORDER BY msg.created_at DESC, c.id, msg.seq DESC LIMIT @limit`),
      isMember: d.prepare('SELECT 1 FROM members WHERE conversation_id = ? AND user_id = ?'),
      myConvs: d.prepare(`SELECT c.*, m.read_seq,
          (SELECT COUNT(*) FROM messages x WHERE x.conv = c.n AND x.seq > m.read_seq
             AND x.sender <> (SELECT n FROM users WHERE id = m.user_id)) AS unread
        FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ? ORDER BY c.active_at DESC, c.id`),
      msgById: d.prepare(`${MESSAGE_SELECT} WHERE msg.id = ?`),
      changed: d.prepare(
        `${MESSAGE_SELECT} WHERE msg.conv = ${CONV_N} AND msg.rev > ? AND msg.seq <= ? ORDER BY msg.rev ASC LIMIT ?`,
      ),
      msgBySeq: d.prepare(`${MESSAGE_SELECT} WHERE msg.conv = ${CONV_N} AND msg.seq = ?`),
      after: d.prepare(
        `${MESSAGE_SELECT} WHERE msg.conv = ${CONV_N} AND msg.seq > ? ORDER BY msg.seq ASC LIMIT ?`,
      ),
      before: d.prepare(
        `${MESSAGE_SELECT} WHERE msg.conv = ${CONV_N} AND msg.seq < ? ORDER BY msg.seq DESC LIMIT ?`,
      ),
      // A read is a delivery too: both rise to the same (capped) seq.
      markRead:
        d.prepare(`UPDATE members SET read_seq = MAX(read_seq, MIN(@seq, (SELECT last_seq FROM conversations WHERE id = @c))),
          delivered_seq = MAX(delivered_seq, MIN(@seq, (SELECT last_seq FROM conversations WHERE id = @c)))
        WHERE conversation_id = @c AND user_id = @u RETURNING read_seq`),
      markDelivered:
        d.prepare(`UPDATE members SET delivered_seq = MIN(@seq, (SELECT last_seq FROM conversations WHERE id = @c))
        WHERE conversation_id = @c AND user_id = @u AND delivered_seq < MIN(@seq, (SELECT last_seq FROM conversations WHERE id = @c))
        RETURNING delivered_seq`),
      deliveredSeq: d.prepare(
        'SELECT delivered_seq FROM members WHERE conversation_id = ? AND user_id = ?',
      ),
      insertMedia:
        d.prepare(`INSERT OR IGNORE INTO media (id, mime, width, height, frames, bytes, created_at, duration, codec, poster)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      uploadedBytes: d.prepare(
        'SELECT COALESCE(SUM(md.bytes), 0) AS n FROM media_uploaders u JOIN media md ON md.id = u.media_id WHERE u.user_id = ?',
      ),
      insertUploader: d.prepare(
        'INSERT OR IGNORE INTO media_uploaders (media_id, user_id) VALUES (?, ?)',
      ),
      media: d.prepare('SELECT * FROM media WHERE id = ?'),
      canRead:
        d.prepare(`SELECT 1 WHERE EXISTS (SELECT 1 FROM media_uploaders WHERE media_id = @m AND user_id = @u)
        OR EXISTS (SELECT 1 FROM media_posts p JOIN members m ON m.conversation_id = p.conversation_id WHERE p.media_id = @m AND m.user_id = @u)
        OR EXISTS (SELECT 1 FROM stickers WHERE media_id = @m AND user_id = @u)
        OR EXISTS (SELECT 1 FROM media v JOIN media_posts p ON p.media_id = v.id JOIN members m ON m.conversation_id = p.conversation_id
                   WHERE v.poster = @m AND m.user_id = @u)`),
      insertSticker: d.prepare(
        'INSERT INTO stickers (id, user_id, media_id, name, tags, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      stickers:
        d.prepare(`SELECT s.*, md.mime, md.width, md.height, md.frames, md.bytes, md.created_at AS m_created_at
        FROM stickers s JOIN media md ON md.id = s.media_id WHERE s.user_id = ? ORDER BY s.created_at DESC, s.rowid DESC`),
      sticker:
        d.prepare(`SELECT s.*, md.mime, md.width, md.height, md.frames, md.bytes, md.created_at AS m_created_at
        FROM stickers s JOIN media md ON md.id = s.media_id WHERE s.user_id = ? AND s.id = ?`),
      updateSticker: d.prepare(
        'UPDATE stickers SET name = COALESCE(?, name), tags = COALESCE(?, tags) WHERE user_id = ? AND id = ?',
      ),
      deleteSticker: d.prepare('DELETE FROM stickers WHERE user_id = ? AND id = ?'),
      getSettings: d.prepare('SELECT settings FROM capture_settings WHERE user_id = ?'),
      putSettings:
        d.prepare(`INSERT INTO capture_settings (user_id, settings, updated_at) VALUES (?, ?, ?)
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

  async createUser(u: {
    id: string;
    username: string;
    passwordHash: string;
    createdAt: number;
  }): Promise<User | null> {
    const r = this.#s.insertUser.run(u.id, u.username, u.passwordHash, u.createdAt);
    return r.changes ? { id: u.id, username: u.username, createdAt: u.createdAt } : null;
  }

  async getUser(id: string): Promise<User | null> {
    const r = this.#s.userById.get(id) as
      { id: string; username: string; created_at: number } | undefined;
    return r ? { id: r.id, username: r.username, createdAt: r.created_at } : null;
  }

  async findUserByName(username: string): Promise<UserWithSecret | null> {
    const r = this.#s.userByName.get(username) as
      { id: string; username: string; password_hash: string; created_at: number } | undefined;
    return r
      ? { id: r.id, username: r.username, passwordHash: r.password_hash, createdAt: r.created_at }
      : null;
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
      | {
          token_hash: string;
          user_id: string;
          csrf_token: string;
          created_at: number;
          expires_at: number;
        }
      | undefined;
    return r
      ? {
          tokenHash: r.token_hash,
          userId: r.user_id,
          csrfToken: r.csrf_token,
          createdAt: r.created_at,
          expiresAt: r.expires_at,
        }
      : null;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    this.#s.deleteSession.run(tokenHash);
  }

  async purgeExpiredSessions(now: number): Promise<number> {
    return this.#s.purgeSessions.run(now).changes;
  }

  async createConversation(c: {
    id: string;
    kind: ConversationKind;
    title: string | null;
    createdBy: string;
    createdAt: number;
    memberIds: string[];
    directKey: string | null;
  }): Promise<{ conversation: Conversation; created: boolean }> {
    return this.db
      .transaction(() => {
        if (c.directKey) {
          const existing = this.#s.convByDirectKey.get(c.directKey) as
            Parameters<typeof conversationFromRow>[0] | undefined;
          if (existing) return { conversation: conversationFromRow(existing), created: false };
        }
        this.#s.insertConv.run(
          c.id,
          c.kind,
          c.title,
          c.createdBy,
          c.createdAt,
          c.directKey,
          c.createdAt,
        );
        for (const m of new Set(c.memberIds)) this.#s.insertMember.run(c.id, m);
        return {
          conversation: {
            id: c.id,
            kind: c.kind,
            title: c.title,
            createdBy: c.createdBy,
            createdAt: c.createdAt,
            lastSeq: 0,
            lastRev: 0,
          },
          created: true,
        };
      })
      .immediate();
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
    const rows = this.#s.myConvs.all(userId) as (Parameters<typeof conversationFromRow>[0] & {
      read_seq: number;
      unread: number;
    })[];
    return rows.map((r) => {
      const last = r.last_seq
        ? (this.#s.msgBySeq.get(r.id, r.last_seq) as MessageRow | undefined)
        : undefined;
      return {
        ...conversationFromRow(r),
        members: this.#s.memberStates.all(r.id) as MemberState[],
        lastMessage: last ? messageFromRow(last) : null,
        readSeq: r.read_seq,
        unread: r.unread,
      };
    });
  }

  async addMembers(conversationId: string, userIds: string[]): Promise<string[]> {
    return this.db
      .transaction(() =>
        [...new Set(userIds)].filter(
          (u) => this.#s.insertMember.run(conversationId, u).changes > 0,
        ),
      )
      .immediate();
  }

  async removeMember(conversationId: string, userId: string): Promise<boolean> {
    return this.db
      .transaction(() => {
        if (!this.#s.deleteMember.run(conversationId, userId).changes) return false;
        this.#s.passAdmin.run({ c: conversationId, u: userId });
        return true;
      })
      .immediate();
  }

  async renameConversation(conversationId: string, title: string): Promise<void> {
    this.#s.rename.run(title, conversationId);
  }

  async contactIds(userId: string): Promise<string[]> {
    return (this.#s.contactIds.all(userId) as { user_id: string }[]).map((r) => r.user_id);
  }

  async setLastSeen(userId: string, at: number): Promise<void> {
    this.#s.setLastSeen.run(at, userId);
  }

  async appendMessages(batch: NewMessage[]): Promise<AppendResult[]> {
    if (!this.#writer) throw new Error('the SQLite store is closed');
    const results = await this.#writer.append(
      batch.map((m) => ({
        conversationId: m.conversationId,
        senderId: m.senderId,
        row: toSqliteRow(m),
      })),
    );
    return results.map((r, i): AppendResult =>
      'existing' in r
        ? { message: messageFromRow(r.existing), created: false }
        : { message: stored(batch[i]!, r.seq), created: true },
    );
  }

  async getMessage(id: string): Promise<StoredMessage | null> {
    const r = this.#s.msgById.get(id) as MessageRow | undefined;
    return r ? messageFromRow(r) : null;
  }

  async changeMessage(
    id: string,
    change: (m: StoredMessage) => MessagePatch | null,
  ): Promise<{ message: StoredMessage; changed: boolean } | null> {
    // Optimistic: read, decide, and let the writer thread apply it only if the message is
    // still as read (same rev); otherwise read again. The main thread never holds the write lock.
    for (let attempt = 0; ; attempt++) {
      if (!this.#writer) throw new Error('the SQLite store is closed');
      const m = await this.getMessage(id);
      if (!m) return null;
      const patch = change(m);
      if (!patch) return { message: m, changed: false };
      const next: StoredMessage = { ...m, ...patch };
      const row = toSqliteRow(next);
      const r = await this.#writer.change({
        conversationId: m.conversationId,
        seq: m.seq,
        expectRev: m.rev,
        row: Object.fromEntries(MUTABLE_COLUMNS.filter((c) => c !== 'rev').map((c) => [c, row[c]])),
        detachMedia: m.media && !next.media ? m.media.id : null,
      });
      if ('rev' in r) {
        for (const gone of r.removedMedia ?? []) rmSync(this.#mediaPath(gone), { force: true });
        return { message: { ...next, rev: r.rev }, changed: true };
      }
      if (attempt >= 50)
        throw new Error(`message ${id} kept changing; gave up after ${attempt} attempts`);
    }
  }

  async changesAfter(
    conversationId: string,
    afterRev: number,
    uptoSeq: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    return (this.#s.changed.all(conversationId, afterRev, uptoSeq, limit) as MessageRow[]).map(
      messageFromRow,
    );
  }

  async messagesAfter(
    conversationId: string,
    afterSeq: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    return (this.#s.after.all(conversationId, afterSeq, limit) as MessageRow[]).map(messageFromRow);
  }

  async messagesBefore(
    conversationId: string,
    beforeSeq: number | null,
    limit: number,
  ): Promise<StoredMessage[]> {
    const rows = this.#s.before.all(
      conversationId,
      beforeSeq ?? Number.MAX_SAFE_INTEGER,
      limit,
    ) as MessageRow[];
    return rows.reverse().map(messageFromRow);
  }

  async searchMessages(
    userId: string,
    q: { words: string[]; conversationId?: string; limit: number },
  ): Promise<StoredMessage[]> {
    const rows = this.#s.search.all({
      u: userId,
      q: fts5Query(q.words),
      c: q.conversationId ?? null,
      limit: q.limit,
    }) as MessageRow[];
    return rows.map(messageFromRow);
  }

  async messagesShowingMedia(
    userId: string,
    mediaIds: string[],
    q: { conversationId?: string; limit: number },
  ): Promise<StoredMessage[]> {
    if (!mediaIds.length) return [];
    const rows = this.#s.showingMedia.all({
      u: userId,
      ids: JSON.stringify(mediaIds),
      c: q.conversationId ?? null,
      limit: q.limit,
    }) as MessageRow[];
    return rows.map(messageFromRow);
  }

  async markRead(userId: string, conversationId: string, seq: number): Promise<number> {
    const r = this.#s.markRead.get({ seq, c: conversationId, u: userId }) as
      { read_seq: number } | undefined;
    return r?.read_seq ?? 0;
  }

  async markDelivered(
    userId: string,
    conversationId: string,
    seq: number,
  ): Promise<{ seq: number; moved: boolean } | null> {
    const r = this.#s.markDelivered.get({ seq, c: conversationId, u: userId }) as
      { delivered_seq: number } | undefined;
    if (r) return { seq: r.delivered_seq, moved: true };
    const now = this.#s.deliveredSeq.get(conversationId, userId) as
      { delivered_seq: number } | undefined;
    return now ? { seq: now.delivered_seq, moved: false } : null;
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
      try {
        writeFileSync(tmp, bytes, { flush: true });
        renameSync(tmp, path);
      } catch (err) {
        // A full or failing disk (ENOSPC, EIO): leave no partial temp file behind.
        rmSync(tmp, { force: true });
        throw err;
      }
    }
    this.db
      .transaction(() => {
        this.#insertMeta(meta, uploaderId);
      })
      .immediate();
    return (await this.getMedia(meta.id))!;
  }

  #insertMeta(meta: MediaMeta, uploaderId: string): void {
    const v = meta.video ?? null;
    this.#s.insertMedia.run(
      meta.id,
      meta.mime,
      meta.width,
      meta.height,
      meta.frames,
      meta.bytes,
      meta.createdAt,
      v?.duration ?? null,
      v?.codec ?? null,
      v?.poster ?? null,
    );
    this.#s.insertUploader.run(meta.id, uploaderId);
  }

  async putMediaFile(meta: MediaMeta, path: string, uploaderId: string): Promise<MediaMeta> {
    const target = this.#mediaPath(meta.id);
    if (!existsSync(target)) {
      mkdirSync(join(this.#mediaDir, meta.id.slice(0, 2)), { recursive: true });
      const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        // Same file system (uploads live under the data folder): a rename, no copy. Elsewhere: a streamed copy.
        try {
          renameSync(path, tmp);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
          await pipeline(createReadStream(path), createWriteStream(tmp, { flush: true }));
        }
        renameSync(tmp, target);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
    }
    this.db.transaction(() => this.#insertMeta(meta, uploaderId)).immediate();
    return (await this.getMedia(meta.id))!;
  }

  async openMedia(id: string, range?: ByteRange): Promise<NodeJS.ReadableStream | null> {
    if (!/^[0-9a-f]{64}$/.test(id) || !this.#s.media.get(id)) return null;
    const path = this.#mediaPath(id);
    if (!existsSync(path)) return null;
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async uploadedBytes(userId: string): Promise<number> {
    return (this.#s.uploadedBytes.get(userId) as { n: number }).n;
  }

  async getMedia(id: string): Promise<MediaMeta | null> {
    const r = this.#s.media.get(id) as MediaRow | undefined;
    return r ? mediaFromRow(r) : null;
  }

  async readMedia(id: string): Promise<Buffer | null> {
    if (!/^[0-9a-f]{64}$/.test(id) || !this.#s.media.get(id)) return null;
    try {
      return readFileSync(this.#mediaPath(id));
    } catch {
      return null;
    }
  }

  async canReadMedia(userId: string, mediaId: string): Promise<boolean> {
    return this.#s.canRead.get({ m: mediaId, u: userId }) !== undefined;
  }

  #sticker(r: StickerRow): Sticker {
    return {
      id: r.id,
      userId: r.user_id,
      name: r.name,
      tags: JSON.parse(r.tags) as string[],
      createdAt: r.created_at,
      media: {
        id: r.media_id,
        mime: r.mime,
        width: r.width,
        height: r.height,
        frames: r.frames,
        bytes: r.bytes,
        createdAt: r.m_created_at,
      },
    };
  }

  async addSticker(s: {
    id: string;
    userId: string;
    mediaId: string;
    name: string;
    tags: string[];
    createdAt: number;
  }): Promise<Sticker> {
    this.#s.insertSticker.run(
      s.id,
      s.userId,
      s.mediaId,
      s.name,
      JSON.stringify(s.tags),
      s.createdAt,
    );
    return (await this.getSticker(s.userId, s.id))!;
  }

  async listStickers(userId: string): Promise<Sticker[]> {
    return (this.#s.stickers.all(userId) as StickerRow[]).map((r) => this.#sticker(r));
  }

  async getSticker(userId: string, id: string): Promise<Sticker | null> {
    const r = this.#s.sticker.get(userId, id) as StickerRow | undefined;
    return r ? this.#sticker(r) : null;
  }

  async updateSticker(
    userId: string,
    id: string,
    patch: { name?: string; tags?: string[] },
  ): Promise<Sticker | null> {
    const r = this.#s.updateSticker.run(
      patch.name ?? null,
      patch.tags ? JSON.stringify(patch.tags) : null,
      userId,
      id,
    );
    return r.changes ? this.getSticker(userId, id) : null;
  }

  async deleteSticker(userId: string, id: string): Promise<boolean> {
    return this.#s.deleteSticker.run(userId, id).changes > 0;
  }

  async getCaptureSettings(userId: string): Promise<unknown> {
    const r = this.#s.getSettings.get(userId) as { settings: string } | undefined;
    return r ? (JSON.parse(r.settings) as unknown) : null;
  }

  async putCaptureSettings(userId: string, settings: unknown): Promise<void> {
    this.#s.putSettings.run(userId, JSON.stringify(settings), Date.now());
  }
}
