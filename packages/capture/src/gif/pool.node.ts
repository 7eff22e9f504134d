/**
 * GIF tries on worker threads (Node). `GifWorkerPool` is a `StickerWriter` that runs each
 * `encode` on one of up to `concurrency` workers, so budget fitting can try two qualities
 * side by side on a two-core machine. The workers run this same module (the same
 * `encodeGif`), so the bytes are exactly `gifWriter`'s.
 *
 * A worker is started from the module's own file: the bundled CLI's single file, or this
 * TypeScript file through tsx's loader when running from sources. Frames go to the
 * workers once per frame set, copied into one SharedArrayBuffer.
 */
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { RgbaImage } from '../types';
import { CancelledError } from '../errors';
import type { CancelSignal, StickerEncodeOptions, StickerWriter } from '../writer';
import { OverBudgetError } from '../writer';
import { encodeGif, gifTuning, warmUpGif, type GifTuning } from './index';

const ROLE = 'clipchat-gif-worker';

/**
 * A frame set as the workers see it: every frame's RGBA back to back in shared memory.
 * Frames still being decoded are copied in as they come; `arrived` counts them.
 */
interface SharedFrames {
  key: number;
  width: number;
  height: number;
  count: number;
  buffer: SharedArrayBuffer;
}

type ToWorker =
  | { type: 'frames'; frames: SharedFrames; arrived: number }
  | { type: 'arrived'; key: number; arrived: number; failed?: string }
  | { type: 'drop'; key: number }
  | {
      type: 'encode';
      id: number;
      key: number;
      delaysMs: number[];
      quality: number;
      maxBytes?: number;
      tuning?: Partial<GifTuning>;
    }
  | { type: 'cancel'; id: number };

type FromWorker =
  | { type: 'done'; id: number; bytes: Uint8Array }
  | { type: 'over'; id: number; written: number; limit: number; done: number }
  | { type: 'cancelled'; id: number }
  | { type: 'failed'; id: number; message: string };

/** The worker side: keeps the frame sets it was given and encodes on request. */
function serveTries(port: NonNullable<typeof parentPort>): void {
  interface Held {
    frames: RgbaImage[];
    arrived: number;
    failed?: string;
    waiting: Array<{ k: number; resolve: () => void; reject: (e: Error) => void }>;
  }
  const sets = new Map<number, Held>();
  const cancels = new Map<number, { aborted: boolean }>();
  const wake = (h: Held): void => {
    h.waiting = h.waiting.filter((w) => {
      if (w.k < h.arrived) w.resolve();
      else if (h.failed !== undefined) w.reject(new Error(h.failed));
      else return true;
      return false;
    });
  };
  port.on('message', (m: ToWorker) => {
    if (m.type === 'frames') {
      const { width, height, count, buffer } = m.frames;
      const size = width * height * 4;
      const frames: RgbaImage[] = [];
      for (let k = 0; k < count; k++)
        frames.push({ width, height, data: new Uint8ClampedArray(buffer, k * size, size) });
      sets.set(m.frames.key, { frames, arrived: m.arrived, waiting: [] });
    } else if (m.type === 'arrived') {
      const h = sets.get(m.key);
      if (!h) return;
      h.arrived = Math.max(h.arrived, m.arrived);
      if (m.failed !== undefined) h.failed = m.failed;
      wake(h);
    } else if (m.type === 'drop') {
      sets.delete(m.key);
    } else if (m.type === 'cancel') {
      const c = cancels.get(m.id);
      if (c) c.aborted = true;
    } else {
      const held = sets.get(m.key);
      if (!held) {
        port.postMessage({
          type: 'failed',
          id: m.id,
          message: `no frame set ${m.key} in this worker`,
        } satisfies FromWorker);
        return;
      }
      const signal = { aborted: false };
      cancels.set(m.id, signal);
      let done = 0;
      const h = held;
      const frameReady =
        h.arrived < h.frames.length
          ? (k: number): Promise<void> =>
              k < h.arrived
                ? Promise.resolve()
                : h.failed !== undefined
                  ? Promise.reject(new Error(h.failed))
                  : new Promise<void>((resolve, reject) => h.waiting.push({ k, resolve, reject }))
          : undefined;
      encodeGif(h.frames, {
        ...m.tuning,
        frameReady,
        delaysMs: m.delaysMs,
        quality: m.quality,
        maxBytes: m.maxBytes,
        signal,
        onProgress: (f) => {
          done = f;
        },
      })
        .then(
          (r) =>
            port.postMessage({ type: 'done', id: m.id, bytes: r.bytes } satisfies FromWorker, [
              r.bytes.buffer as ArrayBuffer,
            ]),
          (e: unknown) => {
            const reply: FromWorker =
              e instanceof OverBudgetError
                ? { type: 'over', id: m.id, written: e.written, limit: e.limit, done }
                : e instanceof CancelledError
                  ? { type: 'cancelled', id: m.id }
                  : {
                      type: 'failed',
                      id: m.id,
                      message: e instanceof Error ? e.message : String(e),
                    };
            port.postMessage(reply);
          },
        )
        .finally(() => cancels.delete(m.id));
    }
  });
}

/**
 * Runs a pool worker's side. A pool's worker imports the module that started it (this
 * file, or a bundle holding it) and calls this; a bundle must export it. Does nothing
 * elsewhere.
 */
export function serveGifWorker(): void {
  if (!isMainThread && parentPort && (workerData as { role?: string } | null)?.role === ROLE) {
    serveTries(parentPort);
    void warmUpGif();
  }
}

interface Job {
  id: number;
  resolve: (b: Uint8Array) => void;
  reject: (e: unknown) => void;
  onProgress?: StickerEncodeOptions['onProgress'];
  dispose: () => void;
}

interface Slot {
  worker: Worker;
  /** Taken by a try (set the moment it is chosen, before its job is posted). */
  busy: boolean;
  job?: Job;
  /** Frame sets this worker holds. */
  has: Set<number>;
}

/**
 * Starts a worker running this module's `serveGifWorker`: from this TypeScript file
 * through tsx's loader, or from the bundle this code was built into (which exports it).
 */
function startWorker(): Worker {
  const self = import.meta.url;
  const loader = self.endsWith('.ts')
    ? `(await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})).register();`
    : '';
  const code = `${loader} await (await import(${JSON.stringify(self)})).serveGifWorker();`;
  return new Worker(code, { eval: true, workerData: { role: ROLE } });
}

/** See the module comment. */
export class GifWorkerPool implements StickerWriter {
  readonly format = 'gif' as const;
  readonly mime = 'image/gif';
  readonly maxFps = 50;
  /** Takes frames as they are decoded (`frameReady`). */
  readonly sequential = true;
  /** Tries that can run at once. */
  readonly concurrency: number;
  describe = gifTuning;

  private slots: Slot[] = [];
  private waiting: Array<() => void> = [];
  private sets = new WeakMap<readonly RgbaImage[], SharedFrames & { arrived: number }>();
  private keys: number[] = [];
  private nextId = 1;
  private nextKey = 1;
  private closed = false;

  constructor(concurrency = Math.min(2, availableParallelism())) {
    this.concurrency = Math.max(1, concurrency);
  }

  /** Starts the workers now (they take a moment to load), instead of on the first try. */
  warm(): this {
    while (!this.closed && this.slots.length < this.concurrency) {
      const slot: Slot = { worker: startWorker(), busy: false, has: new Set() };
      slot.worker.unref();
      slot.worker.on('message', (m: FromWorker) => this.settle(slot, m));
      slot.worker.on('error', (e) => this.fail(slot, e));
      slot.worker.on('exit', (code) =>
        this.fail(slot, new Error(`GIF worker stopped (exit code ${code})`)),
      );
      this.slots.push(slot);
    }
    return this;
  }

  /** Stops the workers; tries still running fail with `CancelledError`. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    for (const s of slots) s.job?.reject(new CancelledError());
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  async encode(
    frames: readonly RgbaImage[],
    delaysMs: readonly number[],
    options: StickerEncodeOptions,
  ): Promise<Uint8Array> {
    if (this.closed) throw new Error('the GIF worker pool is closed');
    if ((options.frameReady ? delaysMs.length : frames.length) === 0)
      throw new RangeError('encodeGif needs at least one frame');
    if (options.signal?.aborted) throw new CancelledError();
    this.warm();
    const shared = await this.share(frames, delaysMs.length, options.frameReady);
    const slot = await this.idle(options.signal);
    return new Promise<Uint8Array>((resolve, reject) => {
      const id = this.nextId++;
      const signal = options.signal as (CancelSignal & Partial<AbortSignal>) | undefined;
      const onAbort = (): void =>
        slot.worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
      signal?.addEventListener?.('abort', onAbort, { once: true });
      slot.job = {
        id,
        resolve,
        reject,
        onProgress: options.onProgress,
        dispose: () => signal?.removeEventListener?.('abort', onAbort),
      };
      slot.worker.ref();
      if (!slot.has.has(shared.key)) {
        const { key, width, height, count, buffer } = shared;
        slot.worker.postMessage({
          type: 'frames',
          frames: { key, width, height, count, buffer },
          arrived: shared.arrived,
        } satisfies ToWorker);
        slot.has.add(shared.key);
      }
      slot.worker.postMessage({
        type: 'encode',
        id,
        key: shared.key,
        delaysMs: [...delaysMs],
        quality: options.quality,
        maxBytes: options.maxBytes,
        tuning: options.tuning as Partial<GifTuning> | undefined,
      } satisfies ToWorker);
    });
  }

  /**
   * The shared copy of a frame set, made once; only the two newest sets are kept. With
   * `frameReady` the frames are copied in as they arrive and the workers told.
   */
  private async share(
    frames: readonly RgbaImage[],
    count: number,
    frameReady?: (k: number) => Promise<void>,
  ): Promise<SharedFrames & { arrived: number }> {
    let s = this.sets.get(frames);
    if (s) return s;
    if (frameReady) await frameReady(0);
    s = this.sets.get(frames); // another try may have started it meanwhile
    if (s) return s;
    const { width, height } = frames[0];
    const size = width * height * 4;
    const buffer = new SharedArrayBuffer(size * count);
    const view = new Uint8Array(buffer);
    const set = { key: this.nextKey++, width, height, count, buffer, arrived: 0 };
    const copy = (k: number): void => {
      const f = frames[k];
      if (f.width !== width || f.height !== height)
        throw new RangeError(
          `encodeGif frames differ in size: ${f.width}×${f.height} vs ${width}×${height}`,
        );
      view.set(f.data, k * size);
      set.arrived = k + 1;
    };
    const tell = (failed?: string): void => {
      for (const slot of this.slots)
        if (slot.has.has(set.key))
          slot.worker.postMessage({
            type: 'arrived',
            key: set.key,
            arrived: set.arrived,
            failed,
          } satisfies ToWorker);
    };
    if (!frameReady) for (let k = 0; k < count; k++) copy(k);
    else {
      copy(0);
      void (async () => {
        try {
          for (let k = 1; k < count; k++) {
            await frameReady(k);
            copy(k);
            tell();
          }
        } catch (e) {
          tell(e instanceof Error ? e.message : String(e));
        }
      })();
    }
    this.sets.set(frames, set);
    this.keys.push(set.key);
    while (this.keys.length > 2) {
      const old = this.keys.shift()!;
      for (const slot of this.slots)
        if (slot.has.delete(old))
          slot.worker.postMessage({ type: 'drop', key: old } satisfies ToWorker);
    }
    return set;
  }

  /** A free worker, taken for the caller. */
  private async idle(signal?: CancelSignal): Promise<Slot> {
    for (;;) {
      this.warm(); // replaces a worker that died
      const free = this.slots.find((s) => !s.busy);
      if (free) {
        free.busy = true;
        return free;
      }
      await new Promise<void>((r) => this.waiting.push(r));
      if (signal?.aborted) throw new CancelledError();
      if (this.closed) throw new CancelledError();
    }
  }

  private release(slot: Slot): void {
    const job = slot.job;
    slot.job = undefined;
    slot.busy = false;
    job?.dispose();
    if (!this.closed) slot.worker.unref();
    this.waiting.shift()?.();
  }

  private settle(slot: Slot, m: FromWorker): void {
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    this.release(slot);
    if (m.type === 'done') {
      job.onProgress?.(1);
      job.resolve(m.bytes);
    } else if (m.type === 'over') {
      // Fitting estimates a stopped try's size from the share it wrote.
      try {
        job.onProgress?.(m.done);
      } catch (e) {
        job.reject(e);
        return;
      }
      job.reject(new OverBudgetError(m.written, m.limit));
    } else if (m.type === 'cancelled') job.reject(new CancelledError());
    else job.reject(new Error(m.message));
  }

  private fail(slot: Slot, e: unknown): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    const job = slot.job;
    slot.job = undefined;
    job?.dispose();
    job?.reject(e);
    this.waiting.shift()?.();
  }
}
