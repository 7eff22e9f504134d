/**
 * The scale-out {@link Store}: everything — users, sessions, conversations, messages,
 * media bytes (content-addressed rows), sticker libraries, settings — in PostgreSQL, so
 * any number of stateless nodes can share it. Selected with `CLIPCHAT_DATABASE_URL`.
 *
 * Sequence numbers: appending locks the conversation rows it touches (in id order, so two
 * nodes never deadlock), looks up clientIds under that lock, then bumps `last_seq` by the
 * number of new messages and inserts them, all in one transaction. Seqs are therefore
 * gapless and a resent clientId never makes a second message, whichever node gets it.
 */
import pg from 'pg';
import type {
  AppendResult, Conversation, ConversationKind, ConversationSummary, MediaMeta, Member, MessageKind, MessageSource,
  NewMessage, Session, Sticker, Store, StoredMessage, User, UserWithSecret,
} from './types';
import { migrate } from './postgres-schema';

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user[:pass]@host:port/db[?options=-c search_path=SCHEMA]`. */
  url: string;
  /** Connections this node keeps (default 10). Nodes × poolSize must stay under the server's max_connections. */
  poolSize?: number;
  /** Called for errors of idle pooled connections (e.g. the server restarted); default: ignored. */
  onError?: (err: Error) => void;
}

type Q = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;



interface MessageRow {
  conversation_id: string; seq: string; id: string; sender_id: string; sender_name: string; client_id: string;
  kind: string; text: string | null; source: MessageSource | null; created_at: string;
  m_id: string | null; m_mime: string | null; m_width: number | null; m_height: number | null; m_frames: number | null;
  m_bytes: number | null; m_created_at: string | null;
}

const MESSAGE_SELECT = `SELECT msg.conversation_id, msg.seq, msg.id, msg.sender_id, u.username AS sender_name, msg.client_id,
  msg.kind, msg.text, msg.source, msg.created_at, md.id AS m_id, md.mime AS m_mime, md.width AS m_width, md.height AS m_height,
  md.frames AS m_frames, md.bytes AS m_bytes, md.created_at AS m_created_at
  FROM messages msg JOIN users u ON u.id = msg.sender_id LEFT JOIN media md ON md.id = msg.media_id`;

const MEDIA_COLS = 'id, mime, width, height, frames, bytes, created_at';

interface ConvRow { id: string; kind: string; title: string | null; created_by: string; created_at: string; last_seq: string }
interface MediaRow { id: string; mime: string; width: number; height: number; frames: number; bytes: number; created_at: string }
interface StickerRow {
  id: string; user_id: string; media_id: string; name: string; tags: string[]; created_at: string;
  mime: string; width: number; height: number; frames: number; bytes: number; m_created_at: string;
}

// bigint columns arrive as strings (pg keeps int8 exact); ours are ms times and seqs, safe as numbers.
const num = (v: string | number): number => Number(v);

function messageFromRow(r: MessageRow): StoredMessage {
  return {
    id: r.id, conversationId: r.conversation_id, seq: num(r.seq), senderId: r.sender_id, senderName: r.sender_name,
    clientId: r.client_id, kind: r.kind as MessageKind, text: r.text,
    media: r.m_id
      ? { id: r.m_id, mime: r.m_mime!, width: r.m_width!, height: r.m_height!, frames: r.m_frames!, bytes: r.m_bytes!, createdAt: num(r.m_created_at!) }
      : null,
    source: r.source, createdAt: num(r.created_at),
  };
}

function conversationFromRow(r: ConvRow): Conversation {
  return { id: r.id, kind: r.kind as ConversationKind, title: r.title, createdBy: r.created_by, createdAt: num(r.created_at), lastSeq: num(r.last_seq) };
}

function mediaFromRow(r: MediaRow): MediaMeta {
  return { id: r.id, mime: r.mime, width: r.width, height: r.height, frames: r.frames, bytes: r.bytes, createdAt: num(r.created_at) };
}

function stickerFromRow(r: StickerRow): Sticker {
  return {
    id: r.id, userId: r.user_id, name: r.name, tags: r.tags, createdAt: num(r.created_at),
    media: { id: r.media_id, mime: r.mime, width: r.width, height: r.height, frames: r.frames, bytes: r.bytes, createdAt: num(r.m_created_at) },
  };
}

const STICKER_SELECT = `SELECT s.id, s.user_id, s.media_id, s.name, s.tags, s.created_at, md.mime, md.width, md.height,
  md.frames, md.bytes, md.created_at AS m_created_at FROM stickers s JOIN media md ON md.id = s.media_id`;

/** PostgreSQL implementation of {@link Store}. Call {@link PostgresStore.init} before use. */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly pool: pg.Pool;
  #closed = false;

  constructor(opts: PostgresStoreOptions) {
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10 });
    // An idle client's error (server restart, network cut) must not crash the node; the
    // pool drops that client and the next query opens a fresh one.
    this.pool.on('error', (err) => opts.onError?.(err));
  }

  async init(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await migrate(client);
    } finally {
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }

  #q: Q = (sql, params) => this.pool.query(sql, params);

  /** Runs `fn` in one transaction on one connection; rolls back on any error. */
  async #tx<T>(fn: (q: Q) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const out = await fn((sql, params) => client.query(sql, params));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      try { await client.query('ROLLBACK'); } catch (e) { broken = e as Error; }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  // Users

  async createUser(u: { id: string; username: string; passwordHash: string; createdAt: number }): Promise<User | null> {
    const r = await this.#q(
      'INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING',
      [u.id, u.username, u.passwordHash, u.createdAt],
    );
    return r.rowCount ? { id: u.id, username: u.username, createdAt: u.createdAt } : null;
  }

  async getUser(id: string): Promise<User | null> {
    const { rows } = await this.#q('SELECT id, username, created_at FROM users WHERE id = $1', [id]);
    const r = rows[0] as { id: string; username: string; created_at: string } | undefined;
    return r ? { id: r.id, username: r.username, createdAt: num(r.created_at) } : null;
  }

  async findUserByName(username: string): Promise<UserWithSecret | null> {
    const { rows } = await this.#q('SELECT id, username, password_hash, created_at FROM users WHERE username = $1', [username]);
    const r = rows[0] as { id: string; username: string; password_hash: string; created_at: string } | undefined;
    return r ? { id: r.id, username: r.username, passwordHash: r.password_hash, createdAt: num(r.created_at) } : null;
  }

  async findUsersByNames(usernames: string[]): Promise<User[]> {
    const names = [...new Set(usernames)];
    const { rows } = await this.#q('SELECT id, username, created_at FROM users WHERE username = ANY($1::text[])', [names]);
    const byName = new Map((rows as { id: string; username: string; created_at: string }[]).map((r) => [r.username, r]));
    // Same order as asked, like the embedded store.
    return names.flatMap((n) => {
      const r = byName.get(n);
      return r ? [{ id: r.id, username: r.username, createdAt: num(r.created_at) }] : [];
    });
  }

  // Sessions

  async createSession(s: Session): Promise<void> {
    await this.#q('INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
      s.tokenHash, s.userId, s.csrfToken, s.createdAt, s.expiresAt,
    ]);
  }

  async getSession(tokenHash: string, now: number): Promise<Session | null> {
    const { rows } = await this.#q('SELECT * FROM sessions WHERE token_hash = $1 AND expires_at > $2', [tokenHash, now]);
    const r = rows[0] as { token_hash: string; user_id: string; csrf_token: string; created_at: string; expires_at: string } | undefined;
    return r
      ? { tokenHash: r.token_hash, userId: r.user_id, csrfToken: r.csrf_token, createdAt: num(r.created_at), expiresAt: num(r.expires_at) }
      : null;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.#q('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
  }

  async purgeExpiredSessions(now: number): Promise<number> {
    const r = await this.#q('DELETE FROM sessions WHERE expires_at <= $1', [now]);
    return r.rowCount ?? 0;
  }

  // Conversations

  async createConversation(c: {
    id: string; kind: ConversationKind; title: string | null; createdBy: string; createdAt: number;
    memberIds: string[]; directKey: string | null;
  }): Promise<{ conversation: Conversation; created: boolean }> {
    return this.#tx(async (q) => {
      // ON CONFLICT on direct_key makes two nodes creating the same direct chat at once agree on one.
      const ins = await q(
        `INSERT INTO conversations (id, kind, title, created_by, created_at, direct_key, active_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5) ON CONFLICT (direct_key) DO NOTHING`,
        [c.id, c.kind, c.title, c.createdBy, c.createdAt, c.directKey],
      );
      if (!ins.rowCount) {
        const { rows } = await q('SELECT * FROM conversations WHERE direct_key = $1', [c.directKey]);
        return { conversation: conversationFromRow(rows[0] as ConvRow), created: false };
      }
      await q(
        `INSERT INTO members (conversation_id, user_id) SELECT $1, u FROM unnest($2::text[]) AS u ON CONFLICT DO NOTHING`,
        [c.id, [...new Set(c.memberIds)]],
      );
      return {
        conversation: { id: c.id, kind: c.kind, title: c.title, createdBy: c.createdBy, createdAt: c.createdAt, lastSeq: 0 },
        created: true,
      };
    });
  }

  async getConversation(id: string): Promise<Conversation | null> {
    const { rows } = await this.#q('SELECT * FROM conversations WHERE id = $1', [id]);
    return rows[0] ? conversationFromRow(rows[0] as ConvRow) : null;
  }

  async memberIds(conversationId: string): Promise<string[]> {
    const { rows } = await this.#q('SELECT user_id FROM members WHERE conversation_id = $1', [conversationId]);
    return (rows as { user_id: string }[]).map((r) => r.user_id);
  }

  async members(conversationId: string): Promise<Member[]> {
    const { rows } = await this.#q(
      'SELECT u.id, u.username FROM members m JOIN users u ON u.id = m.user_id WHERE m.conversation_id = $1 ORDER BY u.username',
      [conversationId],
    );
    return rows as Member[];
  }

  async isMember(conversationId: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.#q('SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2', [conversationId, userId]);
    return !!rowCount;
  }

  async listConversations(userId: string): Promise<ConversationSummary[]> {
    const { rows } = await this.#q(
      `SELECT c.*, m.read_seq,
         (SELECT count(*) FROM messages x WHERE x.conversation_id = c.id AND x.seq > m.read_seq AND x.sender_id <> m.user_id) AS unread
       FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = $1 ORDER BY c.active_at DESC, c.id`,
      [userId],
    );
    const convs = rows as (ConvRow & { read_seq: string; unread: string })[];
    if (!convs.length) return [];
    const ids = convs.map((c) => c.id);
    const [mem, last] = await Promise.all([
      this.#q(
        `SELECT m.conversation_id, u.id, u.username FROM members m JOIN users u ON u.id = m.user_id
         WHERE m.conversation_id = ANY($1::text[]) ORDER BY u.username`,
        [ids],
      ),
      this.#q(`${MESSAGE_SELECT} JOIN conversations c ON c.id = msg.conversation_id AND msg.seq = c.last_seq WHERE c.id = ANY($1::text[])`, [ids]),
    ]);
    const members = new Map<string, Member[]>();
    for (const r of mem.rows as { conversation_id: string; id: string; username: string }[]) {
      const list = members.get(r.conversation_id) ?? [];
      list.push({ id: r.id, username: r.username });
      members.set(r.conversation_id, list);
    }
    const lastBy = new Map((last.rows as MessageRow[]).map((r) => [r.conversation_id, messageFromRow(r)]));
    return convs.map((r) => ({
      ...conversationFromRow(r),
      members: members.get(r.id) ?? [],
      lastMessage: lastBy.get(r.id) ?? null,
      readSeq: num(r.read_seq),
      unread: num(r.unread),
    }));
  }

  // Messages

  async appendMessages(batch: NewMessage[]): Promise<AppendResult[]> {
    if (!batch.length) return [];
    // Resends are rare: first append in one round trip without looking clientIds up
    // (clipchat_append, see postgres-schema.ts). If it meets a stored clientId, it rolls
    // back as a whole (seqs stay gapless) and the batch is appended with the lookup.
    const fast = await this.#appendFast(batch);
    return fast ?? this.#tx((q) => this.#append(q, batch, true));
  }

  async #appendFast(batch: NewMessage[]): Promise<AppendResult[] | null> {
    const key = (m: NewMessage) => `${m.conversationId}\u0000${m.senderId}\u0000${m.clientId}`;
    const firstOf = new Map<string, NewMessage>();
    for (const m of batch) if (!firstOf.has(key(m))) firstOf.set(key(m), m);
    const fresh = [...firstOf.values()];
    let seqs: string[];
    try {
      const { rows } = await this.#q('SELECT clipchat_append($1, $2, $3, $4, $5, $6, $7, $8, $9) AS seqs', [
        fresh.map((m) => m.conversationId), fresh.map((m) => m.id), fresh.map((m) => m.senderId), fresh.map((m) => m.clientId),
        fresh.map((m) => m.kind), fresh.map((m) => m.text), fresh.map((m) => m.media?.id ?? null),
        fresh.map((m) => (m.source ? JSON.stringify(m.source) : null)), fresh.map((m) => m.createdAt),
      ]);
      seqs = (rows[0] as { seqs: string[] }).seqs;
    } catch (err) {
      if ((err as { code?: string }).code === 'CC001') return null;
      throw err;
    }
    const stored = new Map<string, StoredMessage>();
    fresh.forEach((m, i) => {
      stored.set(key(m), {
        id: m.id, conversationId: m.conversationId, seq: num(seqs[i]!), senderId: m.senderId, senderName: m.senderName,
        clientId: m.clientId, kind: m.kind, text: m.text, media: m.media, source: m.source, createdAt: m.createdAt,
      });
    });
    // A later copy in the same batch gets the first one, as a repeat.
    return batch.map((m) => ({ message: stored.get(key(m))!, created: firstOf.get(key(m)) === m }));
  }

  async #append(q: Q, batch: NewMessage[], lookup: boolean): Promise<AppendResult[]> {
    const convIds = [...new Set(batch.map((m) => m.conversationId))].sort();
    // Lock in a fixed order: two nodes appending to overlapping conversations never deadlock.
    await q('SELECT id FROM conversations WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [convIds]);
    const key = (c: string, s: string, cl: string) => `${c}\u0000${s}\u0000${cl}`;
    const existing = new Map<string, MessageRow>();
    if (lookup) {
      // Under the lock, every earlier append to these conversations is committed and
      // visible (READ COMMITTED takes a fresh snapshot per statement): no race.
      const { rows } = await q(
        `${MESSAGE_SELECT} WHERE (msg.conversation_id, msg.sender_id, msg.client_id) IN
           (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
        [batch.map((m) => m.conversationId), batch.map((m) => m.senderId), batch.map((m) => m.clientId)],
      );
      for (const r of rows as MessageRow[]) existing.set(key(r.conversation_id, r.sender_id, r.client_id), r);
    }
    const fresh = new Map<string, NewMessage>();
    const counts = new Map<string, number>();
    const activeAt = new Map<string, number>();
    for (const m of batch) {
      const k = key(m.conversationId, m.senderId, m.clientId);
      if (existing.has(k) || fresh.has(k)) continue;
      fresh.set(k, m);
      counts.set(m.conversationId, (counts.get(m.conversationId) ?? 0) + 1);
      activeAt.set(m.conversationId, Math.max(activeAt.get(m.conversationId) ?? 0, m.createdAt));
    }
    const seqOf = new Map<string, number>();
    if (fresh.size) {
      const cs = [...counts.keys()];
      const up = await q(
        `UPDATE conversations c SET last_seq = c.last_seq + v.n, active_at = GREATEST(c.active_at, v.at)
         FROM unnest($1::text[], $2::int[], $3::bigint[]) AS v(id, n, at) WHERE c.id = v.id RETURNING c.id, c.last_seq`,
        [cs, cs.map((c) => counts.get(c)!), cs.map((c) => activeAt.get(c)!)],
      );
      const next = new Map<string, number>();
      for (const r of up.rows as { id: string; last_seq: string }[]) next.set(r.id, num(r.last_seq) - counts.get(r.id)! + 1);
      for (const [k, m] of fresh) {
        const s = next.get(m.conversationId);
        if (s === undefined) throw new Error(`conversation ${m.conversationId} does not exist`);
        seqOf.set(k, s);
        next.set(m.conversationId, s + 1);
      }
      const ms = [...fresh.entries()];
      const ins = await q(
        `INSERT INTO messages (conversation_id, seq, id, sender_id, client_id, kind, text, media_id, source, created_at)
         SELECT c, s, i, se, cl, k, t, md, src::jsonb, at
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
           AS v(c, s, i, se, cl, k, t, md, src, at)
         ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING`,
        [
          ms.map(([, m]) => m.conversationId), ms.map(([k]) => seqOf.get(k)!), ms.map(([, m]) => m.id),
          ms.map(([, m]) => m.senderId), ms.map(([, m]) => m.clientId), ms.map(([, m]) => m.kind),
          ms.map(([, m]) => m.text), ms.map(([, m]) => m.media?.id ?? null),
          ms.map(([, m]) => (m.source ? JSON.stringify(m.source) : null)), ms.map(([, m]) => m.createdAt),
        ],
      );
      // Under the lock and after the lookup, no conflict can remain.
      if (ins.rowCount !== ms.length) throw new Error('clientId conflict under the conversation lock');
      const posts = ms.filter(([, m]) => m.media);
      if (posts.length) {
        await q(
          `INSERT INTO media_posts (media_id, conversation_id) SELECT DISTINCT * FROM unnest($1::text[], $2::text[])
           ON CONFLICT DO NOTHING`,
          [posts.map(([, m]) => m.media!.id), posts.map(([, m]) => m.conversationId)],
        );
      }
    }
    return batch.map((m): AppendResult => {
      const k = key(m.conversationId, m.senderId, m.clientId);
      const old = existing.get(k);
      if (old) return { message: messageFromRow(old), created: false };
      const first = fresh.get(k)!;
      const message: StoredMessage = {
        id: first.id, conversationId: first.conversationId, seq: seqOf.get(k)!, senderId: first.senderId,
        senderName: first.senderName, clientId: first.clientId, kind: first.kind, text: first.text, media: first.media,
        source: first.source, createdAt: first.createdAt,
      };
      // A later copy in the same batch gets the first one, as a repeat.
      return { message, created: first === m };
    });
  }

  async messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    const { rows } = await this.#q(`${MESSAGE_SELECT} WHERE msg.conversation_id = $1 AND msg.seq > $2 ORDER BY msg.seq ASC LIMIT $3`, [
      conversationId, afterSeq, limit,
    ]);
    return (rows as MessageRow[]).map(messageFromRow);
  }

  async messagesBefore(conversationId: string, beforeSeq: number | null, limit: number): Promise<StoredMessage[]> {
    const { rows } = await this.#q(`${MESSAGE_SELECT} WHERE msg.conversation_id = $1 AND msg.seq < $2 ORDER BY msg.seq DESC LIMIT $3`, [
      conversationId, beforeSeq ?? Number.MAX_SAFE_INTEGER, limit,
    ]);
    return (rows as MessageRow[]).reverse().map(messageFromRow);
  }

  async markRead(userId: string, conversationId: string, seq: number): Promise<number> {
    const { rows } = await this.#q(
      `UPDATE members m SET read_seq = GREATEST(m.read_seq, LEAST($1::bigint, c.last_seq))
       FROM conversations c WHERE c.id = m.conversation_id AND m.conversation_id = $2 AND m.user_id = $3 RETURNING m.read_seq`,
      [seq, conversationId, userId],
    );
    return rows[0] ? num((rows[0] as { read_seq: string }).read_seq) : 0;
  }

  // Media

  async putMedia(meta: MediaMeta, bytes: Buffer, uploaderId: string): Promise<MediaMeta> {
    return this.#tx(async (q) => {
      const ins = await q(
        `INSERT INTO media (${MEDIA_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
        [meta.id, meta.mime, meta.width, meta.height, meta.frames, meta.bytes, meta.createdAt],
      );
      // Only the first upload ships the bytes; a repeat (from any node) keeps the stored ones.
      if (ins.rowCount) await q('INSERT INTO media_blobs (id, data) VALUES ($1, $2)', [meta.id, bytes]);
      await q('INSERT INTO media_uploaders (media_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [meta.id, uploaderId]);
      const { rows } = await q(`SELECT ${MEDIA_COLS} FROM media WHERE id = $1`, [meta.id]);
      return mediaFromRow(rows[0] as MediaRow);
    });
  }

  async getMedia(id: string): Promise<MediaMeta | null> {
    const { rows } = await this.#q(`SELECT ${MEDIA_COLS} FROM media WHERE id = $1`, [id]);
    return rows[0] ? mediaFromRow(rows[0] as MediaRow) : null;
  }

  async readMedia(id: string): Promise<Buffer | null> {
    const { rows } = await this.#q('SELECT data FROM media_blobs WHERE id = $1', [id]);
    return rows[0] ? (rows[0] as { data: Buffer }).data : null;
  }

  async canReadMedia(userId: string, mediaId: string): Promise<boolean> {
    const { rows } = await this.#q(
      `SELECT EXISTS (SELECT 1 FROM media_uploaders WHERE media_id = $1 AND user_id = $2)
          OR EXISTS (SELECT 1 FROM media_posts p JOIN members m ON m.conversation_id = p.conversation_id
                     WHERE p.media_id = $1 AND m.user_id = $2)
          OR EXISTS (SELECT 1 FROM stickers WHERE media_id = $1 AND user_id = $2) AS ok`,
      [mediaId, userId],
    );
    return (rows[0] as { ok: boolean }).ok;
  }

  // Sticker library

  async addSticker(s: { id: string; userId: string; mediaId: string; name: string; tags: string[]; createdAt: number }): Promise<Sticker> {
    await this.#q('INSERT INTO stickers (id, user_id, media_id, name, tags, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      s.id, s.userId, s.mediaId, s.name, s.tags, s.createdAt,
    ]);
    return (await this.getSticker(s.userId, s.id))!;
  }

  async listStickers(userId: string): Promise<Sticker[]> {
    const { rows } = await this.#q(`${STICKER_SELECT} WHERE s.user_id = $1 ORDER BY s.created_at DESC, s.ord DESC`, [userId]);
    return (rows as StickerRow[]).map(stickerFromRow);
  }

  async getSticker(userId: string, id: string): Promise<Sticker | null> {
    const { rows } = await this.#q(`${STICKER_SELECT} WHERE s.user_id = $1 AND s.id = $2`, [userId, id]);
    return rows[0] ? stickerFromRow(rows[0] as StickerRow) : null;
  }

  async updateSticker(userId: string, id: string, patch: { name?: string; tags?: string[] }): Promise<Sticker | null> {
    const r = await this.#q('UPDATE stickers SET name = COALESCE($1, name), tags = COALESCE($2, tags) WHERE user_id = $3 AND id = $4', [
      patch.name ?? null, patch.tags ?? null, userId, id,
    ]);
    return r.rowCount ? this.getSticker(userId, id) : null;
  }

  async deleteSticker(userId: string, id: string): Promise<boolean> {
    const r = await this.#q('DELETE FROM stickers WHERE user_id = $1 AND id = $2', [userId, id]);
    return !!r.rowCount;
  }

  // Capture settings

  async getCaptureSettings(userId: string): Promise<unknown | null> {
    const { rows } = await this.#q('SELECT settings FROM capture_settings WHERE user_id = $1', [userId]);
    return rows[0] ? (rows[0] as { settings: unknown }).settings : null;
  }

  async putCaptureSettings(userId: string, settings: unknown): Promise<void> {
    await this.#q(
      `INSERT INTO capture_settings (user_id, settings, updated_at) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (user_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
      [userId, JSON.stringify(settings), Date.now()],
    );
  }
}
