/**
 * Group commit: messages arriving in the same event-loop turn are written in one
 * transaction, and each caller's promise resolves only after that commit. With an async
 * store (PostgreSQL), messages arriving while a batch is in flight form the next batch.
 */
import { ApiError } from '../errors';
import type { AppendResult, NewMessage, Store } from '../store/types';

/** A foreign-key violation, SQLite's or PostgreSQL's (SQLSTATE 23503). */
const isForeignKey = (e: unknown) => {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503';
};

/**
 * A message whose media went between the send's check and its commit (the media's last
 * message deleted at that moment takes the bytes with it): the sender is told, not a 500.
 */
function explain(e: unknown, msg: NewMessage): unknown {
  if (msg.media && isForeignKey(e)) {
    return new ApiError(
      'ERR_MEDIA_NOT_FOUND',
      `the media ${msg.media.id} was deleted while the message was being sent; upload it again`,
      'mediaId',
    );
  }
  return e;
}

interface Pending {
  msg: NewMessage;
  /** When it was queued (performance.now()). */
  at: number;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

export class MessageWriter {
  #queue: Pending[] = [];
  #scheduled = false;
  #running = false;
  /** When the oldest message of the batch being written was queued, or NaN. */
  #writingSince = NaN;
  /** Committed batches and messages, for metrics. */
  batches = 0;
  written = 0;
  /** Duration of each commit, ms (the last 10 000), for benchmarks. */
  readonly commitMs: number[] = [];

  constructor(
    private readonly store: Store,
    private readonly maxBatch = 2000,
  ) {}

  /** Appends one message; resolves after its transaction committed. */
  append(msg: NewMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ msg, at: performance.now(), resolve, reject });
      this.#schedule();
    });
  }

  /** How long the oldest message not yet committed has waited, ms (0 when none waits). */
  oldestWaitMs(): number {
    const since = Math.min(
      Number.isNaN(this.#writingSince) ? Infinity : this.#writingSince,
      this.#queue[0]?.at ?? Infinity,
    );
    return since === Infinity ? 0 : performance.now() - since;
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, this.maxBatch);
        this.#writingSince = batch[0]!.at;
        await this.#write(batch);
      }
    } finally {
      this.#writingSince = NaN;
      this.#running = false;
      if (this.#queue.length) this.#schedule();
    }
  }

  async #write(batch: Pending[]): Promise<void> {
    try {
      const t0 = performance.now();
      const results = await this.store.appendMessages(batch.map((p) => p.msg));
      if (this.commitMs.length >= 10_000) this.commitMs.shift();
      this.commitMs.push(performance.now() - t0);
      this.batches++;
      this.written += batch.length;
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(explain(err, batch[0]!.msg));
        return;
      }
      // One bad message must not sink its neighbours: retry them one by one.
      for (const p of batch) {
        try {
          p.resolve((await this.store.appendMessages([p.msg]))[0]!);
        } catch (e) {
          p.reject(explain(e, p.msg));
        }
      }
    }
  }

  /** Resolves when everything queued so far is written. */
  async drain(): Promise<void> {
    while (this.#queue.length || this.#running) await new Promise((r) => setTimeout(r, 5));
  }
}
