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
  /** Highest change number given to a change of one of its messages (0 when none). */
  lastRev: number;
}

/** A member as shown to clients. */
export interface Member {
  id: string;
  username: string;
}

export type {
  MessageSource,
  MessageKind,
  MediaMeta,
  VideoMeta,
  StoredMessage,
  NewMessage,
} from './message';

/** An inclusive byte range of a stored media object. */
export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}
import type { MediaMeta, StoredMessage, NewMessage } from './message';

/**
 * What a change sets on a message (see {@link Store.changeMessage}). Omitted fields keep
 * their value; `media: null` detaches the media (its bytes go when nothing else refers to them).
 */
export type MessagePatch = Partial<
  Pick<StoredMessage, 'text' | 'media' | 'source' | 'reactions' | 'editedAt' | 'deletedAt'>
>;

/** Result of appending one message. */
export interface AppendResult {
  message: StoredMessage;
  /** `false` when (conversationId, senderId, clientId) already existed: `message` is the earlier one. */
  created: boolean;
}

/** A member as listed with a conversation: when last connected and how far read. */
export interface MemberState extends Member {
  /** When the user last connected or disconnected, ms; `null` when never. */
  lastSeen: number | null;
  /** Highest seq this member has read in the conversation. */
  readSeq: number;
  /** Highest seq that reached a device of this member (never below `readSeq`). */
  deliveredSeq: number;
}

/** A conversation as listed for one user. */
export interface ConversationSummary extends Conversation {
  members: MemberState[];
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
  createUser(u: {
    id: string;
    username: string;
    passwordHash: string;
    createdAt: number;
  }): Promise<User | null>;
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
    id: string;
    kind: ConversationKind;
    title: string | null;
    createdBy: string;
    createdAt: number;
    memberIds: string[];
    directKey: string | null;
  }): Promise<{ conversation: Conversation; created: boolean }>;
  getConversation(id: string): Promise<Conversation | null>;
  /** Member ids of a conversation (empty when it does not exist). */
  memberIds(conversationId: string): Promise<string[]>;
  members(conversationId: string): Promise<Member[]>;
  isMember(conversationId: string, userId: string): Promise<boolean>;
  /** The user's conversations, most recently active first. */
  listConversations(userId: string): Promise<ConversationSummary[]>;
  /** Adds members to a conversation; resolves the ids that were not members before. */
  addMembers(conversationId: string, userIds: string[]): Promise<string[]>;
  /**
   * Removes a member. When they were the admin (`createdBy`), the admin passes to the
   * remaining member first by username, so a group always keeps one. Resolves false when
   * they were not a member.
   */
  removeMember(conversationId: string, userId: string): Promise<boolean>;
  /** Sets a conversation's title. */
  renameConversation(conversationId: string, title: string): Promise<void>;
  /** Ids of everyone sharing at least one conversation with the user (the user excluded). */
  contactIds(userId: string): Promise<string[]>;
  /** Records when the user was last connected (presence). */
  setLastSeen(userId: string, at: number): Promise<void>;

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
  messagesBefore(
    conversationId: string,
    beforeSeq: number | null,
    limit: number,
  ): Promise<StoredMessage[]>;
  /**
   * Full-text search over the messages of the user's conversations (one when
   * `conversationId` is given), newest first, at most `limit`: every word must occur in the
   * text or the source video name; the last word also as a prefix. `words` are already
   * lower-cased and folded (im/search.ts). Uses the store's full-text index.
   */
  searchMessages(
    userId: string,
    q: { words: string[]; conversationId?: string; limit: number },
  ): Promise<StoredMessage[]>;
  /**
   * Messages of my conversations (or of one) that show one of `mediaIds`, not deleted, newest
   * first: search by library name and tag.
   */
  messagesShowingMedia(
    userId: string,
    mediaIds: string[],
    q: { conversationId?: string; limit: number },
  ): Promise<StoredMessage[]>;
  /** The message with this id, or null. */
  getMessage(id: string): Promise<StoredMessage | null>;
  /**
   * Changes one message atomically under its conversation's lock: `change` gets the message
   * as stored and returns what to set, or null to leave it as it is (it may throw to refuse;
   * nothing is written then). A change takes the conversation's next change number as the
   * message's `rev`. Detaching media removes the conversation's access to it when no other
   * message there shows it, and the media itself when no message or sticker refers to it
   * (a video's poster with it, unless a message, a sticker or another video shows that).
   * Resolves null when there is no such message.
   */
  changeMessage(
    id: string,
    change: (m: StoredMessage) => MessagePatch | null,
  ): Promise<{ message: StoredMessage; changed: boolean } | null>;
  /** Messages with seq ≤ `uptoSeq` changed after change number `afterRev`, by rev ascending, at most `limit`. */
  changesAfter(
    conversationId: string,
    afterRev: number,
    uptoSeq: number,
    limit: number,
  ): Promise<StoredMessage[]>;
  /** Raises the user's read position to `seq` (never lowers it); returns the new position. */
  markRead(userId: string, conversationId: string, seq: number): Promise<number>;
  /**
   * Raises the user's delivered position to `seq` (capped at the conversation's last seq,
   * never lowered; a read raises it too). Returns the position and whether this call moved
   * it; null when the user is not a member.
   */
  markDelivered(
    userId: string,
    conversationId: string,
    seq: number,
  ): Promise<{ seq: number; moved: boolean } | null>;

  // Media
  /**
   * Stores media content-addressed (meta.id = sha256 of `bytes`), once: an existing id
   * keeps its bytes. Records `uploaderId` as an uploader. Returns the stored metadata.
   */
  putMedia(meta: MediaMeta, bytes: Buffer, uploaderId: string): Promise<MediaMeta>;
  /**
   * Stores a large media file content-addressed (meta.id = sha256 of the file), streaming it
   * from `path` (never whole in memory); as {@link putMedia} otherwise. The caller removes
   * `path` afterwards if it is still there (SQLite moves it into place).
   */
  putMediaFile(meta: MediaMeta, path: string, uploaderId: string): Promise<MediaMeta>;
  getMedia(id: string): Promise<MediaMeta | null>;
  /** The whole bytes, for small media (stills, stickers); use {@link openMedia} for videos. */
  readMedia(id: string): Promise<Buffer | null>;
  /** A stream of the bytes in `range` (inclusive; whole when absent), read in pieces; `null` when unknown. */
  openMedia(id: string, range?: ByteRange): Promise<NodeJS.ReadableStream | null>;
  /** Bytes of all media the user uploaded (each object once), for the storage quota. */
  uploadedBytes(userId: string): Promise<number>;
  /** True when the user uploaded it, is a member of a conversation it was posted in, or has it in their library. */
  canReadMedia(userId: string, mediaId: string): Promise<boolean>;

  // Sticker library
  addSticker(s: {
    id: string;
    userId: string;
    mediaId: string;
    name: string;
    tags: string[];
    createdAt: number;
  }): Promise<Sticker>;
  /** Newest first. */
  listStickers(userId: string): Promise<Sticker[]>;
  getSticker(userId: string, id: string): Promise<Sticker | null>;
  /** Renames/retags; `null` when not the user's. */
  updateSticker(
    userId: string,
    id: string,
    patch: { name?: string; tags?: string[] },
  ): Promise<Sticker | null>;
  /** `false` when not the user's. */
  deleteSticker(userId: string, id: string): Promise<boolean>;

  // Capture settings (validated by the server; stored as JSON; null when none are saved)
  getCaptureSettings(userId: string): Promise<unknown>;
  putCaptureSettings(userId: string, settings: unknown): Promise<void>;
}
