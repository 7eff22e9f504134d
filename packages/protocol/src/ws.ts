/**
 * WebSocket frames of `/ws`, both ways, as TypeBox schemas with their types, and the
 * compiled checks that parse them: `parseClientFrame` (the server, for what clients send)
 * and `parseServerFrame` (the web app and tests, for what the server sends). Every frame
 * is one JSON object with a `type`.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ErrorSchema } from './types';
import { Message, UserInfo, sendFields } from './types';
import { checker, sendProblem, type Problem } from './check';
import type { ErrorCode } from './errors';

/** Longest player time a `watch` frame may name, seconds (the server's longest video is 6 h). */
export const WATCH_MAX_SECONDS = 86_400;
/** Shortest time between two `watch` frames a client sends while scrubbing, ms. */
export const WATCH_INTERVAL_MS = 200;

const ConvId = Type.String({
  minLength: 1,
  maxLength: 100,
  description: 'a conversation id string',
});
const Seq = Type.Integer({ minimum: 0, description: 'a whole number ≥ 0' });
const PerConversation = (what: string) =>
  Type.Record(Type.String({ maxLength: 100 }), Seq, {
    maxProperties: 10_000,
    description: `an object {conversationId: ${what}} of at most 10000 conversations, each a whole number ≥ 0`,
  });

/** Send a message. Answered by `ack` (after the durable write) or `error` carrying `clientId`. */
export const SendFrame = Type.Object(
  { type: Type.Literal('send'), conversationId: ConvId, ...sendFields },
  { additionalProperties: false },
);
export type SendFrame = Static<typeof SendFrame>;

/**
 * Replay what I missed. For each conversation in `since`, the messages with seq greater
 * than the given one, in order, as `message` frames (each as it now is); and for each in
 * `changes`, every message up to my `since` seq changed (edit, reaction, delete) after the
 * given change number, as `update` frames. Then one `synced` frame. The answer is one
 * bounded page; when `synced.more` is true, send `sync` again from where you now stand.
 * Rate-limited per user (refused with an `error` frame, `frame: "sync"`, `retryAfter`).
 */
export const SyncFrame = Type.Object(
  {
    type: Type.Literal('sync'),
    since: PerConversation('seq'),
    /**
     * conversationId → the change number (`synced.revs`, or `ConversationInfo.lastRev` read before
     * loading history) I hold.
     */
    changes: Type.Optional(PerConversation('rev')),
  },
  { additionalProperties: false },
);
export type SyncFrame = Static<typeof SyncFrame>;

/** Mark a conversation read up to `seq`. */
export const ReadFrame = Type.Object(
  { type: Type.Literal('read'), conversationId: ConvId, seq: Seq },
  { additionalProperties: false },
);
export type ReadFrame = Static<typeof ReadFrame>;

/**
 * Messages of a conversation up to `seq` reached this device (it holds them). Send it as
 * messages arrive, batched (at most one per conversation every {@link DELIVERED_INTERVAL_MS});
 * the server keeps the highest per member and relays it when it moved. Never answered.
 */
export const DeliveredFrame = Type.Object(
  { type: Type.Literal('delivered'), conversationId: ConvId, seq: Seq },
  { additionalProperties: false },
);
export type DeliveredFrame = Static<typeof DeliveredFrame>;

/**
 * Keep-alive and liveness probe: answered by `pong` (in order, after every frame queued
 * before it). A client that gets no pong within a couple of seconds may treat the socket
 * as dead. Counted against the `ping` rate limit per user; over it, pings are dropped.
 */
export const PingFrame = Type.Object(
  { type: Type.Literal('ping') },
  { additionalProperties: false },
);
export type PingFrame = Static<typeof PingFrame>;

/**
 * I am composing in a conversation. Send it at most every {@link TYPING_INTERVAL_MS}; the
 * server relays at most one per user and conversation in that time and drops the rest
 * silently (no error frame: typing is a hint, not a request). Never answered.
 */
export const TypingFrame = Type.Object(
  { type: Type.Literal('typing'), conversationId: ConvId },
  { additionalProperties: false },
);
export type TypingFrame = Static<typeof TypingFrame>;

const WatchFields = {
  conversationId: ConvId,
  /** The shared video being watched (a `video` message's media id). */
  mediaId: Type.String({
    pattern: '^[0-9a-f]{64}$',
    description: 'the media id of a shared video (64 hex digits)',
  }),
  /** Its name, as the `video` message's source names it (for "Follow alice" and the player's title). */
  video: Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'the video name, 1–200 characters',
  }),
  /** What the person did: started or paused playback, or sought. */
  action: Type.Union([Type.Literal('play'), Type.Literal('pause'), Type.Literal('seek')], {
    description: 'play, pause or seek',
  }),
  /** Player time after it, seconds. */
  at: Type.Number({
    minimum: 0,
    maximum: WATCH_MAX_SECONDS,
    description: `a player time in seconds, 0–${WATCH_MAX_SECONDS}`,
  }),
  /** Whether the video plays on after it (a seek while playing keeps playing). */
  playing: Type.Boolean(),
};

/**
 * Watch along: my play, pause or seek of a shared video, for the conversation's other
 * members to follow ("Follow alice"). Members only; the video must be one I may see.
 * Rate-limited per user (`watch`; refused with an `error` frame, `frame: "watch"`).
 * Clients send at most one every {@link WATCH_INTERVAL_MS} while scrubbing (the last
 * position always goes out). Never answered when relayed.
 */
export const WatchFrame = Type.Object(
  { type: Type.Literal('watch'), ...WatchFields },
  { additionalProperties: false },
);
export type WatchFrame = Static<typeof WatchFrame>;

/** What a client may send, by `type`. */
export const CLIENT_FRAMES = {
  send: SendFrame,
  sync: SyncFrame,
  read: ReadFrame,
  ping: PingFrame,
  typing: TypingFrame,
  watch: WatchFrame,
  delivered: DeliveredFrame,
} as const;
export const ClientFrame = Type.Union(Object.values(CLIENT_FRAMES));
export type ClientFrame = Static<typeof ClientFrame>;

/** First frame after connecting. */
export const HelloFrame = Type.Object({ type: Type.Literal('hello'), user: UserInfo });
export type HelloFrame = Static<typeof HelloFrame>;

/** A `send` was durably stored. `duplicate` when the clientId had been seen. */
export const AckFrame = Type.Object({
  type: Type.Literal('ack'),
  clientId: Type.String(),
  id: Type.String(),
  seq: Type.Integer(),
  conversationId: Type.String(),
  duplicate: Type.Boolean(),
});
export type AckFrame = Static<typeof AckFrame>;

/** A new message in one of my conversations (live, or replayed by `sync`), as it now is. */
export const MessageFrame = Type.Object({ type: Type.Literal('message'), message: Message });
export type MessageFrame = Static<typeof MessageFrame>;

/**
 * A message I may already hold changed (edited, reacted to, deleted): `message` is the
 * whole message as it now is; replace my copy when its `rev` is higher than the one I hold.
 * Live to every member's sockets, and replayed by `sync` (see {@link SyncFrame}).
 */
export const UpdateFrame = Type.Object({ type: Type.Literal('update'), message: Message });
export type UpdateFrame = Static<typeof UpdateFrame>;

/**
 * End of a sync page: for each conversation the page reached, the seq up to which the
 * client now has every message (`until`) and the change number up to which it has every
 * change of those messages (`revs`; keep it for the next sync's `changes`). `more`: some
 * requested conversation may hold messages or changes past what this page sent (or was not
 * reached): sync again.
 */
export const SyncedFrame = Type.Object({
  type: Type.Literal('synced'),
  until: Type.Record(Type.String(), Type.Integer()),
  revs: Type.Record(Type.String(), Type.Integer()),
  more: Type.Boolean(),
});
export type SyncedFrame = Static<typeof SyncedFrame>;

/**
 * A read position moved. Without `user`: mine (from this or another of my devices). With
 * `user`: another member of the conversation has read up to `seq` (a read receipt).
 */
export const ReadUpdateFrame = Type.Object({
  type: Type.Literal('read'),
  conversationId: Type.String(),
  seq: Type.Integer(),
  user: Type.Optional(UserInfo),
});
export type ReadUpdateFrame = Static<typeof ReadUpdateFrame>;

/**
 * Another member's devices hold the messages of `conversationId` up to `seq` (delivery
 * receipt). Sent when their delivered position moves; a read moves it too, without a
 * frame of its own (delivered ≥ read always).
 */
export const DeliveredUpdateFrame = Type.Object({
  type: Type.Literal('delivered'),
  conversationId: Type.String(),
  user: UserInfo,
  seq: Type.Integer(),
});
export type DeliveredUpdateFrame = Static<typeof DeliveredUpdateFrame>;

/** Another member of `conversationId` is typing; show it for {@link TYPING_SHOW_MS} unless another comes. */
export const TypingUpdateFrame = Type.Object({
  type: Type.Literal('typing'),
  conversationId: Type.String(),
  user: UserInfo,
});
export type TypingUpdateFrame = Static<typeof TypingUpdateFrame>;

/**
 * Another member of `conversationId` played, paused or sought the shared video `mediaId`
 * (see {@link WatchFrame}); `sentAt`: when the server relayed it, ms since the epoch (a
 * playing video is then at about `at + (now − sentAt) / 1000`).
 */
export const WatchUpdateFrame = Type.Object({
  type: Type.Literal('watch'),
  ...WatchFields,
  conversationId: Type.String(),
  user: UserInfo,
  sentAt: Type.Number(),
});
export type WatchUpdateFrame = Static<typeof WatchUpdateFrame>;

/**
 * A contact (someone I share a conversation with) came online (their first device
 * connected, on any node) or went offline (their last one disconnected). `lastSeen`: when
 * they were last connected, ms since the epoch (now when online; null when never).
 */
export const PresenceFrame = Type.Object({
  type: Type.Literal('presence'),
  user: UserInfo,
  online: Type.Boolean(),
  lastSeen: Type.Union([Type.Number(), Type.Null()]),
});
export type PresenceFrame = Static<typeof PresenceFrame>;

/** I was added to a conversation: refetch the list. */
export const ConversationFrame = Type.Object({
  type: Type.Literal('conversation'),
  conversationId: Type.String(),
});
export type ConversationFrame = Static<typeof ConversationFrame>;

export const PongFrame = Type.Object({ type: Type.Literal('pong') });
export type PongFrame = Static<typeof PongFrame>;

/**
 * Live delivery may have missed messages (delivery between server nodes was interrupted
 * and is back): send `sync` from what you hold. Harmless when nothing was missed.
 */
export const ResyncFrame = Type.Object({ type: Type.Literal('resync') });
export type ResyncFrame = Static<typeof ResyncFrame>;

/**
 * A refused frame. `clientId` is set when it answers a `send`; `frame` names the frame type
 * it answers for `sync`, `typing`, `delivered` and `watch` (so a client can retry those quietly).
 */
export const ErrorFrame = Type.Composite([
  Type.Object({
    type: Type.Literal('error'),
    clientId: Type.Optional(Type.String()),
    frame: Type.Optional(
      Type.Union([
        Type.Literal('sync'),
        Type.Literal('typing'),
        Type.Literal('delivered'),
        Type.Literal('watch'),
      ]),
    ),
  }),
  ErrorSchema,
]);
export type ErrorFrame = Static<typeof ErrorFrame> & { error: { code: ErrorCode } };

/** What the server may send, by `type`. */
export const SERVER_FRAMES = {
  hello: HelloFrame,
  ack: AckFrame,
  message: MessageFrame,
  update: UpdateFrame,
  synced: SyncedFrame,
  read: ReadUpdateFrame,
  conversation: ConversationFrame,
  pong: PongFrame,
  resync: ResyncFrame,
  error: ErrorFrame,
  typing: TypingUpdateFrame,
  presence: PresenceFrame,
  watch: WatchUpdateFrame,
  delivered: DeliveredUpdateFrame,
} as const;
export const ServerFrame = Type.Union(Object.values(SERVER_FRAMES));
export type ServerFrame =
  | HelloFrame
  | AckFrame
  | MessageFrame
  | UpdateFrame
  | SyncedFrame
  | ReadUpdateFrame
  | ConversationFrame
  | PongFrame
  | ResyncFrame
  | ErrorFrame
  | TypingUpdateFrame
  | PresenceFrame
  | WatchUpdateFrame
  | DeliveredUpdateFrame;

/** Shortest time between two `typing` frames of one user in one conversation that the server relays, ms. */
export const TYPING_INTERVAL_MS = 3000;
/** How long a client shows "… is typing" after the last `typing` frame, ms. */
export const TYPING_SHOW_MS = 5000;
/** Shortest time between two `delivered` frames a client sends for one conversation, ms. */
export const DELIVERED_INTERVAL_MS = 1000;

/** Close code of a socket dropped for not reading what it is sent (reconnect and sync). */
export const WS_CLOSE_TOO_SLOW = 1013;
/** Close code of a socket whose session logged out. */
export const WS_CLOSE_LOGGED_OUT = 4001;

/** A frame that failed its check. */
export class FrameError extends Error {
  constructor(
    readonly code: 'ERR_BAD_JSON' | 'ERR_VALIDATION' | 'ERR_UNKNOWN_TYPE',
    message: string,
    readonly field?: string,
    readonly clientId?: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

const clientCheck = Object.fromEntries(
  Object.entries(CLIENT_FRAMES).map(([k, s]) => [k, checker(s as TSchema)]),
);
const serverCheck = Object.fromEntries(
  Object.entries(SERVER_FRAMES).map(([k, s]) => [k, checker(s as TSchema)]),
);
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON-parses a frame and finds its schema by `type`; throws FrameError. */
function parseFrame(
  raw: string,
  checks: Record<string, ReturnType<typeof checker>>,
  side: string,
): { v: Record<string, unknown>; problem: Problem | null } {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new FrameError('ERR_BAD_JSON', 'frame is not valid JSON');
  }
  if (!isObj(v))
    throw new FrameError('ERR_VALIDATION', 'frame must be a JSON object with a type', 'type');
  const clientId = typeof v.clientId === 'string' ? v.clientId : undefined;
  if (typeof v.type !== 'string')
    throw new FrameError('ERR_VALIDATION', 'frame must have a string type', 'type', clientId);
  const check = Object.prototype.hasOwnProperty.call(checks, v.type) ? checks[v.type] : undefined;
  if (!check) {
    throw new FrameError(
      'ERR_UNKNOWN_TYPE',
      `unknown frame type ${JSON.stringify(v.type).slice(0, 60)}; known ${side}: ${Object.keys(checks).join(', ')}`,
      'type',
      clientId,
    );
  }
  return { v, problem: check.problem(v, v.type) };
}

/**
 * Parses and checks one client frame against its schema (and, for `send`, the rules of
 * {@link sendProblem}).
 * @throws FrameError with the catalogue code, the field at fault and a `send`'s clientId.
 */
export function parseClientFrame(raw: string): ClientFrame {
  const { v, problem } = parseFrame(raw, clientCheck, 'to the server');
  const clientId = typeof v.clientId === 'string' ? v.clientId : undefined;
  const bad = problem ?? (v.type === 'send' ? sendProblem(v as SendFrame) : null);
  if (bad) throw new FrameError('ERR_VALIDATION', bad.message, bad.field, clientId);
  return v as ClientFrame;
}

/**
 * Parses and checks one server frame against its schema: for clients (the web app,
 * tests), so a server and client that disagree on the protocol fail loudly.
 * @throws FrameError naming what does not fit.
 */
export function parseServerFrame(raw: string): ServerFrame {
  const { v, problem } = parseFrame(raw, serverCheck, 'from the server');
  if (problem) throw new FrameError('ERR_VALIDATION', problem.message, problem.field);
  return v as ServerFrame;
}
