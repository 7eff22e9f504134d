/**
 * Push-back past capacity. A node that takes more messages than it can write and fan out
 * does not fail at once: the surplus waits — in the writer's queue, or unread in socket
 * buffers while the event loop is behind — and every message's latency grows with the
 * backlog until nothing arrives in time. The guard refuses new sends instead, cheaply and
 * at once, with `ERR_UNAVAILABLE` and `retryAfter`, while either sign of a backlog shows:
 *
 * - the event loop is late: a 20 ms timer fired more than `maxLagMs` late in the last
 *   half second (the node cannot keep up with what it reads);
 * - the oldest message waiting to be written has waited more than `maxQueuedMs` (the
 *   database cannot keep up).
 *
 * A refused send costs a fraction of an accepted one (no write, no fan-out), so the node
 * catches up, and what it accepted is still acked and delivered within bounded time.
 */
import { ApiError } from '../errors';
import type { OverloadLimits } from '../config';
import type { MessageWriter } from './writer';

const TICK_MS = 20;
/** Lag samples considered: those of the last half second. */
const WINDOW_MS = 500;
/** Room for the samples of one window (ticks come at most every TICK_MS). */
const SLOTS = WINDOW_MS / TICK_MS + 1;

export class OverloadGuard {
  readonly #lags = new Float64Array(SLOTS);
  /** When each sample was taken (performance.now()). */
  readonly #times = new Float64Array(SLOTS).fill(-Infinity);
  #at = 0;
  #last = performance.now();
  readonly #timer: NodeJS.Timeout | undefined;
  /** Sends refused so far, for metrics and tests. */
  refused = 0;

  constructor(
    readonly limits: OverloadLimits,
    private readonly writer: MessageWriter,
  ) {
    if (limits.maxLagMs > 0) {
      this.#timer = setInterval(() => {
        const now = performance.now();
        const slot = this.#at++ % SLOTS;
        this.#lags[slot] = Math.max(0, now - this.#last - TICK_MS);
        this.#times[slot] = now;
        this.#last = now;
      }, TICK_MS);
      this.#timer.unref();
    }
  }

  /** The event loop's worst lateness in the last half second, ms. */
  get lagMs(): number {
    // The tick now overdue counts too: a loop stuck for a second has no fresh sample yet.
    const now = performance.now();
    let worst = Math.max(0, now - this.#last - TICK_MS);
    for (let i = 0; i < SLOTS; i++)
      if (now - this.#times[i]! <= WINDOW_MS && this.#lags[i]! > worst) worst = this.#lags[i]!;
    return worst;
  }

  /** The reason to refuse a send now, or null when the node keeps up. */
  check(): ApiError | null {
    const { maxLagMs, maxQueuedMs, retryAfterSec } = this.limits;
    let why: string | null = null;
    const queued = this.writer.oldestWaitMs();
    if (maxQueuedMs > 0 && queued > maxQueuedMs)
      why = `messages have waited ${Math.round(queued)} ms to be written (at most ${maxQueuedMs} ms)`;
    else if (maxLagMs > 0) {
      const lag = this.lagMs;
      if (lag > maxLagMs)
        why = `it is ${Math.round(lag)} ms behind its work (at most ${maxLagMs} ms)`;
    }
    if (!why) return null;
    this.refused++;
    return new ApiError(
      'ERR_UNAVAILABLE',
      `this server is overloaded: ${why}; send again in ${retryAfterSec} s`,
      undefined,
      retryAfterSec,
    );
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
