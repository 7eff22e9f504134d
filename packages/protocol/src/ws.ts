/**
 * WebSocket frames of `/ws`, and a validator for client frames shared by server and
 * tests. Every frame is one JSON object with a `type`.
 */
import type { ErrorBody } from './errors';
import type { Message, MessageKind, MessageSource, UserInfo } from './types';
import { CLIENT_ID_MAX, MAX_TEXT_LENGTH } from './types';

/** Send a message. Answered by `ack` (after the durable write) or `error` carrying `clientId`. */
export interface SendFrame {
  type: 'send';
  clientId: string;
  conversationId: string;
  kind: MessageKind;
  text?: string;
  mediaId?: string;
  stickerId?: string;
  source?: MessageSource;
}

/**
 * Replay what I missed: for each conversation, the messages with seq greater than the
 * given one, in order, as `message` frames, then one `synced` frame.
 */
export interface SyncFrame {
  type: 'sync';
  since: Record<string, number>;
}

/** Mark a conversation read up to `seq`. */
export interface ReadFrame {
  type: 'read';
  conversationId: string;
  seq: number;
}

export interface PingFrame {
  type: 'ping';
}

export type ClientFrame = SendFrame | SyncFrame | ReadFrame | PingFrame;

/** First frame after connecting. */
export interface HelloFrame {
  type: 'hello';
  user: UserInfo;
}

/** A `send` was durably stored. `duplicate` when the clientId had been seen. */
export interface AckFrame {
  type: 'ack';
  clientId: string;
  id: string;
  seq: number;
  conversationId: string;
  duplicate: boolean;
}

/** A message in one of my conversations (live, or replayed by `sync`). */
export interface MessageFrame {
  type: 'message';
  message: Message;
}

/** End of a sync: the highest seq of each requested conversation. */
export interface SyncedFrame {
  type: 'synced';
  until: Record<string, number>;
}

/** My read position moved (from this or another of my devices). */
export interface ReadUpdateFrame {
  type: 'read';
  conversationId: string;
  seq: number;
}

/** I was added to a conversation: refetch the list. */
export interface ConversationFrame {
  type: 'conversation';
  conversationId: string;
}

export interface PongFrame {
  type: 'pong';
}

/**
 * Live delivery may have missed messages (delivery between server nodes was interrupted
 * and is back): send `sync` from what you hold. Harmless when nothing was missed.
 */
export interface ResyncFrame {
  type: 'resync';
}

/** A refused frame. `clientId` is set when it answers a `send`. */
export interface ErrorFrame extends ErrorBody {
  type: 'error';
  clientId?: string;
}

export type ServerFrame =
  | HelloFrame | AckFrame | MessageFrame | SyncedFrame | ReadUpdateFrame | ConversationFrame | PongFrame | ResyncFrame | ErrorFrame;

/** A client frame that failed validation. */
export class FrameError extends Error {
  constructor(readonly code: 'ERR_BAD_JSON' | 'ERR_VALIDATION' | 'ERR_UNKNOWN_TYPE', message: string,
    readonly field?: string, readonly clientId?: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const SEND_FIELDS = new Set(['type', 'clientId', 'conversationId', 'kind', 'text', 'mediaId', 'stickerId', 'source']);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown, min: number, max: number): v is string => typeof v === 'string' && v.length >= min && v.length <= max;
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Checks a `source` value; returns an error message or null. */
export function checkSource(v: unknown): string | null {
  if (!isObj(v)) return 'source must be an object {video, at} or {video, from, to}';
  const extra = Object.keys(v).filter((k) => !['video', 'at', 'from', 'to'].includes(k));
  if (extra.length) return `source has unknown key ${JSON.stringify(extra[0])}`;
  if (!isStr(v.video, 0, 500)) return 'source.video must be a string of at most 500 characters';
  for (const k of ['at', 'from', 'to'] as const) {
    if (v[k] !== undefined && !isTime(v[k])) return `source.${k} must be a number of seconds ≥ 0`;
  }
  if ((v.from === undefined) !== (v.to === undefined)) return 'source.from and source.to go together';
  if (v.from !== undefined && (v.to as number) < (v.from as number)) return 'source.to must be ≥ source.from';
  return null;
}

/**
 * Checks the body of a message to send (WebSocket `send` or REST POST); returns an error
 * `[message, field]` or null. Text must be non-empty for `text`; still/sticker need a
 * `mediaId` or `stickerId`.
 */
export function checkSend(v: Record<string, unknown>): [string, string] | null {
  if (!isStr(v.clientId, 1, CLIENT_ID_MAX)) return [`clientId must be a string of 1–${CLIENT_ID_MAX} characters`, 'clientId'];
  if (v.kind !== 'text' && v.kind !== 'still' && v.kind !== 'sticker') return ['kind must be one of text, still, sticker', 'kind'];
  if (v.text !== undefined && !isStr(v.text, 0, MAX_TEXT_LENGTH)) return [`text must be a string of at most ${MAX_TEXT_LENGTH} characters`, 'text'];
  if (v.mediaId !== undefined && !isStr(v.mediaId, 1, 100)) return ['mediaId must be a media id string', 'mediaId'];
  if (v.stickerId !== undefined && !isStr(v.stickerId, 1, 100)) return ['stickerId must be a sticker id string', 'stickerId'];
  if (v.kind === 'text') {
    if (typeof v.text !== 'string' || v.text.length === 0) return ['a text message needs a non-empty text', 'text'];
    if (v.mediaId !== undefined || v.stickerId !== undefined) return ['a text message carries no mediaId or stickerId', 'mediaId'];
  } else {
    if ((v.mediaId === undefined) === (v.stickerId === undefined)) return [`a ${v.kind} message needs exactly one of mediaId, stickerId`, 'mediaId'];
    if (v.text !== undefined) return [`a ${v.kind} message carries no text`, 'text'];
  }
  if (v.source !== undefined) {
    const e = checkSource(v.source);
    if (e) return [e, 'source'];
  }
  return null;
}

/**
 * Parses and validates one client frame.
 * @throws FrameError with the catalogue code and the field at fault.
 */
export function parseClientFrame(raw: string): ClientFrame {
  let v: unknown;
  try { v = JSON.parse(raw); } catch { throw new FrameError('ERR_BAD_JSON', 'frame is not valid JSON'); }
  if (!isObj(v)) throw new FrameError('ERR_VALIDATION', 'frame must be a JSON object with a type', 'type');
  const clientId = typeof v.clientId === 'string' ? v.clientId : undefined;
  switch (v.type) {
    case 'send': {
      for (const k in v) {
        if (!SEND_FIELDS.has(k)) throw new FrameError('ERR_VALIDATION', `send has unknown field ${JSON.stringify(k)}`, k, clientId);
      }
      if (!isStr(v.conversationId, 1, 100)) throw new FrameError('ERR_VALIDATION', 'conversationId must be a string', 'conversationId', clientId);
      const e = checkSend(v);
      if (e) throw new FrameError('ERR_VALIDATION', e[0], e[1], clientId);
      return v as unknown as SendFrame;
    }
    case 'sync': {
      if (!isObj(v.since)) throw new FrameError('ERR_VALIDATION', 'since must be an object {conversationId: seq}', 'since');
      const entries = Object.entries(v.since);
      if (entries.length > 10_000) throw new FrameError('ERR_VALIDATION', 'since lists too many conversations', 'since');
      for (const [, s] of entries) {
        if (!isSeq(s)) throw new FrameError('ERR_VALIDATION', 'each since value must be a whole number ≥ 0', 'since');
      }
      return { type: 'sync', since: v.since as Record<string, number> };
    }
    case 'read':
      if (!isStr(v.conversationId, 1, 100)) throw new FrameError('ERR_VALIDATION', 'conversationId must be a string', 'conversationId');
      if (!isSeq(v.seq)) throw new FrameError('ERR_VALIDATION', 'seq must be a whole number ≥ 0', 'seq');
      return { type: 'read', conversationId: v.conversationId, seq: v.seq };
    case 'ping':
      return { type: 'ping' };
    default:
      if (typeof v.type !== 'string') throw new FrameError('ERR_VALIDATION', 'frame must have a string type', 'type');
      throw new FrameError('ERR_UNKNOWN_TYPE', `unknown frame type ${JSON.stringify(v.type).slice(0, 60)}; known: send, sync, read, ping`, 'type');
  }
}
