/**
 * Live delivery between server nodes. Each node publishes what happened (a message was
 * stored, a read position moved) and delivers every event it receives — its own included —
 * to the sockets it holds. One node uses {@link LocalBus}; several share Redis.
 *
 * Events carry the recipients' user ids, so a node never needs a database round trip to
 * fan out.
 */
import type { StoredMessage } from '../store/types';
import type { SocketSlots } from '../im/slots';
import type { PresenceTracker } from '../im/presence';
import type { Member } from '../store/types';

export type BusEvent =
  | { type: 'message'; memberIds: string[]; message: StoredMessage }
  /** A stored message changed (reaction, edit, delete): `message` is the whole message as it now is. */
  | { type: 'update'; memberIds: string[]; message: StoredMessage }
  /** `userId` read up to `seq`: their own devices get the new position, the other `memberIds` a receipt. */
  | {
      type: 'read';
      userId: string;
      conversationId: string;
      seq: number;
      user?: Member;
      memberIds?: string[];
    }
  /** `user`'s devices hold `conversationId` up to `seq`: to the other `memberIds` (a delivery receipt). */
  | { type: 'delivered'; memberIds: string[]; conversationId: string; user: Member; seq: number }
  /** `user` is typing in `conversationId`: to the other members' sockets. */
  | { type: 'typing'; memberIds: string[]; conversationId: string; user: Member }
  /**
   * `user` played, paused or sought a shared video in `conversationId`: to the other members'
   * sockets (watch along).
   */
  | {
      type: 'watch';
      memberIds: string[];
      conversationId: string;
      user: Member;
      mediaId: string;
      video: string;
      action: 'play' | 'pause' | 'seek';
      at: number;
      playing: boolean;
      sentAt: number;
    }
  /** `user`'s first socket opened or last one closed (over the cluster): to their contacts. */
  | { type: 'presence'; memberIds: string[]; user: Member; online: boolean; lastSeen: number }
  /** The members of `conversationId` changed: every node forgets its cached member list. */
  | { type: 'members'; conversationId: string }
  | { type: 'conversation'; memberIds: string[]; conversationId: string }
  /** A session ended (logout): its sockets on every node are closed. */
  | { type: 'logout'; userId: string; tokenHash: string };

export type BusHandler = (event: BusEvent) => void;

export interface Bus {
  /** Sends an event to every subscriber on every node (this one included). Resolves once handed off. */
  publish(event: BusEvent): Promise<void>;
  /** Registers a handler; returns a function that removes it. */
  subscribe(handler: BusHandler): () => void;
  close(): Promise<void>;
  /**
   * Optional: registers a callback for when this node may have missed events from other
   * nodes (e.g. the link to Redis was down). The server then asks its clients to sync.
   */
  onResync?(handler: () => void): () => void;
  /**
   * Optional: a count of sockets per user shared by every node of this bus (Redis), so
   * the per-user cap holds over the cluster. Without it the server counts per node.
   * `ttlMs`: how long a crashed node's sockets go on counting.
   */
  socketSlots?(ttlMs: number): SocketSlots;
  /** Optional: presence shared by every node of this bus (Redis). Without it presence is this node's. */
  presence?(ttlMs: number): PresenceTracker;
}

/** In-process bus for a single node: publish calls every handler synchronously. */
export class LocalBus implements Bus {
  #handlers = new Set<BusHandler>();
  async publish(event: BusEvent): Promise<void> {
    for (const h of this.#handlers) h(event);
  }
  subscribe(handler: BusHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }
  async close(): Promise<void> {
    this.#handlers.clear();
  }
}
