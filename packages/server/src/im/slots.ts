/**
 * Socket slots: how many WebSockets each user holds, so one account cannot open sockets
 * without end. A slot is taken before the upgrade and given back when the TCP connection
 * closes. One node counts in memory ({@link LocalSocketSlots}); a cluster counts in Redis
 * (`bus/redis-slots.ts`), where a crashed node's slots expire by heartbeat.
 */

/** Counts live sockets per user against a cap. */
export interface SocketSlots {
  /**
   * Takes a slot for `socketId` (unique per socket) of `userId` when the user holds fewer
   * than `max`; resolves false when the user is at the cap. Never rejects.
   */
  acquire(userId: string, socketId: string, max: number): Promise<boolean>;
  /** Gives a slot back. Idempotent. */
  release(userId: string, socketId: string): void;
  /** Slots held through this object, by user (for tests and health). */
  held(userId: string): number;
  /** Stops heartbeats (the shared count forgets this node's slots after their expiry). */
  close(): void;
}

/** Slots of one node, in memory. Also the fallback of the Redis count while Redis is away. */
export class LocalSocketSlots implements SocketSlots {
  readonly #byUser = new Map<string, Set<string>>();

  async acquire(userId: string, socketId: string, max: number): Promise<boolean> {
    return this.tryAcquire(userId, socketId, max);
  }

  /** Synchronous {@link acquire}. */
  tryAcquire(userId: string, socketId: string, max: number): boolean {
    let set = this.#byUser.get(userId);
    if (set?.has(socketId)) return true;
    if ((set?.size ?? 0) >= max) return false;
    if (!set) {
      set = new Set();
      this.#byUser.set(userId, set);
    }
    set.add(socketId);
    return true;
  }

  release(userId: string, socketId: string): void {
    const set = this.#byUser.get(userId);
    if (!set) return;
    set.delete(socketId);
    if (!set.size) this.#byUser.delete(userId);
  }

  held(userId: string): number {
    return this.#byUser.get(userId)?.size ?? 0;
  }

  /** Every held slot, by user (the Redis count refreshes these). */
  entries(): IterableIterator<[string, Set<string>]> {
    return this.#byUser.entries();
  }

  close(): void {
    this.#byUser.clear();
  }
}
