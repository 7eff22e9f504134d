/**
 * REST shapes shared by the Clipchat server and web app. Times are milliseconds since the
 * Unix epoch; sizes are bytes; media times are seconds of player time.
 */

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

export type MessageKind = 'text' | 'still' | 'sticker';
export type ConversationKind = 'direct' | 'group';

/** A user as others see them. */
export interface UserInfo {
  id: string;
  username: string;
}

/** Where a still (`at`) or sticker (`from`, `to`) was captured from; seconds of player time. */
export interface MessageSource {
  video: string;
  at?: number;
  from?: number;
  to?: number;
}

/** Stored media, as returned by `POST /api/media`. `id` is the sha256 of the bytes. */
export interface MediaInfo {
  id: string;
  mime: string;
  width: number;
  height: number;
  /** 1 for a still; frame count of an animation. */
  frames: number;
  bytes: number;
  /** Where to fetch it: `/media/<id>`. */
  url: string;
}

/** A stored message. */
export interface Message {
  id: string;
  conversationId: string;
  /** Per-conversation sequence number: 1, 2, 3… without gaps. */
  seq: number;
  senderId: string;
  /** The sender's username. */
  sender: string;
  clientId: string;
  kind: MessageKind;
  /** Text as sent, for `text` (never HTML). `null` otherwise. */
  text: string | null;
  media: MediaInfo | null;
  source: MessageSource | null;
  createdAt: number;
}

/** A conversation as listed by `GET /api/conversations`. */
export interface ConversationInfo {
  id: string;
  kind: ConversationKind;
  title: string | null;
  members: UserInfo[];
  lastMessage: Message | null;
  lastSeq: number;
  /** Highest seq I have read. */
  readSeq: number;
  /** Messages from others after `readSeq`. */
  unread: number;
  createdAt: number;
}

/** `POST /api/auth/register` and `/login` body. */
export interface Credentials {
  username: string;
  password: string;
}

/** `POST /api/auth/register` and `/login` response; also `GET /api/auth/me`. */
export interface SessionInfo {
  user: UserInfo;
  /** Bearer token for scripts (`Authorization: Bearer <token>`); also set as an httpOnly cookie. */
  token: string;
  /** Send as `X-CSRF-Token` on cookie-authenticated mutations. */
  csrfToken: string;
  expiresAt: number;
}

/** `POST /api/conversations` body: usernames of the other members (me included or not). */
export interface CreateConversation {
  members: string[];
  /** Makes a group even with one other member; groups may carry a title. */
  title?: string;
  kind?: ConversationKind;
}

/** `POST /api/conversations/:id/messages` body (the REST twin of the WebSocket `send`). */
export interface SendMessage {
  clientId: string;
  kind: MessageKind;
  text?: string;
  mediaId?: string;
  /** Send a sticker from my library (instead of `mediaId`). */
  stickerId?: string;
  source?: MessageSource;
}

/** `POST /api/conversations/:id/messages` response. */
export interface SendResult {
  message: Message;
  /** True when this `clientId` had been sent before: `message` is the earlier one. */
  duplicate: boolean;
}

/** `GET /api/conversations/:id/messages?before=&limit=` response: ascending by seq. */
export interface MessagePage {
  messages: Message[];
  /** Pass as `before` for the previous page; `null` when this is the first page. */
  before: number | null;
}

/** An entry of my sticker library. */
export interface StickerInfo {
  id: string;
  name: string;
  tags: string[];
  media: MediaInfo;
  createdAt: number;
}

/** `POST /api/stickers` body: a media I uploaded or received. */
export interface SaveSticker {
  mediaId: string;
  name?: string;
  tags?: string[];
}

/** `PATCH /api/stickers/:id` body. */
export interface UpdateSticker {
  name?: string;
  tags?: string[];
}
