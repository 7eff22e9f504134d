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
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
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
import {
  fromRow,
  MUTABLE_COLUMNS,
  SELECT_COLUMNS,
  SELECT_MEDIA,
  stored,
  toRow,
  mediaVideo,
} from './message';
import { migrate } from './postgres-schema';
import { tsQuery } from '../im/search';

/** Longest a search query may run, ms (then it fails: 503). */
const SEARCH_TIMEOUT_MS = 3000;
/** Past this many memberships a search starts from the index's matches (see searchMessages). */
const MANY_CONVERSATIONS = 50;

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user[:pass]@host:port/db[?options=-c search_path=SCHEMA]`. */
  url: string;
  /** Connections this node keeps (default 10). Nodes × poolSize must stay under the server's max_connections. */
  poolSize?: number;
  /**
   * Longest wait for a connection, ms (default 10 000), whether opening one or waiting for
   * a free one: when the database is unreachable a query then fails (503) instead of hanging.
   */
  connectTimeoutMs?: number;
  /** Called for errors of idle pooled connections (e.g. the server restarted); default: ignored. */
  onError?: (err: Error) => void;
}

type Q = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

type MessageRow = Record<string, unknown> & { conversation_id: string };

const MESSAGE_SELECT = `SELECT msg.conversation_id, msg.seq, msg.sender_id, u.username AS sender_name, ${SELECT_COLUMNS}, ${SELECT_MEDIA}
  FROM messages msg JOIN users u ON u.id = msg.sender_id LEFT JOIN media md ON md.id = msg.media_id`;
const MUTABLE = MUTABLE_COLUMNS.join(', ');

const MEDIA_COLS = 'id, mime, width, height, frames, bytes, created_at, duration, codec, poster';
const MEDIA_INSERT = `INSERT INTO media (${MEDIA_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`;

/** Bytes per row of `media_chunks`. */
const MEDIA_CHUNK_BYTES = 1024 * 1024;
/** Chunks fetched per query while streaming a range out (4 MiB in memory at most). */
const CHUNKS_PER_READ = 4;

function mediaParams(meta: MediaMeta): unknown[] {
  const v = meta.video ?? null;
  return [
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
  ];
}

interface ConvRow {
  id: string;
  kind: string;
  title: string | null;
  created_by: string;
  created_at: string;
  last_seq: string;
  last_rev: string;
}
interface MediaRow {
  id: string;
  mime: string;
  width: number;
  height: number;
  frames: number;
  bytes: number | string;
  created_at: string;
  duration: number | null;
  codec: string | null;
  poster: string | null;
}
interface StickerRow {
  id: string;
  user_id: string;
  media_id: string;
  name: string;
  tags: string[];
  created_at: string;
  mime: string;
  width: number;
  height: number;
  frames: number;
  bytes: number | string;
  m_created_at: string;
}

// bigint columns arrive as strings (pg keeps int8 exact); ours are ms times and seqs, safe as numbers.
const num = (v: string | number): number => Number(v);

const messageFromRow = fromRow;

function conversationFromRow(r: ConvRow): Conversation {
  return {
    id: r.id,
    kind: r.kind as ConversationKind,
    title: r.title,
    createdBy: r.created_by,
    createdAt: num(r.created_at),
    lastSeq: num(r.last_seq),
    lastRev: num(r.last_rev),
  };
}

function mediaFromRow(r: MediaRow): MediaMeta {
  return {
    id: r.id,
    mime: r.mime,
    width: r.width,
    height: r.height,
    frames: r.frames,
    bytes: num(r.bytes),
    createdAt: num(r.created_at),
    // Images carry no `video` (absent, as in what was stored), videos what ffprobe found.
    ...mediaVideo(r.duration, r.codec, r.poster),
  };
}

function stickerFromRow(r: StickerRow): Sticker {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    tags: r.tags,
    createdAt: num(r.created_at),
    media: {
      id: r.media_id,
      mime: r.mime,
      width: r.width,
      height: r.height,
      frames: r.frames,
      bytes: num(r.bytes),
      createdAt: num(r.m_created_at),
    },
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
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    });
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
      try {
        await client.query('ROLLBACK');
      } catch (e) {
        broken = e as Error;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  // Users

  async createUser(u: {
    id: string;
    username: string;
    passwordHash: string;
    createdAt: number;
  }): Promise<User | null> {
    const r = await this.#q(
      'INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING',
      [u.id, u.username, u.passwordHash, u.createdAt],
    );
    return r.rowCount ? { id: u.id, username: u.username, createdAt: u.createdAt } : null;
  }

  async getUser(id: string): Promise<User | null> {
    const { rows } = await this.#q('SELECT id, username, created_at FROM users WHERE id = $1', [
      id,
    ]);
    const r = rows[0] as { id: string; username: string; created_at: string } | undefined;
    return r ? { id: r.id, username: r.username, createdAt: num(r.created_at) } : null;
  }

  async findUserByName(username: string): Promise<UserWithSecret | null> {
    const { rows } = await this.#q(
      'SELECT id, username, password_hash, created_at FROM users WHERE username = $1',
      [username],
    );
    const r = rows[0] as
      { id: string; username: string; password_hash: string; created_at: string } | undefined;
    return r
      ? {
          id: r.id,
          username: r.username,
          passwordHash: r.password_hash,
          createdAt: num(r.created_at),
        }
      : null;
  }

  async findUsersByNames(usernames: string[]): Promise<User[]> {
    const names = [...new Set(usernames)];
    const { rows } = await this.#q(
      'SELECT id, username, created_at FROM users WHERE username = ANY($1::text[])',
      [names],
    );
    const byName = new Map(
      (rows as { id: string; username: string; created_at: string }[]).map((r) => [r.username, r]),
    );
    // Same order as asked, like the embedded store.
    return names.flatMap((n) => {
      const r = byName.get(n);
      return r ? [{ id: r.id, username: r.username, createdAt: num(r.created_at) }] : [];
    });
  }

  // Sessions

  async createSession(s: Session): Promise<void> {
    await this.#q(
      'INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
      [s.tokenHash, s.userId, s.csrfToken, s.createdAt, s.expiresAt],
    );
  }

  async getSession(tokenHash: string, now: number): Promise<Session | null> {
    const { rows } = await this.#q(
      'SELECT * FROM sessions WHERE token_hash = $1 AND expires_at > $2',
      [tokenHash, now],
    );
    const r = rows[0] as
      | {
          token_hash: string;
          user_id: string;
          csrf_token: string;
          created_at: string;
          expires_at: string;
        }
      | undefined;
    return r
      ? {
          tokenHash: r.token_hash,
          userId: r.user_id,
          csrfToken: r.csrf_token,
          createdAt: num(r.created_at),
          expiresAt: num(r.expires_at),
        }
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
    id: string;
    kind: ConversationKind;
    title: string | null;
    createdBy: string;
    createdAt: number;
    memberIds: string[];
    directKey: string | null;
  }): Promise<{ conversation: Conversation; created: boolean }> {
    return this.#tx(async (q) => {
      // ON CONFLICT on direct_key makes two nodes creating the same direct chat at once agree on one.
      const ins = await q(
        `INSERT INTO conversations (id, kind, title, created_by, created_at, direct_key, active_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5) ON CONFLICT (direct_key) DO NOTHING`,
        [c.id, c.kind, c.title, c.createdBy, c.createdAt, c.directKey],
      );
      if (!ins.rowCount) {
        const { rows } = await q('SELECT * FROM conversations WHERE direct_key = $1', [
          c.directKey,
        ]);
        return { conversation: conversationFromRow(rows[0] as ConvRow), created: false };
      }
      await q(
        `INSERT INTO members (conversation_id, user_id) SELECT $1, u FROM unnest($2::text[]) AS u ON CONFLICT DO NOTHING`,
        [c.id, [...new Set(c.memberIds)]],
      );
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
    });
  }

  async getConversation(id: string): Promise<Conversation | null> {
    const { rows } = await this.#q('SELECT * FROM conversations WHERE id = $1', [id]);
    return rows[0] ? conversationFromRow(rows[0] as ConvRow) : null;
  }

  async memberIds(conversationId: string): Promise<string[]> {
    const { rows } = await this.#q('SELECT user_id FROM members WHERE conversation_id = $1', [
      conversationId,
    ]);
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
    const { rowCount } = await this.#q(
      'SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2',
      [conversationId, userId],
    );
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
        `SELECT m.conversation_id, u.id, u.username, u.last_seen, m.read_seq, m.delivered_seq FROM members m JOIN users u ON u.id = m.user_id
         WHERE m.conversation_id = ANY($1::text[]) ORDER BY u.username`,
        [ids],
      ),
      this.#q(
        `${MESSAGE_SELECT} JOIN conversations c ON c.id = msg.conversation_id AND msg.seq = c.last_seq WHERE c.id = ANY($1::text[])`,
        [ids],
      ),
    ]);
    const members = new Map<string, MemberState[]>();
    for (const r of mem.rows as {
      conversation_id: string;
      id: string;
      username: string;
      last_seen: string | null;
      read_seq: string;
      delivered_seq: string;
    }[]) {
      const list = members.get(r.conversation_id) ?? [];
      list.push({
        id: r.id,
        username: r.username,
        lastSeen: r.last_seen === null ? null : num(r.last_seen),
        readSeq: num(r.read_seq),
        deliveredSeq: num(r.delivered_seq),
      });
      members.set(r.conversation_id, list);
    }
    const lastBy = new Map(
      (last.rows as MessageRow[]).map((r) => [r.conversation_id, messageFromRow(r)]),
    );
    return convs.map((r) => ({
      ...conversationFromRow(r),
      members: members.get(r.id) ?? [],
      lastMessage: lastBy.get(r.id) ?? null,
      readSeq: num(r.read_seq),
      unread: num(r.unread),
    }));
  }

  async addMembers(conversationId: string, userIds: string[]): Promise<string[]> {
    const { rows } = await this.#q(
      `INSERT INTO members (conversation_id, user_id) SELECT $1, u FROM unnest($2::text[]) AS u ON CONFLICT DO NOTHING RETURNING user_id`,
      [conversationId, [...new Set(userIds)]],
    );
    return (rows as { user_id: string }[]).map((r) => r.user_id);
  }

  async removeMember(conversationId: string, userId: string): Promise<boolean> {
    return this.#tx(async (q) => {
      // The conversation row first: two admins leaving at once on two nodes take turns.
      await q('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [conversationId]);
      const del = await q('DELETE FROM members WHERE conversation_id = $1 AND user_id = $2', [
        conversationId,
        userId,
      ]);
      if (!del.rowCount) return false;
      await q(
        `UPDATE conversations SET created_by = (SELECT u.id FROM members m JOIN users u ON u.id = m.user_id
           WHERE m.conversation_id = $1 ORDER BY u.username LIMIT 1)
         WHERE id = $1 AND created_by = $2 AND EXISTS (SELECT 1 FROM members WHERE conversation_id = $1)`,
        [conversationId, userId],
      );
      return true;
    });
  }

  async renameConversation(conversationId: string, title: string): Promise<void> {
    await this.#q('UPDATE conversations SET title = $2 WHERE id = $1', [conversationId, title]);
  }

  async contactIds(userId: string): Promise<string[]> {
    const { rows } = await this.#q(
      `SELECT DISTINCT o.user_id FROM members m JOIN members o ON o.conversation_id = m.conversation_id
       WHERE m.user_id = $1 AND o.user_id <> m.user_id`,
      [userId],
    );
    return (rows as { user_id: string }[]).map((r) => r.user_id);
  }

  async setLastSeen(userId: string, at: number): Promise<void> {
    await this.#q('UPDATE users SET last_seen = $2 WHERE id = $1', [userId, at]);
  }

  // Messages

  async appendMessages(batch: NewMessage[]): Promise<AppendResult[]> {
    if (!batch.length) return [];
    // One round trip: clipchat_append (postgres-schema.ts) numbers, stores and reports each row.
    const rows = batch.map((m) => ({
      ...toRow(m),
      conversation_id: m.conversationId,
      sender_id: m.senderId,
    }));
    const { rows: out } = await this.#q(
      'SELECT o_ord, o_seq, o_created, o_first FROM clipchat_append($1::jsonb)',
      [JSON.stringify(rows)],
    );
    const res = out as {
      o_ord: string;
      o_seq: string | null;
      o_created: boolean | null;
      o_first: string | null;
    }[];
    const missing = res.find((r) => r.o_seq === null);
    if (missing)
      throw new Error(
        `conversation ${batch[num(missing.o_ord) - 1]!.conversationId} does not exist`,
      );
    // Repeats of stored messages (a resend after a lost ack) come back as they are stored now.
    const old = res.filter((r) => !r.o_created && r.o_first === null);
    const storedNow = new Map<string, StoredMessage>();
    if (old.length) {
      const { rows: got } = await this.#q(
        `${MESSAGE_SELECT} WHERE (msg.conversation_id, msg.seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`,
        [old.map((r) => batch[num(r.o_ord) - 1]!.conversationId), old.map((r) => r.o_seq)],
      );
      for (const r of got as MessageRow[]) {
        const m = messageFromRow(r);
        storedNow.set(`${m.conversationId}\u0000${m.seq}`, m);
      }
    }
    return res.map((r): AppendResult => {
      const m = batch[num(r.o_ord) - 1]!;
      const seq = num(r.o_seq!);
      if (r.o_created) return { message: stored(m, seq), created: true };
      // A later copy in the same batch gets the first one, as a repeat.
      if (r.o_first !== null)
        return { message: stored(batch[num(r.o_first) - 1]!, seq), created: false };
      const s = storedNow.get(`${m.conversationId}\u0000${seq}`);
      if (!s) throw new Error(`message ${m.conversationId}#${seq} vanished`);
      return { message: s, created: false };
    });
  }

  async getMessage(id: string): Promise<StoredMessage | null> {
    const { rows } = await this.#q(`${MESSAGE_SELECT} WHERE msg.id = $1 LIMIT 1`, [id]);
    return rows[0] ? messageFromRow(rows[0] as MessageRow) : null;
  }

  async changeMessage(
    id: string,
    change: (m: StoredMessage) => MessagePatch | null,
  ): Promise<{ message: StoredMessage; changed: boolean } | null> {
    const found = await this.getMessage(id);
    if (!found) return null;
    return this.#tx(async (q) => {
      // The conversation's lock orders changes (and appends) of its messages; read again under it.
      await q('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [found.conversationId]);
      const { rows } = await q(
        `${MESSAGE_SELECT} WHERE msg.conversation_id = $1 AND msg.seq = $2`,
        [found.conversationId, found.seq],
      );
      const m = messageFromRow(rows[0] as MessageRow);
      const patch = change(m);
      if (!patch) return { message: m, changed: false };
      const next: StoredMessage = { ...m, ...patch };
      const up = await q(
        'UPDATE conversations SET last_rev = last_rev + 1 WHERE id = $1 RETURNING last_rev',
        [m.conversationId],
      );
      next.rev = num((up.rows[0] as { last_rev: string }).last_rev);
      await q(
        `UPDATE messages SET (${MUTABLE}) = (SELECT ${MUTABLE} FROM jsonb_populate_record(NULL::messages, $1::jsonb))
         WHERE conversation_id = $2 AND seq = $3`,
        [JSON.stringify(toRow(next)), m.conversationId, m.seq],
      );
      if (m.media && !next.media) {
        const mid = m.media.id;
        await q(
          `DELETE FROM media_posts WHERE media_id = $1 AND conversation_id = $2
          AND NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $2 AND media_id = $1)`,
          [mid, m.conversationId],
        );
        const { rows: refs } = await q(
          `SELECT EXISTS (SELECT 1 FROM messages WHERE media_id = $1)
          OR EXISTS (SELECT 1 FROM stickers WHERE media_id = $1) AS used`,
          [mid],
        );
        if (!(refs[0] as { used: boolean }).used) {
          const { rows: pr } = await q('SELECT poster FROM media WHERE id = $1', [mid]);
          const poster = (pr[0] as { poster: string | null } | undefined)?.poster ?? null;
          const drop = async (id: string) => {
            await q('DELETE FROM media_posts WHERE media_id = $1', [id]);
            await q('DELETE FROM media_uploaders WHERE media_id = $1', [id]);
            // media_blobs and media_chunks go with it (ON DELETE CASCADE).
            await q('DELETE FROM media WHERE id = $1', [id]);
          };
          await drop(mid);
          // A video's poster goes with it unless something else shows it (a message, a sticker, another video).
          if (poster) {
            const { rows: pu } = await q(
              `SELECT EXISTS (SELECT 1 FROM messages WHERE media_id = $1)
              OR EXISTS (SELECT 1 FROM stickers WHERE media_id = $1) OR EXISTS (SELECT 1 FROM media WHERE poster = $1) AS used`,
              [poster],
            );
            if (!(pu[0] as { used: boolean }).used) await drop(poster);
          }
        }
      }
      return { message: next, changed: true };
    });
  }

  async changesAfter(
    conversationId: string,
    afterRev: number,
    uptoSeq: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    const { rows } = await this.#q(
      `${MESSAGE_SELECT} WHERE msg.conversation_id = $1 AND msg.rev > $2 AND msg.seq <= $3 ORDER BY msg.rev ASC LIMIT $4`,
      [conversationId, afterRev, uptoSeq, limit],
    );
    return (rows as MessageRow[]).map(messageFromRow);
  }

  async messagesAfter(
    conversationId: string,
    afterSeq: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    const { rows } = await this.#q(
      `${MESSAGE_SELECT} WHERE msg.conversation_id = $1 AND msg.seq > $2 ORDER BY msg.seq ASC LIMIT $3`,
      [conversationId, afterSeq, limit],
    );
    return (rows as MessageRow[]).map(messageFromRow);
  }

  async messagesBefore(
    conversationId: string,
    beforeSeq: number | null,
    limit: number,
  ): Promise<StoredMessage[]> {
    const { rows } = await this.#q(
      `${MESSAGE_SELECT} WHERE msg.conversation_id = $1 AND msg.seq < $2 ORDER BY msg.seq DESC LIMIT $3`,
      [conversationId, beforeSeq ?? Number.MAX_SAFE_INTEGER, limit],
    );
    return (rows as MessageRow[]).reverse().map(messageFromRow);
  }

  async searchMessages(
    userId: string,
    q: { words: string[]; conversationId?: string; limit: number },
  ): Promise<StoredMessage[]> {
    // Bounded in time as well as in rows: a word in most messages must not hold a connection.
    return this.#tx(async (tx) => {
      await tx(`SET LOCAL statement_timeout = ${SEARCH_TIMEOUT_MS}`);
      // Two plans, chosen by how much of the table my conversations hold. Few conversations:
      // read their messages and test each (the planner's own choice). Many: start from the
      // GIN index's matches, fenced in a MATERIALIZED CTE so the planner cannot turn it back
      // into a walk over every message of every membership, recomputing the tsvector per row
      // (3 s on 200 000 messages for a member of all 1000 conversations; bench/alive.ts).
      const many =
        !q.conversationId &&
        num(
          (
            (await tx('SELECT count(*) AS n FROM members WHERE user_id = $1', [userId]))
              .rows[0] as { n: string }
          ).n,
        ) > MANY_CONVERSATIONS;
      const { rows } = await tx(
        many
          ? `WITH hits AS MATERIALIZED (
             SELECT conversation_id, seq, created_at FROM messages WHERE clipchat_search_doc(text, source) @@ to_tsquery('simple', $2)
           ), mine AS (
             SELECT h.conversation_id, h.seq FROM hits h JOIN members m ON m.conversation_id = h.conversation_id AND m.user_id = $1
             ORDER BY h.created_at DESC, h.conversation_id, h.seq DESC LIMIT $3
           )
           ${MESSAGE_SELECT} JOIN mine ON mine.conversation_id = msg.conversation_id AND mine.seq = msg.seq
           ORDER BY msg.created_at DESC, msg.conversation_id, msg.seq DESC`
          : `${MESSAGE_SELECT} WHERE clipchat_search_doc(msg.text, msg.source) @@ to_tsquery('simple', $2)
           AND msg.conversation_id IN (SELECT conversation_id FROM members WHERE user_id = $1 AND ($3::text IS NULL OR conversation_id = $3))
         ORDER BY msg.created_at DESC, msg.conversation_id, msg.seq DESC LIMIT $4`,
        many
          ? [userId, tsQuery(q.words), q.limit]
          : [userId, tsQuery(q.words), q.conversationId ?? null, q.limit],
      );
      return (rows as MessageRow[]).map(messageFromRow);
    });
  }

  async messagesShowingMedia(
    userId: string,
    mediaIds: string[],
    q: { conversationId?: string; limit: number },
  ): Promise<StoredMessage[]> {
    if (!mediaIds.length) return [];
    const { rows } = await this.#q(
      `${MESSAGE_SELECT} WHERE msg.media_id = ANY($2::text[]) AND msg.deleted_at IS NULL
         AND msg.conversation_id IN (SELECT conversation_id FROM members WHERE user_id = $1 AND ($3::text IS NULL OR conversation_id = $3))
       ORDER BY msg.created_at DESC, msg.conversation_id, msg.seq DESC LIMIT $4`,
      [userId, mediaIds, q.conversationId ?? null, q.limit],
    );
    return (rows as MessageRow[]).map(messageFromRow);
  }

  async markRead(userId: string, conversationId: string, seq: number): Promise<number> {
    const { rows } = await this.#q(
      // A read is a delivery too: both rise to the same (capped) seq.
      `UPDATE members m SET read_seq = GREATEST(m.read_seq, LEAST($1::bigint, c.last_seq)),
         delivered_seq = GREATEST(m.delivered_seq, LEAST($1::bigint, c.last_seq))
       FROM conversations c WHERE c.id = m.conversation_id AND m.conversation_id = $2 AND m.user_id = $3 RETURNING m.read_seq`,
      [seq, conversationId, userId],
    );
    return rows[0] ? num((rows[0] as { read_seq: string }).read_seq) : 0;
  }

  async markDelivered(
    userId: string,
    conversationId: string,
    seq: number,
  ): Promise<{ seq: number; moved: boolean } | null> {
    // One statement: the old value (from the joined row, read before the update) says whether it moved.
    const { rows } = await this.#q(
      `WITH cur AS (
         SELECT m.delivered_seq AS old, LEAST($1::bigint, c.last_seq) AS want FROM members m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.conversation_id = $2 AND m.user_id = $3
       ), up AS (
         UPDATE members m SET delivered_seq = cur.want FROM cur
         WHERE m.conversation_id = $2 AND m.user_id = $3 AND m.delivered_seq < cur.want RETURNING m.delivered_seq
       )
       SELECT cur.old, (SELECT delivered_seq FROM up) AS new FROM cur`,
      [seq, conversationId, userId],
    );
    const r = rows[0] as { old: string; new: string | null } | undefined;
    if (!r) return null;
    return r.new !== null ? { seq: num(r.new), moved: true } : { seq: num(r.old), moved: false };
  }

  // Media

  async putMedia(meta: MediaMeta, bytes: Buffer, uploaderId: string): Promise<MediaMeta> {
    return this.#tx(async (q) => {
      const ins = await q(MEDIA_INSERT, mediaParams(meta));
      // Only the first upload ships the bytes; a repeat (from any node) keeps the stored ones.
      if (ins.rowCount)
        await q('INSERT INTO media_blobs (id, data) VALUES ($1, $2)', [meta.id, bytes]);
      await q(
        'INSERT INTO media_uploaders (media_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [meta.id, uploaderId],
      );
      const { rows } = await q(`SELECT ${MEDIA_COLS} FROM media WHERE id = $1`, [meta.id]);
      return mediaFromRow(rows[0] as MediaRow);
    });
  }

  async putMediaFile(meta: MediaMeta, path: string, uploaderId: string): Promise<MediaMeta> {
    return this.#tx(async (q) => {
      const ins = await q(MEDIA_INSERT, mediaParams(meta));
      if (ins.rowCount) {
        // Streamed in 1 MiB rows: one chunk in memory at a time (the file stream's own
        // buffer aside), each written before the next is read.
        let n = 0;
        let pending: Buffer[] = [];
        let have = 0;
        const flush = async (piece: Buffer) => {
          await q('INSERT INTO media_chunks (media_id, n, data) VALUES ($1, $2, $3)', [
            meta.id,
            n++,
            piece,
          ]);
        };
        for await (const part of createReadStream(path, {
          highWaterMark: 256 * 1024,
        }) as AsyncIterable<Buffer>) {
          pending.push(part);
          have += part.length;
          while (have >= MEDIA_CHUNK_BYTES) {
            const all = Buffer.concat(pending);
            await flush(all.subarray(0, MEDIA_CHUNK_BYTES));
            const rest = all.subarray(MEDIA_CHUNK_BYTES);
            pending = rest.length ? [Buffer.from(rest)] : [];
            have = rest.length;
          }
        }
        if (have) await flush(Buffer.concat(pending));
      }
      await q(
        'INSERT INTO media_uploaders (media_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [meta.id, uploaderId],
      );
      const { rows } = await q(`SELECT ${MEDIA_COLS} FROM media WHERE id = $1`, [meta.id]);
      return mediaFromRow(rows[0] as MediaRow);
    });
  }

  async openMedia(id: string, range?: ByteRange): Promise<NodeJS.ReadableStream | null> {
    const meta = await this.getMedia(id);
    if (!meta) return null;
    const { rows } = await this.#q(
      'SELECT EXISTS (SELECT 1 FROM media_chunks WHERE media_id = $1 AND n = 0) AS chunked',
      [id],
    );
    const start = range?.start ?? 0;
    const end = range?.end ?? meta.bytes - 1;
    if (!(rows[0] as { chunked: boolean }).chunked) {
      // Small media (stills, stickers) are one row.
      const whole = await this.readMedia(id);
      return whole ? Readable.from([whole.subarray(start, end + 1)]) : null;
    }
    const q = this.#q;
    const first = Math.floor(start / MEDIA_CHUNK_BYTES);
    const last = Math.floor(end / MEDIA_CHUNK_BYTES);
    // Pulled a few chunks at a time as the reader consumes: a slow client holds ≤ 4 MiB here.
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let n = first; n <= last; n += CHUNKS_PER_READ) {
        const r = await q(
          'SELECT n, data FROM media_chunks WHERE media_id = $1 AND n >= $2 AND n <= $3 ORDER BY n',
          [id, n, Math.min(last, n + CHUNKS_PER_READ - 1)],
        );
        for (const row of r.rows as { n: number; data: Buffer }[]) {
          const base = row.n * MEDIA_CHUNK_BYTES;
          const from = Math.max(0, start - base);
          const to = Math.min(row.data.length, end - base + 1);
          yield row.data.subarray(from, to);
        }
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async uploadedBytes(userId: string): Promise<number> {
    const { rows } = await this.#q(
      'SELECT COALESCE(SUM(md.bytes), 0) AS n FROM media_uploaders u JOIN media md ON md.id = u.media_id WHERE u.user_id = $1',
      [userId],
    );
    return num((rows[0] as { n: string }).n);
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
          OR EXISTS (SELECT 1 FROM stickers WHERE media_id = $1 AND user_id = $2)
          OR EXISTS (SELECT 1 FROM media v JOIN media_posts p ON p.media_id = v.id JOIN members m ON m.conversation_id = p.conversation_id
                     WHERE v.poster = $1 AND m.user_id = $2) AS ok`,
      [mediaId, userId],
    );
    return (rows[0] as { ok: boolean }).ok;
  }

  // Sticker library

  async addSticker(s: {
    id: string;
    userId: string;
    mediaId: string;
    name: string;
    tags: string[];
    createdAt: number;
  }): Promise<Sticker> {
    await this.#q(
      'INSERT INTO stickers (id, user_id, media_id, name, tags, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [s.id, s.userId, s.mediaId, s.name, s.tags, s.createdAt],
    );
    return (await this.getSticker(s.userId, s.id))!;
  }

  async listStickers(userId: string): Promise<Sticker[]> {
    const { rows } = await this.#q(
      `${STICKER_SELECT} WHERE s.user_id = $1 ORDER BY s.created_at DESC, s.ord DESC`,
      [userId],
    );
    return (rows as StickerRow[]).map(stickerFromRow);
  }

  async getSticker(userId: string, id: string): Promise<Sticker | null> {
    const { rows } = await this.#q(`${STICKER_SELECT} WHERE s.user_id = $1 AND s.id = $2`, [
      userId,
      id,
    ]);
    return rows[0] ? stickerFromRow(rows[0] as StickerRow) : null;
  }

  async updateSticker(
    userId: string,
    id: string,
    patch: { name?: string; tags?: string[] },
  ): Promise<Sticker | null> {
    const r = await this.#q(
      'UPDATE stickers SET name = COALESCE($1, name), tags = COALESCE($2, tags) WHERE user_id = $3 AND id = $4',
      [patch.name ?? null, patch.tags ?? null, userId, id],
    );
    return r.rowCount ? this.getSticker(userId, id) : null;
  }

  async deleteSticker(userId: string, id: string): Promise<boolean> {
    const r = await this.#q('DELETE FROM stickers WHERE user_id = $1 AND id = $2', [userId, id]);
    return !!r.rowCount;
  }

  // Capture settings

  async getCaptureSettings(userId: string): Promise<unknown> {
    const { rows } = await this.#q('SELECT settings FROM capture_settings WHERE user_id = $1', [
      userId,
    ]);
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
