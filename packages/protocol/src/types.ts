/**
 * The wire schema of Clipchat's REST API, written once with TypeBox. Each schema is a
 * JSON Schema (Fastify validates route bodies with it and @fastify/swagger publishes it
 * at `/api/docs`) and its TypeScript type (`Static<typeof X>`) is exported under the same
 * name for the server and the web app. Times are milliseconds since the Unix epoch; sizes
 * are bytes; media times are seconds of player time.
 *
 * A field's `description` reads as the end of "<field> must be …": the validator uses
 * it to say what is allowed when a value is refused (see check.ts).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Accepted usernames (after lower-casing). */
export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{1,31}$';
/** Password length bounds, in characters. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;
/** Longest text message, in characters (UTF-16 code units). */
export const MAX_TEXT_LENGTH = 8000;
/** `clientId` length bounds. */
export const CLIENT_ID_MAX = 100;
/** Longest group title and sticker name. */
export const MAX_TITLE_LENGTH = 100;
/** Most members a group may be created with (creator included). */
export const MAX_GROUP_MEMBERS = 256;
/** Default upload cap (8 MiB). */
export const DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
/** Header carrying the CSRF token on cookie-authenticated mutations. */
export const CSRF_HEADER = 'x-csrf-token';
/** Name of the session cookie. */
export const SESSION_COOKIE = 'clipchat_session';
/** Most distinct emoji reacting to one message. */
export const MAX_REACTIONS = 20;
/** Longest emoji in a reaction, UTF-16 code units (the longest RGI ZWJ sequences are 14 code points). */
export const MAX_EMOJI_LENGTH = 32;
/**
 * The quick-pick reactions the web app offers. Any other single emoji (one grapheme of
 * Unicode's RGI emoji set) is accepted too.
 */
export const REACTION_SET = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;
/**
 * Default time after sending during which a text message may be edited, ms (48 h;
 * `ServerConfig.messages.editWindowMs`).
 */
export const DEFAULT_EDIT_WINDOW_MS = 48 * 3600 * 1000;

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Id = (what: string) =>
  Type.String({ minLength: 1, maxLength: 100, description: `a ${what} id string` });
const Time = Type.Number({ description: 'milliseconds since the Unix epoch' });

export const MessageKind = Type.Union(
  [Type.Literal('text'), Type.Literal('still'), Type.Literal('sticker'), Type.Literal('video')],
  {
    description: 'one of text, still, sticker, video',
  },
);
export type MessageKind = Static<typeof MessageKind>;

/**
 * What a stored message is: a kind one sends, or `system` — written by the server when
 * members are added or removed, leave, or the group is renamed (its `text` says so, e.g.
 * "alice added bob"; `senderId`/`sender` is who did it). Nobody sends `system`.
 */
export const StoredKind = Type.Union([MessageKind, Type.Literal('system')], {
  description: 'one of text, still, sticker, system',
});
export type StoredKind = Static<typeof StoredKind>;

export const ConversationKind = Type.Union([Type.Literal('direct'), Type.Literal('group')], {
  description: 'one of direct, group',
});
export type ConversationKind = Static<typeof ConversationKind>;

/** A user as others see them. */
export const UserInfo = Type.Object({ id: Type.String(), username: Type.String() });
export type UserInfo = Static<typeof UserInfo>;

const Seconds = Type.Number({ minimum: 0, description: 'a number of seconds ≥ 0' });
/**
 * Where a still (`at`) or sticker (`from`, `to`) was captured from; seconds of player time.
 * `mediaId` is set when the video was one shared into a conversation (a `video` message):
 * its caption then opens that video at that moment.
 */
export const MessageSource = Type.Object(
  {
    video: Type.String({ maxLength: 500, description: 'a string of at most 500 characters' }),
    mediaId: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{64}$',
        description: 'the media id of a shared video (64 hex digits)',
      }),
    ),
    at: Type.Optional(Seconds),
    from: Type.Optional(Seconds),
    to: Type.Optional(Seconds),
  },
  { additionalProperties: false, description: 'an object {video, at} or {video, from, to}' },
);
export type MessageSource = Static<typeof MessageSource>;

/** Stored media, as returned by `POST /api/media`. `id` is the sha256 of the bytes. */
export const MediaInfo = Type.Object({
  id: Type.String(),
  mime: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  /** 1 for a still; frame count of an animation. */
  frames: Type.Integer({ description: '1 for a still; frame count of an animation' }),
  bytes: Type.Integer(),
  /** Where to fetch it: `/media/<id>`. */
  url: Type.String({ description: 'where to fetch it: /media/<id>' }),
  /** Videos only: seconds of player time. */
  duration: Type.Optional(Type.Number({ description: 'videos only: length in seconds' })),
  /** Videos only: codec of the video stream as ffprobe names it (h264, hevc, vp8, vp9, av1, …). */
  codec: Type.Optional(
    Type.String({ description: 'videos only: codec of the video stream (ffprobe name)' }),
  ),
  /** Videos only: the poster frame made by the server, a JPEG media (null when none could be made). */
  poster: Type.Optional(
    Type.Union(
      [
        Type.Null(),
        Type.Object({
          id: Type.String(),
          url: Type.String({ description: 'where to fetch it: /media/<id>' }),
        }),
      ],
      {
        description:
          'videos only: the poster frame (a JPEG the size of the video, at most 640 px a side), or null',
      },
    ),
  ),
});
export type MediaInfo = Static<typeof MediaInfo>;

/** `POST /api/media` JSON body: check a finished resumable upload and store it as a video. */
export const FinishUpload = Type.Object(
  {
    uploadId: Type.String({
      pattern: '^[0-9a-f]{32}$',
      description: 'the id at the end of the tus upload URL (32 hex digits)',
    }),
  },
  { additionalProperties: false },
);
export type FinishUpload = Static<typeof FinishUpload>;

/** One emoji on a message and who reacted with it, in the order they did. */
export const Reaction = Type.Object({
  emoji: Type.String(),
  users: Type.Array(Type.String(), { description: 'usernames, in the order they reacted' }),
});
export type Reaction = Static<typeof Reaction>;

/**
 * A stored message, always whole: live `message` and `update` frames, sync, history and
 * REST answers all carry this shape.
 */
export const Message = Type.Object({
  id: Type.String(),
  conversationId: Type.String(),
  seq: Type.Integer({ description: 'per-conversation sequence number: 1, 2, 3… without gaps' }),
  senderId: Type.String(),
  sender: Type.String({ description: "the sender's username" }),
  clientId: Type.String(),
  kind: StoredKind,
  text: Nullable(
    Type.String({
      description:
        'text as sent or last edited, for text (never HTML); null otherwise and once deleted',
    }),
  ),
  media: Nullable(MediaInfo),
  source: Nullable(MessageSource),
  replyTo: Nullable(
    Type.String({ description: 'id of the message (same conversation) this one answers' }),
  ),
  reactions: Type.Array(Reaction, {
    description: 'distinct emoji in the order first used, at most 20',
  }),
  editedAt: Nullable(Time),
  deletedAt: Nullable(Time),
  rev: Type.Integer({
    description:
      "the conversation's change number at this message's last edit, reaction or delete; 0 if never changed",
  }),
  createdAt: Time,
});
export type Message = Static<typeof Message>;

/**
 * A member of a conversation as listed with it: who they are, whether they are connected
 * now (any device, any node), when they last were, and how far they have read.
 */
export const MemberInfo = Type.Object({
  id: Type.String(),
  username: Type.String(),
  online: Type.Boolean({ description: 'true while at least one of their devices is connected' }),
  lastSeen: Nullable(
    Type.Number({ description: 'when they were last connected, ms since the epoch (null: never)' }),
  ),
  readSeq: Type.Integer({ description: 'highest seq this member has read (read receipts)' }),
  deliveredSeq: Type.Integer({
    description:
      'highest seq that reached a device of this member (delivery receipts; never below readSeq)',
  }),
});
export type MemberInfo = Static<typeof MemberInfo>;

/** A conversation as listed by `GET /api/conversations`. */
export const ConversationInfo = Type.Object({
  id: Type.String(),
  kind: ConversationKind,
  title: Nullable(Type.String()),
  members: Type.Array(MemberInfo),
  lastMessage: Nullable(Message),
  lastSeq: Type.Integer(),
  lastRev: Type.Integer({
    description: 'highest change number of the conversation (0 when nothing was changed)',
  }),
  readSeq: Type.Integer({ description: 'highest seq I have read' }),
  adminId: Type.String({
    description:
      'the member who may add and remove others: the creator, or whom the group passed to when its admin left',
  }),
  unread: Type.Integer({ description: 'messages from others after readSeq' }),
  createdAt: Time,
});
export type ConversationInfo = Static<typeof ConversationInfo>;

/** `POST /api/auth/register` and `/login` body. */
export const Credentials = Type.Object(
  {
    username: Type.String({ maxLength: 64, description: 'a string of at most 64 characters' }),
    password: Type.String({ maxLength: 1024, description: 'a string of at most 1024 characters' }),
  },
  { additionalProperties: false },
);
export type Credentials = Static<typeof Credentials>;

/** `POST /api/auth/register` and `/login` response; also `GET /api/auth/me`. */
export const SessionInfo = Type.Object({
  user: UserInfo,
  token: Type.String({
    description:
      'bearer token for scripts (Authorization: Bearer <token>); also set as an httpOnly cookie',
  }),
  csrfToken: Type.String({ description: 'send as X-CSRF-Token on cookie-authenticated mutations' }),
  expiresAt: Time,
});
export type SessionInfo = Static<typeof SessionInfo>;

/** `POST /api/conversations` body: usernames of the other members (me included or not). */
export const CreateConversation = Type.Object(
  {
    members: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      minItems: 1,
      maxItems: MAX_GROUP_MEMBERS,
      description: `a list of 1–${MAX_GROUP_MEMBERS} usernames`,
    }),
    title: Type.Optional(
      Type.String({
        maxLength: MAX_TITLE_LENGTH,
        description: `a string of at most ${MAX_TITLE_LENGTH} characters`,
      }),
    ),
    kind: Type.Optional(ConversationKind),
  },
  { additionalProperties: false },
);
export type CreateConversation = Static<typeof CreateConversation>;

/** The fields of a message to send, shared by REST `POST …/messages` and WebSocket `send`. */
export const sendFields = {
  clientId: Type.String({
    minLength: 1,
    maxLength: CLIENT_ID_MAX,
    description: `a string of 1–${CLIENT_ID_MAX} characters`,
  }),
  kind: MessageKind,
  text: Type.Optional(
    Type.String({
      maxLength: MAX_TEXT_LENGTH,
      description: `a string of at most ${MAX_TEXT_LENGTH} characters`,
    }),
  ),
  mediaId: Type.Optional(Id('media')),
  /** Send a sticker from my library (instead of `mediaId`). */
  stickerId: Type.Optional(Id('sticker')),
  source: Type.Optional(MessageSource),
  /** Id of a message of the same conversation this one answers. */
  replyTo: Type.Optional(Id('message')),
};

/** `POST /api/conversations/:id/messages` body (the REST twin of the WebSocket `send`). */
export const SendMessage = Type.Object(sendFields, { additionalProperties: false });
export type SendMessage = Static<typeof SendMessage>;

/** `POST /api/conversations/:id/messages` response. */
export const SendResult = Type.Object({
  message: Message,
  duplicate: Type.Boolean({
    description: 'true when this clientId had been sent before: message is the earlier one',
  }),
});
export type SendResult = Static<typeof SendResult>;

/** `GET /api/conversations/:id/messages?before=|around=|after=&limit=` response: ascending by seq. */
export const MessagePage = Type.Object({
  messages: Type.Array(Message),
  before: Nullable(
    Type.Integer({
      description: 'pass as before for the previous page; null when this is the first page',
    }),
  ),
  after: Type.Optional(
    Nullable(
      Type.Integer({
        description:
          'pass as after for the next newer page; null when this page reaches the newest message',
      }),
    ),
  ),
});
export type MessagePage = Static<typeof MessagePage>;

/** `PATCH /api/messages/:id` body: the new text of a text message I sent. */
export const EditMessage = Type.Object(
  {
    text: Type.String({
      maxLength: MAX_TEXT_LENGTH,
      description: `a non-empty string of at most ${MAX_TEXT_LENGTH} characters`,
    }),
  },
  { additionalProperties: false },
);
export type EditMessage = Static<typeof EditMessage>;

/** Answer of the edit, reaction and delete routes: the message as it now is. */
export const MessageResult = Type.Object({ message: Message });
export type MessageResult = Static<typeof MessageResult>;

/** An entry of my sticker library. */
export const StickerInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  tags: Type.Array(Type.String()),
  media: MediaInfo,
  createdAt: Time,
});
export type StickerInfo = Static<typeof StickerInfo>;

const StickerName = Type.String({
  maxLength: MAX_TITLE_LENGTH,
  description: `a string of at most ${MAX_TITLE_LENGTH} characters`,
});
const StickerTags = Type.Array(
  Type.String({ minLength: 1, maxLength: 40, description: 'a tag of 1–40 characters' }),
  {
    maxItems: 20,
    description: 'a list of at most 20 tags',
  },
);

/** `POST /api/stickers` body: a media I uploaded or received. */
export const SaveSticker = Type.Object(
  {
    mediaId: Id('media'),
    name: Type.Optional(StickerName),
    tags: Type.Optional(StickerTags),
  },
  { additionalProperties: false },
);
export type SaveSticker = Static<typeof SaveSticker>;

/** `PATCH /api/stickers/:id` body. */
export const UpdateSticker = Type.Object(
  {
    name: Type.Optional(StickerName),
    tags: Type.Optional(StickerTags),
  },
  { additionalProperties: false },
);
export type UpdateSticker = Static<typeof UpdateSticker>;

/** The `{error}` body of every refusal (see errors.ts for the codes). */
export const ErrorSchema = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'a code of the ERR_* catalogue' }),
    message: Type.String(),
    field: Type.Optional(Type.String()),
    retryAfter: Type.Optional(Type.Number()),
  }),
});

/** Path parameters `:id` of every `/api/…/:id` route. */
export const IdParams = Type.Object({ id: Id('resource') });
/** Path parameters of `/api/messages/:id/reactions/:emoji` (the emoji URL-encoded in the path). */
export const ReactionParams = Type.Object({
  id: Id('message'),
  emoji: Type.String({ minLength: 1, maxLength: MAX_EMOJI_LENGTH, description: 'one emoji' }),
});
/** Query of `GET /api/conversations/:id/messages`: at most one of before, around, after. */
export const HistoryQuery = Type.Object(
  {
    before: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,15}$', description: 'a seq (whole number)' }),
    ),
    around: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,15}$',
        description: 'a seq (whole number): the page centred on it (a search result, a quote)',
      }),
    ),
    after: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,15}$',
        description: 'a seq (whole number): the page of messages with a greater seq',
      }),
    ),
    limit: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,4}$', description: 'a whole number 1–200' }),
    ),
  },
  { additionalProperties: false },
);
/** `POST /api/conversations/:id/members` body: usernames to add to a group. */
export const AddMembers = Type.Object(
  {
    members: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      minItems: 1,
      maxItems: MAX_GROUP_MEMBERS,
      description: `a list of 1–${MAX_GROUP_MEMBERS} usernames`,
    }),
  },
  { additionalProperties: false },
);
export type AddMembers = Static<typeof AddMembers>;
/** Path parameters of `DELETE /api/conversations/:id/members/:username`. */
export const MemberParams = Type.Object({
  id: Id('conversation'),
  username: Type.String({ minLength: 1, maxLength: 64, description: 'a username' }),
});
/** `PATCH /api/conversations/:id` body: rename a group. */
export const RenameConversation = Type.Object(
  {
    title: Type.String({
      minLength: 1,
      maxLength: MAX_TITLE_LENGTH,
      description: `a string of 1–${MAX_TITLE_LENGTH} characters`,
    }),
  },
  { additionalProperties: false },
);
export type RenameConversation = Static<typeof RenameConversation>;

/** Longest search query, in characters. */
export const MAX_SEARCH_LENGTH = 200;
/** Most words a search query may hold. */
export const MAX_SEARCH_WORDS = 10;
/** Most messages one search answers (and the default). */
export const MAX_SEARCH_RESULTS = 50;
/** Query of `GET /api/search`. */
export const SearchQuery = Type.Object(
  {
    q: Type.String({
      minLength: 1,
      maxLength: MAX_SEARCH_LENGTH,
      description: `a string of 1–${MAX_SEARCH_LENGTH} characters`,
    }),
    conversationId: Type.Optional(Id('conversation')),
    limit: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,3}$',
        description: `a whole number 1–${MAX_SEARCH_RESULTS}`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type SearchQuery = Static<typeof SearchQuery>;
/** `GET /api/search` response: matching messages of my conversations, newest first. */
export const SearchResult = Type.Object({ messages: Type.Array(Message) });
export type SearchResult = Static<typeof SearchResult>;

/** `POST /api/conversations/:id/read` body. */
export const ReadBody = Type.Object(
  {
    seq: Type.Integer({ minimum: 0, description: 'a whole number ≥ 0' }),
  },
  { additionalProperties: false },
);
/** `PUT /api/settings/capture` body: checked field by field by the capture engine's own schema. */
export const AnyObject = Type.Object({}, { additionalProperties: true });
