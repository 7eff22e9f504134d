/**
 * The messaging core shared by the WebSocket and REST: membership checks (cached member
 * lists), resolving media and library stickers, group-committed writes, then live fan-out.
 */
import { randomUUID } from 'node:crypto';
import { emojiProblem, MAX_REACTIONS, textProblem, type SendMessage } from '@clipchat/protocol';
import { buildMessage } from '../store/message';
import { TYPING_INTERVAL_MS } from '@clipchat/protocol';
import type { Bus } from '../bus/types';
import type {
  AppendResult,
  MediaMeta,
  MessagePatch,
  NewMessage,
  Store,
  StoredMessage,
  User,
} from '../store/types';
import {
  DEFAULT_MESSAGE_RULES,
  overloadLimits,
  type MessageRules,
  type OverloadLimits,
} from '../config';
import { ApiError } from '../errors';
import { MessageWriter } from './writer';
import { OverloadGuard } from './overload';

/**
 * Member lists are cached (bounded); a change of members is published on the bus
 * (`members`) and every node drops its copy.
 */
const MEMBER_CACHE_MAX = 50_000;
/** Most (user, conversation) typing throttles remembered before stale ones are swept. */
const TYPING_MAX = 100_000;

/** A checked message ready to write. */
export interface Prepared {
  msg: NewMessage;
  members: Set<string>;
}

export class ImService {
  readonly writer: MessageWriter;
  #members = new Map<string, Set<string>>();
  /** `userId conversationId` → when its last typing frame was relayed (this node). */
  #typing = new Map<string, number>();
  /** Typing frames dropped for coming within TYPING_INTERVAL_MS of the previous one. */
  typingDropped = 0;
  readonly #unsubscribe: () => void;

  readonly rules: MessageRules;
  /** Refuses sends while the node is behind (see im/overload.ts). */
  readonly overload: OverloadGuard;

  constructor(
    readonly store: Store,
    readonly bus: Bus,
    maxBatch?: number,
    rules: Partial<MessageRules> = {},
    overload: Partial<OverloadLimits> = {},
  ) {
    this.writer = new MessageWriter(store, maxBatch);
    this.overload = new OverloadGuard(overloadLimits(overload), this.writer);
    this.rules = { ...DEFAULT_MESSAGE_RULES, ...rules };
    this.#unsubscribe = bus.subscribe((e) => {
      if (e.type === 'members') this.#members.delete(e.conversationId);
    });
  }

  /** Stops listening to the bus. */
  close(): void {
    this.#unsubscribe();
    this.overload.stop();
  }

  /** Push-back past capacity: throws `ERR_UNAVAILABLE` with `retryAfter` while the node is behind. */
  admit(): void {
    const refused = this.overload.check();
    if (refused) throw refused;
  }

  /** Forgets the cached member list of a conversation on every node (after adding or removing members). */
  async membersChanged(conversationId: string): Promise<void> {
    this.#members.delete(conversationId);
    await this.bus.publish({ type: 'members', conversationId });
  }

  /** Member ids, or an empty set when the conversation does not exist. */
  async members(conversationId: string): Promise<Set<string>> {
    let m = this.#members.get(conversationId);
    if (!m) {
      m = new Set(await this.store.memberIds(conversationId));
      if (!m.size) return m;
      if (this.#members.size >= MEMBER_CACHE_MAX) this.#members.clear();
      this.#members.set(conversationId, m);
    }
    return m;
  }

  /** Throws ERR_CONVERSATION_NOT_FOUND unless the user is a member (the same for unknown ids). */
  async requireMember(conversationId: string, userId: string): Promise<Set<string>> {
    const m = await this.members(conversationId);
    if (!m.has(userId))
      throw new ApiError(
        'ERR_CONVERSATION_NOT_FOUND',
        `no conversation ${JSON.stringify(conversationId)} of yours`,
        'conversationId',
      );
    return m;
  }

  /**
   * Sends a message (already shape-checked) as `user`. Resolves after the durable write;
   * a resent clientId resolves with the earlier message and `created: false`.
   */
  async send(user: User, conversationId: string, input: SendMessage): Promise<AppendResult> {
    return this.commit(await this.prepare(user, conversationId, input));
  }

  /**
   * Checks membership and resolves media/sticker: everything before the write. Callers that
   * must keep a socket's order call {@link commit} in the order prepares resolve.
   */
  async prepare(user: User, conversationId: string, input: SendMessage): Promise<Prepared> {
    const members = await this.requireMember(conversationId, user.id);
    let media: MediaMeta | null = null;
    if (input.stickerId !== undefined) {
      const s = await this.store.getSticker(user.id, input.stickerId);
      if (!s)
        throw new ApiError(
          'ERR_STICKER_NOT_FOUND',
          `no sticker ${JSON.stringify(input.stickerId)} in your library`,
          'stickerId',
        );
      media = s.media;
    } else if (input.mediaId !== undefined) {
      media = await this.store.getMedia(input.mediaId);
      if (!media || !(await this.store.canReadMedia(user.id, media.id))) {
        throw new ApiError(
          'ERR_MEDIA_NOT_FOUND',
          `no media ${JSON.stringify(input.mediaId)} you may send; upload it first`,
          'mediaId',
        );
      }
    }
    // A video message carries a checked video (POST /api/media {uploadId}); other kinds never do.
    if (input.kind === 'video' && !media?.video) {
      throw new ApiError(
        'ERR_VALIDATION',
        'a video message needs mediaId of a video stored by POST /api/media {uploadId}',
        'mediaId',
      );
    }
    if (input.kind !== 'video' && media?.video) {
      throw new ApiError(
        'ERR_VALIDATION',
        `a shared video is sent with kind "video", not ${JSON.stringify(input.kind)}`,
        'kind',
      );
    }
    // A capture's source may point at a shared video: only one this sender may see.
    const sourceMedia = input.source?.mediaId;
    if (sourceMedia !== undefined) {
      const v = await this.store.getMedia(sourceMedia);
      if (!v?.video || !(await this.store.canReadMedia(user.id, sourceMedia))) {
        throw new ApiError(
          'ERR_MEDIA_NOT_FOUND',
          `source.mediaId ${JSON.stringify(sourceMedia)} is no shared video you may see`,
          'source.mediaId',
        );
      }
    }
    if (input.replyTo !== undefined) {
      const to = await this.store.getMessage(input.replyTo);
      if (!to || to.conversationId !== conversationId) {
        throw new ApiError(
          'ERR_MESSAGE_NOT_FOUND',
          `replyTo ${JSON.stringify(input.replyTo)} is no message of this conversation`,
          'replyTo',
        );
      }
    }
    return {
      members,
      msg: buildMessage({ conversationId, sender: user, input, media, now: Date.now() }),
    };
  }

  /**
   * Queues the write (synchronously, so call order is write order), then publishes the
   * message. A resend (same clientId) is published again too: a client resends when it
   * got no ack, which is when the node that stored it may have died before publishing,
   * and peers would otherwise see it only on their next sync. Receivers keep one copy
   * per seq.
   */
  /**
   * Writes a `system` message by `actor` (members added/removed, left, renamed) and
   * delivers it to the conversation's members as they now are.
   */
  async system(actor: User, conversationId: string, text: string): Promise<AppendResult> {
    const members = await this.members(conversationId);
    const msg: NewMessage = {
      id: randomUUID(),
      conversationId,
      senderId: actor.id,
      senderName: actor.username,
      clientId: `system:${randomUUID()}`,
      kind: 'system',
      text,
      media: null,
      source: null,
      replyTo: null,
      reactions: [],
      editedAt: null,
      deletedAt: null,
      rev: 0,
      createdAt: Date.now(),
    };
    return this.commit({ msg, members });
  }

  async commit(p: Prepared): Promise<AppendResult> {
    const result = await this.writer.append(p.msg);
    await this.bus.publish({ type: 'message', memberIds: [...p.members], message: result.message });
    return result;
  }

  /** Raises my read position; my devices get it and the other members a receipt. */
  async markRead(user: User, conversationId: string, seq: number): Promise<number> {
    const members = await this.requireMember(conversationId, user.id);
    const readSeq = await this.store.markRead(user.id, conversationId, seq);
    await this.bus.publish({
      type: 'read',
      userId: user.id,
      conversationId,
      seq: readSeq,
      user: { id: user.id, username: user.username },
      memberIds: [...members],
    });
    return readSeq;
  }

  /**
   * Raises my delivered position (messages up to `seq` reached a device of mine); when it
   * moved, the other members get a delivery receipt. Returns the position.
   */
  async markDelivered(user: User, conversationId: string, seq: number): Promise<number> {
    const members = await this.requireMember(conversationId, user.id);
    const r = await this.store.markDelivered(user.id, conversationId, seq);
    if (!r)
      throw new ApiError(
        'ERR_CONVERSATION_NOT_FOUND',
        `no conversation ${JSON.stringify(conversationId)} of yours`,
        'conversationId',
      );
    if (r.moved) {
      await this.bus.publish({
        type: 'delivered',
        memberIds: [...members],
        conversationId,
        user: { id: user.id, username: user.username },
        seq: r.seq,
      });
    }
    return r.seq;
  }

  /**
   * Relays "`user` is typing" to the other members, at most once per
   * {@link TYPING_INTERVAL_MS} per user and conversation (more are dropped: returns false).
   * Throws ERR_CONVERSATION_NOT_FOUND for a conversation that is not the user's.
   */
  async typing(user: User, conversationId: string, now = Date.now()): Promise<boolean> {
    const key = `${user.id} ${conversationId}`;
    const last = this.#typing.get(key);
    if (last !== undefined && now - last < TYPING_INTERVAL_MS) {
      this.typingDropped++;
      return false;
    }
    const members = await this.requireMember(conversationId, user.id);
    if (this.#typing.size >= TYPING_MAX) {
      for (const [k, t] of this.#typing) if (now - t >= TYPING_INTERVAL_MS) this.#typing.delete(k);
      if (this.#typing.size >= TYPING_MAX) this.#typing.clear();
    }
    this.#typing.set(key, now);
    await this.bus.publish({
      type: 'typing',
      memberIds: [...members],
      conversationId,
      user: { id: user.id, username: user.username },
    });
    return true;
  }

  /**
   * Changes a message of one of the user's conversations: `decide` gets it as stored (under
   * the store's lock) and returns what to set, null for nothing, or throws to refuse. A
   * change reaches every member's sockets as one `update`. A message the user may not see
   * is ERR_MESSAGE_NOT_FOUND, whether it exists or not.
   */
  async change(
    user: User,
    messageId: string,
    decide: (m: StoredMessage) => MessagePatch | null,
  ): Promise<StoredMessage> {
    const notFound = () =>
      new ApiError(
        'ERR_MESSAGE_NOT_FOUND',
        `no message ${JSON.stringify(messageId)} in a conversation of yours`,
        'id',
      );
    const found = await this.store.getMessage(messageId);
    if (!found) throw notFound();
    const members = await this.members(found.conversationId);
    if (!members.has(user.id)) throw notFound();
    const r = await this.store.changeMessage(messageId, decide);
    if (!r) throw notFound();
    if (r.changed)
      await this.bus.publish({ type: 'update', memberIds: [...members], message: r.message });
    return r.message;
  }

  /** Adds (`on`) or removes my reaction `emoji`; idempotent both ways. */
  react(user: User, messageId: string, emoji: string, on: boolean): Promise<StoredMessage> {
    const bad = emojiProblem(emoji);
    if (bad) return Promise.reject(new ApiError('ERR_VALIDATION', bad.message, bad.field));
    return this.change(user, messageId, (m) => {
      if (m.deletedAt !== null)
        throw new ApiError(
          'ERR_NOT_EDITABLE',
          'the message was deleted; it takes no reactions',
          'id',
        );
      const at = m.reactions.findIndex((r) => r.emoji === emoji);
      const mine = at >= 0 && m.reactions[at]!.users.includes(user.username);
      if (on === mine) return null;
      if (on) {
        if (at < 0 && m.reactions.length >= MAX_REACTIONS) {
          throw new ApiError(
            'ERR_TOO_MANY_REACTIONS',
            `the message already carries ${MAX_REACTIONS} distinct emoji, the most allowed; react with one of those`,
            'emoji',
          );
        }
        const reactions =
          at < 0
            ? [...m.reactions, { emoji, users: [user.username] }]
            : m.reactions.map((r, i) =>
                i === at ? { emoji, users: [...r.users, user.username] } : r,
              );
        return { reactions };
      }
      const reactions = m.reactions
        .map((r, i) =>
          i === at ? { emoji, users: r.users.filter((u) => u !== user.username) } : r,
        )
        .filter((r) => r.users.length > 0);
      return { reactions };
    });
  }

  /** Replaces the text of a text message I sent, within the edit window. */
  edit(user: User, messageId: string, text: string): Promise<StoredMessage> {
    const bad = textProblem(text);
    if (bad) return Promise.reject(new ApiError('ERR_VALIDATION', bad.message, bad.field));
    const now = Date.now();
    return this.change(user, messageId, (m) => {
      if (m.senderId !== user.id)
        throw new ApiError('ERR_FORBIDDEN', 'only the sender may edit a message', 'id');
      if (m.deletedAt !== null)
        throw new ApiError('ERR_NOT_EDITABLE', 'the message was deleted', 'id');
      if (m.kind !== 'text')
        throw new ApiError(
          'ERR_NOT_EDITABLE',
          `only text messages can be edited; this one is a ${m.kind}`,
          'id',
        );
      const window = this.rules.editWindowMs;
      if (now - m.createdAt > window) {
        throw new ApiError(
          'ERR_NOT_EDITABLE',
          `messages can be edited for ${formatWindow(window)} after sending; this one was sent ${formatWindow(now - m.createdAt)} ago`,
          'id',
        );
      }
      return m.text === text ? null : { text, editedAt: now };
    });
  }

  /** Deletes a message I sent for everyone: it stays in order as a tombstone. Idempotent. */
  remove(user: User, messageId: string): Promise<StoredMessage> {
    const now = Date.now();
    return this.change(user, messageId, (m) => {
      if (m.senderId !== user.id)
        throw new ApiError('ERR_FORBIDDEN', 'only the sender may delete a message', 'id');
      if (m.deletedAt !== null) return null;
      return { text: null, media: null, source: null, reactions: [], deletedAt: now };
    });
  }
}

/** A duration for people: "48 h", "15 min", "30 s". */
function formatWindow(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 360_000) / 10} h`;
  if (ms >= 60_000) return `${Math.round(ms / 6_000) / 10} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
