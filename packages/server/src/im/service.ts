/**
 * The messaging core shared by the WebSocket and REST: membership checks (cached member
 * lists), resolving media and library stickers, group-committed writes, then live fan-out.
 */
import { randomUUID } from 'node:crypto';
import type { MessageSource, SendMessage } from '@clipchat/protocol';
import type { Bus } from '../bus/types';
import type { AppendResult, MediaMeta, NewMessage, Store, User } from '../store/types';
import { ApiError } from '../errors';
import { MessageWriter } from './writer';

/** Members of a conversation change only at creation, so lists are cached (bounded). */
const MEMBER_CACHE_MAX = 50_000;

/** A checked message ready to write. */
export interface Prepared {
  msg: NewMessage;
  members: Set<string>;
}

export class ImService {
  readonly writer: MessageWriter;
  #members = new Map<string, Set<string>>();

  constructor(readonly store: Store, readonly bus: Bus, maxBatch?: number) {
    this.writer = new MessageWriter(store, maxBatch);
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
    if (!m.has(userId)) throw new ApiError('ERR_CONVERSATION_NOT_FOUND', `no conversation ${JSON.stringify(conversationId)} of yours`, 'conversationId');
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
      if (!s) throw new ApiError('ERR_STICKER_NOT_FOUND', `no sticker ${JSON.stringify(input.stickerId)} in your library`, 'stickerId');
      media = s.media;
    } else if (input.mediaId !== undefined) {
      media = await this.store.getMedia(input.mediaId);
      if (!media || !(await this.store.canReadMedia(user.id, media.id))) {
        throw new ApiError('ERR_MEDIA_NOT_FOUND', `no media ${JSON.stringify(input.mediaId)} you may send; upload it first`, 'mediaId');
      }
    }
    return {
      members,
      msg: {
        id: randomUUID(), conversationId, senderId: user.id, senderName: user.username, clientId: input.clientId,
        kind: input.kind, text: input.kind === 'text' ? input.text ?? '' : null, media,
        source: (input.source as MessageSource | undefined) ?? null, createdAt: Date.now(),
      },
    };
  }

  /**
   * Queues the write (synchronously, so call order is write order), then publishes the
   * message. A resend (same clientId) is published again too: a client resends when it
   * got no ack, which is when the node that stored it may have died before publishing,
   * and peers would otherwise see it only on their next sync. Receivers keep one copy
   * per seq.
   */
  async commit(p: Prepared): Promise<AppendResult> {
    const result = await this.writer.append(p.msg);
    await this.bus.publish({ type: 'message', memberIds: [...p.members], message: result.message });
    return result;
  }

  async markRead(userId: string, conversationId: string, seq: number): Promise<number> {
    await this.requireMember(conversationId, userId);
    const readSeq = await this.store.markRead(userId, conversationId, seq);
    await this.bus.publish({ type: 'read', userId, conversationId, seq: readSeq });
    return readSeq;
  }
}
