/**
 * Presence: whether a user has at least one WebSocket open, on any node. A user's several
 * devices count as one: contacts hear `online` when the first socket connects and
 * `offline` when the last one closes. One node counts in memory ({@link LocalPresence});
 * a cluster counts in Redis (`bus/redis-presence.ts`), where a crashed node's sockets stop
 * counting after their heartbeat expires.
 */
import type { Bus } from '../bus/types';
import type { Store, User } from '../store/types';

/** Counts each user's open sockets, over every node when shared. */
export interface PresenceTracker {
  /** A socket of `userId` opened; resolves true when the user had none open before (anywhere). Never rejects. */
  up(userId: string, socketId: string): Promise<boolean>;
  /** A socket closed; resolves true when it was the user's last one (anywhere). Idempotent; never rejects. */
  down(userId: string, socketId: string): Promise<boolean>;
  /** Which of `userIds` have a socket open now. Never rejects. */
  online(userIds: string[]): Promise<Set<string>>;
  /** Stops heartbeats. */
  close(): void;
}

/** Presence of one node, in memory; also the fallback of the Redis count while Redis is away. */
export class LocalPresence implements PresenceTracker {
  readonly #byUser = new Map<string, Set<string>>();

  upSync(userId: string, socketId: string): boolean {
    let set = this.#byUser.get(userId);
    const first = !set?.size;
    if (!set) {
      set = new Set();
      this.#byUser.set(userId, set);
    }
    set.add(socketId);
    return first;
  }

  downSync(userId: string, socketId: string): boolean {
    const set = this.#byUser.get(userId);
    if (!set?.delete(socketId)) return false;
    if (set.size) return false;
    this.#byUser.delete(userId);
    return true;
  }

  async up(userId: string, socketId: string): Promise<boolean> {
    return this.upSync(userId, socketId);
  }
  async down(userId: string, socketId: string): Promise<boolean> {
    return this.downSync(userId, socketId);
  }
  async online(userIds: string[]): Promise<Set<string>> {
    return new Set(userIds.filter((u) => this.#byUser.has(u)));
  }

  /** Every socket this node holds, by user (the Redis count refreshes these). */
  entries(): IterableIterator<[string, Set<string>]> {
    return this.#byUser.entries();
  }

  close(): void {
    this.#byUser.clear();
  }
}

/**
 * Turns sockets opening and closing into `presence` events for the user's contacts, and
 * records `lastSeen` (at connect and at the last disconnect) in the store.
 */
export class PresenceService {
  /** Transitions announced (online and offline), for tests and health. */
  announced = 0;
  // Each user's transitions run one after the other, so an online never overtakes the offline before it.
  readonly #chains = new Map<string, Promise<void>>();

  constructor(
    readonly tracker: PresenceTracker,
    readonly store: Store,
    readonly bus: Bus,
    readonly log?: { warn(o: object, m?: string): void },
  ) {}

  connected(user: User, socketId: string): void {
    this.#queue(user.id, async () => {
      if (await this.tracker.up(user.id, socketId)) await this.#announce(user, true);
    });
  }

  disconnected(user: User, socketId: string): void {
    this.#queue(user.id, async () => {
      if (await this.tracker.down(user.id, socketId)) await this.#announce(user, false);
    });
  }

  /** Resolves once every transition queued so far was announced (for shutdown and tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.#chains.values()]);
  }

  #queue(userId: string, fn: () => Promise<void>): void {
    const next = (this.#chains.get(userId) ?? Promise.resolve()).then(fn).catch((err: unknown) => {
      this.log?.warn({ err: String(err) }, 'presence update failed');
    });
    this.#chains.set(userId, next);
    void next.then(() => {
      if (this.#chains.get(userId) === next) this.#chains.delete(userId);
    });
  }

  async #announce(user: User, online: boolean): Promise<void> {
    const now = Date.now();
    await this.store.setLastSeen(user.id, now);
    const contactIds = await this.store.contactIds(user.id);
    this.announced++;
    if (!contactIds.length) return;
    await this.bus.publish({
      type: 'presence',
      memberIds: contactIds,
      user: { id: user.id, username: user.username },
      online,
      lastSeen: now,
    });
  }
}
