/**
 * The one definition of a stored message: its fields, how each is kept in a row (the same
 * column names in SQLite and PostgreSQL), the builder of a new message from a send, and the
 * row ⇄ message conversions both stores use. Adding a message field means: the wire schema
 * (`@clipchat/protocol` types.ts), an entry of {@link COLUMNS} here (and the builder when a
 * send sets it), and one migration per backend (sqlite.ts, postgres-schema.ts). The SQLite
 * writer thread, the PostgreSQL append function, sync, the bus and the wire conversion
 * carry every column without naming them.
 */
import { randomUUID } from 'node:crypto';
import type { Reaction, SendMessage } from '@clipchat/protocol';

/** `system`: written by the server about the members or title (never sent by a client); `video`: a shared video. */
export type MessageKind = 'text' | 'still' | 'sticker' | 'video' | 'system';

/** Where a still or sticker came from: a video name and a time (still) or range (sticker), seconds. */
export interface MessageSource {
  video: string;
  /** Media id of the shared video it was captured from, when it was one. */
  mediaId?: string;
  at?: number;
  from?: number;
  to?: number;
}

/** Metadata of a stored media object. `id` is the sha256 of its bytes, hex. */
export interface MediaMeta {
  id: string;
  mime: string;
  width: number;
  height: number;
  /** Number of frames (1 for a still). */
  frames: number;
  /** Size in bytes. */
  bytes: number;
  createdAt: number;
  /** For a video: what ffprobe found and the poster frame's media id; absent or null for images. */
  video?: VideoMeta | null;
}

/** What a stored video is: duration, codec of its video stream, and its poster frame. */
export interface VideoMeta {
  /** Seconds of player time. */
  duration: number;
  /** ffprobe's codec name of the video stream (`h264`, `vp9`, `av1`, …). */
  codec: string;
  /** Media id of the poster frame (a JPEG made by the server), or `null`. */
  poster: string | null;
}

/** A media row's video columns (`duration`, `codec`, `poster`; NULL for images) as {@link VideoMeta}. */
function videoFromRow(duration: unknown, codec: unknown, poster: unknown): VideoMeta | null {
  return duration === null || duration === undefined
    ? null
    : {
        duration: Number(duration),
        codec: String((codec as string | null) ?? ''),
        poster: (poster as string | null) ?? null,
      };
}

/** A media row's `video` part: present for videos, absent for images (as they were stored). */
export function mediaVideo(
  duration: unknown,
  codec: unknown,
  poster: unknown,
): { video?: VideoMeta } {
  const v = videoFromRow(duration, codec, poster);
  return v ? { video: v } : {};
}

/** The fields of a message kept in its own row, by name (see {@link COLUMNS}). */
export interface MessageFields {
  id: string;
  /** Client-chosen idempotency key, unique per (conversationId, senderId). */
  clientId: string;
  kind: MessageKind;
  /** Text as sent or last edited (text messages); null otherwise and once deleted. */
  text: string | null;
  source: MessageSource | null;
  /** Id of the message of the same conversation this one answers. */
  replyTo: string | null;
  /** Distinct emoji in the order first used, each with its users in the order they reacted. */
  reactions: Reaction[];
  editedAt: number | null;
  /** Set once deleted for everyone: the message is a tombstone (text, media, source null, no reactions). */
  deletedAt: number | null;
  /** The conversation's change number at this message's last change; 0 if never changed. */
  rev: number;
  createdAt: number;
}

/** A stored message: its own fields plus where it sits, who sent it and its media. */
export interface StoredMessage extends MessageFields {
  conversationId: string;
  /** Per-conversation sequence number, 1, 2, 3… without gaps. */
  seq: number;
  senderId: string;
  senderName: string;
  media: MediaMeta | null;
}

/** A message to append: a stored message before it has its seq. */
export type NewMessage = Omit<StoredMessage, 'seq'>;

/** How a field is kept: its column, and whether it is JSON (SQLite text, PostgreSQL jsonb) or a number (bigint). */
interface Column {
  col: string;
  json?: true;
  num?: true;
}

/**
 * Every field of {@link MessageFields} and its column. Both backends' tables have these
 * columns (plus their keys, seq and media_id); inserts and updates are made from this list.
 */
const COLUMNS: { readonly [K in keyof MessageFields]-?: Column } = {
  id: { col: 'id' },
  clientId: { col: 'client_id' },
  kind: { col: 'kind' },
  text: { col: 'text' },
  source: { col: 'source', json: true },
  replyTo: { col: 'reply_to' },
  reactions: { col: 'reactions', json: true },
  editedAt: { col: 'edited_at', num: true },
  deletedAt: { col: 'deleted_at', num: true },
  rev: { col: 'rev', num: true },
  createdAt: { col: 'created_at', num: true },
};
const FIELDS = Object.keys(COLUMNS) as (keyof MessageFields)[];

/** The column names, in {@link COLUMNS} order, plus `media_id`. */
export const COLUMN_NAMES: readonly string[] = [...FIELDS.map((f) => COLUMNS[f].col), 'media_id'];

/** Columns a change (edit, reaction, delete) may write: all but the identity ones. */
export const MUTABLE_COLUMNS: readonly string[] = COLUMN_NAMES.filter(
  (c) => !['id', 'client_id', 'kind', 'created_at'].includes(c),
);

/**
 * `msg.<column>` for every stored column, for a SELECT over `messages msg`. Each backend
 * adds `conversation_id`, `seq`, `sender_id`, `sender_name` and the media's `m_*` columns.
 */
export const SELECT_COLUMNS = COLUMN_NAMES.map((c) => `msg.${c}`).join(', ');
/** The media columns of a message SELECT joined `LEFT JOIN media md ON md.id = msg.media_id`. */
export const SELECT_MEDIA = `md.id AS m_id, md.mime AS m_mime, md.width AS m_width, md.height AS m_height,
  md.frames AS m_frames, md.bytes AS m_bytes, md.created_at AS m_created_at,
  md.duration AS m_duration, md.codec AS m_codec, md.poster AS m_poster`;

/**
 * A message's columns as one record (column name → value; JSON columns as values, the
 * caller encodes them: SQLite as text, PostgreSQL as part of a jsonb document).
 */
export function toRow(m: MessageFields & { media: MediaMeta | null }): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const f of FIELDS) row[COLUMNS[f].col] = m[f];
  row.media_id = m.media?.id ?? null;
  return row;
}

/** {@link toRow} with JSON columns as text, for SQLite. */
export function toSqliteRow(
  m: MessageFields & { media: MediaMeta | null },
): Record<string, unknown> {
  const row = toRow(m);
  for (const f of FIELDS)
    if (COLUMNS[f].json)
      row[COLUMNS[f].col] =
        row[COLUMNS[f].col] == null ? null : JSON.stringify(row[COLUMNS[f].col]);
  return row;
}

// bigint columns arrive as strings from PostgreSQL (pg keeps int8 exact); ours are ms times and
// counters, safe as numbers.
const num = (v: unknown): number => Number(v);
const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);

/** A row of a message SELECT (either backend) as a stored message. */
export function fromRow(r: Record<string, unknown>): StoredMessage {
  const out: Record<string, unknown> = {
    conversationId: r.conversation_id,
    seq: num(r.seq),
    senderId: r.sender_id,
    senderName: r.sender_name,
    media: r.m_id
      ? {
          id: r.m_id,
          mime: r.m_mime,
          width: num(r.m_width),
          height: num(r.m_height),
          frames: num(r.m_frames),
          bytes: num(r.m_bytes),
          createdAt: num(r.m_created_at),
          video: videoFromRow(r.m_duration, r.m_codec, r.m_poster),
        }
      : null,
  };
  for (const f of FIELDS) {
    const c = COLUMNS[f];
    const v = r[c.col];
    out[f] =
      v === null || v === undefined
        ? f === 'reactions'
          ? []
          : null
        : c.json
          ? json(v)
          : c.num
            ? num(v)
            : v;
  }
  return out as unknown as StoredMessage;
}

/** The stored message once appended with `seq`. */
export function stored(m: NewMessage, seq: number): StoredMessage {
  return { ...m, seq };
}

/** Builds the message a checked send makes (everything but its seq). */
export function buildMessage(p: {
  conversationId: string;
  sender: { id: string; username: string };
  input: SendMessage;
  media: MediaMeta | null;
  now: number;
}): NewMessage {
  const { input } = p;
  return {
    id: randomUUID(),
    conversationId: p.conversationId,
    senderId: p.sender.id,
    senderName: p.sender.username,
    clientId: input.clientId,
    kind: input.kind,
    text: input.kind === 'text' ? (input.text ?? '') : null,
    media: p.media,
    source: input.source ?? null,
    replyTo: input.replyTo ?? null,
    reactions: [],
    editedAt: null,
    deletedAt: null,
    rev: 0,
    createdAt: p.now,
  };
}
