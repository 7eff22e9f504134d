/**
 * The storage contract of the Clipchat server. Everything the server persists goes
 * through a {@link Store}: users, sessions, conversations and their members, messages,
 * read positions, media (metadata and bytes), sticker libraries and capture settings.
 *
 * Rules every implementation keeps (SQLite by default, PostgreSQL for scale-out):
 * - Every method is atomic: it either fully happens or not at all. No method leaves half
 *   of anything behind (e.g. a message without its seq, media bytes without metadata).
 * - When a method resolves, its writes are durable (committed). The server acks a message
 *   only after {@link Store.appendMessages} resolves.
 * - Ids are chosen by the caller (the server), so they are the same whatever the backend.
 * - Times are milliseconds since the Unix epoch.
 * - Conflicts are reported as values (`null`, `created: false`), never as thrown errors;
 *   a thrown error means the backend itself failed.
 */

/** A registered account. */
export interface User {
  id: string;
  /** Unique, case-insensitively (stored lower-case). */
  username: string;
  createdAt: number;
}

/** A user row with the password hash, for login only. */
export interface UserWithSecret extends User {
  /** Self-describing hash string (e.g. `scrypt$N$r$p$salt$hash`). */
  passwordHash: string;
}

/** A login session. The raw token is never stored, only its hash. */
export interface Session {
  /** sha256 of the bearer/cookie token, hex. */
  tokenHash: string;
  userId: string;
  /** Double-submit CSRF token handed to the browser with the cookie. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export type ConversationKind = 'direct' | 'group';

/** A conversation row. */
export interface Conversation {
  id: string;
  kind: ConversationKind;
  /** Group title; `null` for direct conversations. */
  title: string | null;
  createdBy: string;
  createdAt: number;
  /** Highest seq assigned so far (0 when empty). */
  lastSeq: number;
}

/** A member as shown to clients. */
export interface Member {
  id: string;
  username: string;
}

/** Where a still or sticker came from: a video name and a time (still) or range (sticker), seconds. */
export interface MessageSource {
  video: string;
  at?: number;
  from?: number;
  to?: number;
}

export type MessageKind = 'text' | 'still' | 'sticker';

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
}

/** A message to append. */
export interface NewMessage {
  /** Chosen by the server; ignored (the existing one is returned) when the clientId was seen. */
  id: string;
  conversationId: string;
  senderId: string;
  /** Echoed back in the result; not stored (usernames never change). */
  senderName: string;
  /** Client-chosen idempotency key, unique per (conversationId, senderId). */
  clientId: string;
  kind: MessageKind;
  text: string | null;
  /** Metadata of the attached media (must exist); `null` for text. */
  media: MediaMeta | null;
  source: MessageSource | null;
  createdAt: number;
}

/** A stored message. */
export interface StoredMessage {
  id: string;
  conversationId: string;
  /** Per-conversation sequence number, 1, 2, 3… without gaps. */
  seq: number;
  senderId: string;
  senderName: string;
  clientId: string;
  kind: MessageKind;
  text: string | null;
  media: MediaMeta | null;
  source: MessageSource | null;
  createdAt: number;
}

/** Result of appending one message. */
export interface AppendResult {
  message: StoredMessage;
  /** `false` when (conversationId, senderId, clientId) already existed: `message` is the earlier one. */
  created: boolean;
}

/** A conversation as listed for one user. */
export interface ConversationSummary extends Conversation {
  members: Member[];
  lastMessage: StoredMessage | null;
  /** Highest seq this user has read. */
  readSeq: number;
  /** Messages after `readSeq` sent by others. */
  unread: number;
}

/** An entry of a user's sticker library. */
export interface Sticker {
  id: string;
  userId: string;
  media: MediaMeta;
  name: string;
  tags: string[];
  createdAt: number;
}

/** The storage contract. See the module comment for the rules. */
export interface Store {
  /** Short name for logs and health (`sqlite`, `postgres`). */
  readonly kind: string;
  /** Creates or upgrades the schema; idempotent, safe to call at every start. */
  init(): Promise<void>;
  /** Cheap round trip for `/healthz`; throws when the backend is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;

  // Users
  /** Creates a user; `null` when the username is taken. */
  createUser(u: { id: string; username: string; passwordHash: string; createdAt: number }): Promise<User | null>;
  getUser(id: string): Promise<User | null>;
  findUserByName(username: string): Promise<UserWithSecret | null>;
  /** Users by name; unknown names are absent from the result. */
  findUsersByNames(usernames: string[]): Promise<User[]>;

  // Sessions
  createSession(s: Session): Promise<void>;
  /** The session, or `null` when unknown or expired at `now`. */
  getSession(tokenHash: string, now: number): Promise<Session | null>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Deletes every session expired at `now`; returns how many. */
  purgeExpiredSessions(now: number): Promise<number>;

  // Conversations
  /**
   * Creates a conversation with its members in one step. For `direct`, `directKey`
   * (the two user ids, sorted, joined by `:`) is unique: when it exists, the existing
   * conversation is returned with `created: false`.
   */
  createConversation(c: {
    id: string; kind: ConversationKind; title: string | null; createdBy: string; createdAt: number;
    memberIds: string[]; directKey: string | null;
  }): Promise<{ conversation: Conversation; created: boolean }>;
  getConversation(id: string): Promise<Conversation | null>;
  /** Member ids of a conversation (empty when it does not exist). */
  memberIds(conversationId: string): Promise<string[]>;
  members(conversationId: string): Promise<Member[]>;
  isMember(conversationId: string, userId: string): Promise<boolean>;
  /** The user's conversations, most recently active first. */
  listConversations(userId: string): Promise<ConversationSummary[]>;

  // Messages
  /**
   * Appends messages in one transaction (group commit), in order, assigning each new one
   * the next seq of its conversation. Results are in input order. A message whose
   * (conversationId, senderId, clientId) exists — in the store or earlier in the batch —
   * yields the existing message with `created: false`. Posting media into a conversation
   * grants its members read access to that media.
   */
  appendMessages(batch: NewMessage[]): Promise<AppendResult[]>;
  /** Messages with seq > `afterSeq`, ascending, at most `limit`. */
  messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
  /** The newest messages with seq < `beforeSeq` (all when null), returned ascending, at most `limit`. */
  messagesBefore(conversationId: string, beforeSeq: number | null, limit: number): Promise<StoredMessage[]>;
  /** Raises the user's read position to `seq` (never lowers it); returns the new position. */
  markRead(userId: string, conversationId: string, seq: number): Promise<number>;

  // Media
  /**
   * Stores media content-addressed (meta.id = sha256 of `bytes`), once: an existing id
   * keeps its bytes. Records `uploaderId` as an uploader. Returns the stored metadata.
   */
  putMedia(meta: MediaMeta, bytes: Buffer, uploaderId: string): Promise<MediaMeta>;
  getMedia(id: string): Promise<MediaMeta | null>;
  readMedia(id: string): Promise<Buffer | null>;
  /** True when the user uploaded it, is a member of a conversation it was posted in, or has it in their library. */
  canReadMedia(userId: string, mediaId: string): Promise<boolean>;

  // Sticker library
  addSticker(s: { id: string; userId: string; mediaId: string; name: string; tags: string[]; createdAt: number }): Promise<Sticker>;
  /** Newest first. */
  listStickers(userId: string): Promise<Sticker[]>;
  getSticker(userId: string, id: string): Promise<Sticker | null>;
  /** Renames/retags; `null` when not the user's. */
  updateSticker(userId: string, id: string, patch: { name?: string; tags?: string[] }): Promise<Sticker | null>;
  /** `false` when not the user's. */
  deleteSticker(userId: string, id: string): Promise<boolean>;

  // Capture settings (validated by the server; stored as JSON)
  getCaptureSettings(userId: string): Promise<unknown | null>;
  putCaptureSettings(userId: string, settings: unknown): Promise<void>;
}
