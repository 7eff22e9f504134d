/**
 * Where rate-limit counters and login backoffs live. {@link MemoryLimitStore} keeps them in
 * this process (one node); `RedisLimitStore` (limit-redis.ts) shares them between nodes.
 * Both implement the same two algorithms, so a limit means the same on either.
 */
import type { LoginBackoff, RateLimit } from '../config';

/**
 * Counters behind {@link RateLimiter}. Keys are opaque (`action:id`); every method answers
 * the milliseconds to wait, 0 meaning "go ahead, and it was counted".
 */
export interface LimitStore {
  /**
   * Takes one from the token bucket `key` (GCRA): at most `limit.limit` at once, refilled
   * evenly over `limit.windowMs`. Resolves 0 when allowed (and counted), else the ms until
   * one is available (nothing is counted).
   */
  take(key: string, limit: RateLimit): Promise<number>;
  /**
   * Counts an attempt against backoff `key` unless it is backing off. Resolves 0 when the
   * attempt may go ahead (it is counted as a failure until {@link reset}), else the ms to
   * wait. Counting before the outcome is known keeps concurrent attempts from slipping
   * past the check all at once.
   */
  attempt(key: string, backoff: LoginBackoff): Promise<number>;
  /** Forgets backoff `key` (the attempt succeeded). */
  reset(key: string): Promise<void>;
  /** Where to report trouble (the server hands over its logger); optional. */
  useLog?(log: {
    warn(obj: object, msg?: string): void;
    info(obj: object, msg?: string): void;
  }): void;
  close(): Promise<void>;
}

/** Most keys kept in memory; beyond it the least recently created are forgotten. */
const MAX_KEYS = 200_000;

/** Delay before the attempt after the `n`-th counted one (0 while under the free failures). */
function backoffDelay(n: number, b: LoginBackoff): number {
  if (n < b.freeFailures) return 0;
  return Math.min(b.maxMs, b.baseMs * 2 ** Math.min(n - b.freeFailures, 40));
}

/**
 * The single-node {@link LimitStore}: maps in this process, swept every minute so memory
 * follows active clients, and capped at {@link MAX_KEYS} keys.
 */
export class MemoryLimitStore implements LimitStore {
  /** Bucket key → theoretical arrival time (ms) of GCRA, and when the entry may be dropped. */
  #tat = new Map<string, { tat: number; expires: number }>();
  /** Backoff key → attempts counted and the time before which attempts are refused. */
  #backoff = new Map<string, { n: number; until: number; expires: number }>();
  #sweep: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.#sweep = setInterval(() => this.#gc(), 60_000);
    this.#sweep.unref();
  }

  /** Synchronous {@link LimitStore.take} (the Redis store falls back on it). */
  takeNow(key: string, limit: RateLimit): number {
    const now = this.now();
    const interval = limit.windowMs / limit.limit;
    const tat = Math.max(this.#tat.get(key)?.tat ?? now, now);
    const next = tat + interval;
    // Allowed while the bucket holds one: the schedule is at most a window ahead of now.
    const wait = next - limit.windowMs - now;
    if (wait > 0) return Math.ceil(wait);
    this.#tat.delete(key); // re-insert: Map order is then the order of last use
    this.#tat.set(key, { tat: next, expires: next });
    cap(this.#tat);
    return 0;
  }

  /** Synchronous {@link LimitStore.attempt}. */
  attemptNow(key: string, b: LoginBackoff): number {
    const now = this.now();
    const e = this.#backoff.get(key);
    if (e && e.expires > now && e.until > now) return e.until - now;
    const n = (e && e.expires > now ? e.n : 0) + 1;
    const until = now + backoffDelay(n, b);
    this.#backoff.delete(key);
    this.#backoff.set(key, { n, until, expires: until + b.forgetMs });
    cap(this.#backoff);
    return 0;
  }

  async take(key: string, limit: RateLimit): Promise<number> {
    return this.takeNow(key, limit);
  }
  async attempt(key: string, b: LoginBackoff): Promise<number> {
    return this.attemptNow(key, b);
  }
  async reset(key: string): Promise<void> {
    this.#backoff.delete(key);
  }

  #gc(): void {
    const now = this.now();
    for (const [k, v] of this.#tat) if (v.expires <= now) this.#tat.delete(k);
    for (const [k, v] of this.#backoff) if (v.expires <= now) this.#backoff.delete(k);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
  }
}

function cap(m: Map<string, unknown>): void {
  // Maps iterate in insertion order: the first key is the one touched longest ago.
  while (m.size > MAX_KEYS) m.delete(m.keys().next().value!);
}
