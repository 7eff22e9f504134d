/** In-memory token buckets, per node. Keys are `action:ip` or `action:userId`. */
import type { RateLimit } from '../config';
import { ApiError } from '../errors';

interface Bucket { tokens: number; at: number }

/** Rate limiter over named actions. `take` throws ERR_RATE_LIMITED with the seconds to wait. */
export class RateLimiter {
  #buckets = new Map<string, Bucket>();
  #sweep: NodeJS.Timeout;
  constructor(private readonly limits: Record<string, RateLimit> | false) {
    // Forget idle full buckets so memory stays bounded by active clients.
    this.#sweep = setInterval(() => this.#gc(), 60_000);
    this.#sweep.unref();
  }

  /** Returns seconds to wait (0 when allowed) and consumes a token when allowed. */
  check(action: string, key: string, now = Date.now()): number {
    if (!this.limits) return 0;
    const l = this.limits[action];
    if (!l) return 0;
    const rate = l.limit / l.windowMs;
    const k = `${action}:${key}`;
    let b = this.#buckets.get(k);
    if (!b) { b = { tokens: l.limit, at: now }; this.#buckets.set(k, b); }
    b.tokens = Math.min(l.limit, b.tokens + (now - b.at) * rate);
    b.at = now;
    if (b.tokens >= 1) { b.tokens -= 1; return 0; }
    return Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
  }

  /** Like {@link check}, throwing ApiError(ERR_RATE_LIMITED) when over the limit. */
  take(action: string, key: string): void {
    const wait = this.check(action, key);
    if (wait) throw new ApiError('ERR_RATE_LIMITED', `too many ${action} requests; retry in ${wait} s`, undefined, wait);
  }

  #gc(): void {
    const now = Date.now();
    for (const [k, b] of this.#buckets) if (now - b.at > 600_000) this.#buckets.delete(k);
  }

  close(): void {
    clearInterval(this.#sweep);
  }
}
