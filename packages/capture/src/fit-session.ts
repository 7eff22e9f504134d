/**
 * The state of one budget search (`fit.ts`), as an explicit object: the request's limits,
 * the frames fetched so far, the tries made, the time spent and the progress reported.
 * Every step of the search (`fit-quality.ts`, `fit-paced.ts`, `fit-shrink.ts`) makes its
 * tries through {@link FitSession.attempt}, so tries are counted, timed and cancellable in
 * one place.
 */
import type { ProgressCallback } from './types';
import { CancelledError } from './errors';
import type {
  CancelSignal,
  StickerEncodeOptions,
  StickerWriter,
  TryNotes,
  WrittenSticker,
} from './writer';
import { OverBudgetError, throwIfCancelled, yieldToEventLoop } from './writer';
import type { FitShape } from './fit-steps';
import type { FitFrames, FitRequest } from './fit';

/** What one try gave. */
export interface Try {
  bytes?: Uint8Array;
  size: number;
  complete: boolean;
  /** Its size, or when stopped an estimate from the share it wrote. */
  estimate: number;
}

/** A fitting output at a quality (for a paced one, its frames' mean). */
export interface Fitted {
  q: number;
  bytes: Uint8Array;
}

/** A fitting output at a quality and shape. */
export interface FittedAt extends Fitted {
  shape: FitShape;
}

/** The limits of a request, with defaults applied and clamped. */
export interface FitLimits {
  /** Quality asked for, 1–100: never exceeded. */
  qMax: number;
  /** Lowest quality spent before the size or rate is reduced. */
  qMin: number;
  /** Lowest quality at all (smallest size and rate only). */
  qFloor: number;
  /** Smallest scale of the asked shape. */
  minScale: number;
  minFps: number;
}

/** Clamps `req`'s qualities, size and rate into the limits a search keeps to. */
export function fitLimits(
  req: Pick<FitRequest, 'quality' | 'minQuality' | 'floorQuality' | 'minSide' | 'minFps'>,
  base: FitShape,
): FitLimits {
  const qMax = Math.max(1, Math.min(100, Math.round(req.quality)));
  const qMin = Math.max(1, Math.min(qMax, Math.round(req.minQuality ?? 35)));
  const qFloor = Math.max(1, Math.min(qMin, Math.round(req.floorQuality ?? 1)));
  const longest = Math.max(base.width, base.height);
  const minScale = Math.min(1, Math.min(longest, req.minSide ?? 64) / longest);
  const minFps = Math.min(base.fps, req.minFps ?? 4);
  return { qMax, qMin, qFloor, minScale, minFps };
}

const now = (): number => Date.now();

const keyOf = (shape: FitShape): string => `${shape.width}x${shape.height}@${shape.fps}`;

/** One search's state and the tries it makes. */
export class FitSession implements FitLimits {
  readonly writer: FitRequest['writer'];
  readonly maxBytes: number;
  /** The shape asked for. */
  readonly base: FitShape;
  readonly qMax: number;
  readonly qMin: number;
  readonly qFloor: number;
  readonly minScale: number;
  readonly minFps: number;
  readonly signal?: CancelSignal;
  /** Encoding tries made. */
  tries = 0;
  /** Wall time getting frames and encoding (they overlap), in milliseconds. */
  decodeMs = 0;
  encodeMs = 0;
  private progress = 0;
  private readonly onProgress?: ProgressCallback;
  private readonly source: FitRequest['frames'];
  // Frames of the asked shape stay in memory (they are the reference for scoring); of
  // the other shapes only the latest is kept.
  private readonly cache = new Map<string, FitFrames>();
  // What each fitting output's try wrote, by its bytes (the result's are looked up).
  private readonly written = new WeakMap<Uint8Array, WrittenSticker>();
  // Wall time with at least one try running.
  private running = 0;
  private runningSince = 0;

  constructor(req: FitRequest) {
    this.writer = req.writer;
    this.maxBytes = req.maxBytes;
    this.base = req.shape;
    const l = fitLimits(req, req.shape);
    this.qMax = l.qMax;
    this.qMin = l.qMin;
    this.qFloor = l.qFloor;
    this.minScale = l.minScale;
    this.minFps = l.minFps;
    this.signal = req.signal;
    this.onProgress = req.onProgress;
    this.source = (shape, signal) => req.frames(shape, signal);
  }

  /** Reports progress (never backwards); throws `CancelledError` when asked to stop. */
  report(fraction: number, message: string): void {
    this.progress = Math.max(this.progress, fraction >= 1 ? 1 : Math.min(0.99, fraction));
    if (this.onProgress?.({ stage: 'fit', fraction: this.progress, message }) === false)
      throw new CancelledError();
    throwIfCancelled(this.signal);
  }

  /** Whether a try gave bytes within the budget. */
  fits(r: { bytes?: Uint8Array; size: number }): boolean {
    return r.bytes !== undefined && r.size <= this.maxBytes;
  }

  /** The quality a try is reported at: for a paced one, its frames' mean. */
  qualityOf(notes: TryNotes): number {
    return Math.max(1, Math.min(this.qMax, Math.round(notes.quality)));
  }

  /** The frames fetched at `shape`, if they still are kept. */
  cached(shape: FitShape): FitFrames | undefined {
    return this.cache.get(keyOf(shape));
  }

  /** What the writer said it wrote for `bytes`, when it said. */
  writtenFor(bytes: Uint8Array): WrittenSticker | undefined {
    return this.written.get(bytes);
  }

  /** Frames at `shape`; with `arriving`, possibly still decoding (see `FitFrames`). */
  async framesAt(shape: FitShape, arriving = false): Promise<FitFrames> {
    const key = keyOf(shape);
    let f = this.cache.get(key);
    if (!f) {
      const t0 = now();
      f = await this.source(shape, this.signal);
      if (f.complete) {
        // Decode time is until the last frame is in (it overlaps the first try's encoding).
        f.complete.then(
          () => (this.decodeMs += now() - t0),
          () => {},
        );
      } else this.decodeMs += now() - t0;
      const baseKey = keyOf(this.base);
      for (const k of [...this.cache.keys()]) if (k !== baseKey) this.cache.delete(k);
      this.cache.set(key, f);
    }
    if (!arriving && f.complete) await f.complete;
    return f;
  }

  /** One try: bytes when it fits `limit`, else the count reached when it stopped. */
  async attempt(
    quality: number,
    shape: FitShape,
    limit: number,
    via: StickerWriter = this.writer,
    extra?: Pick<StickerEncodeOptions, 'notes' | 'pace' | 'targetBytes'>,
  ): Promise<Try> {
    const signal = this.signal;
    // A writer that reads frame after frame may start before the last frame is decoded.
    const arriving = via.sequential === true;
    const f = await this.framesAt(shape, arriving);
    // Let a Cancel (a timer, a worker message) be seen between tries.
    await yieldToEventLoop(signal);
    this.tries++;
    this.report(
      Math.min(0.95, this.tries / 12),
      `try ${this.tries}: ${extra?.pace ? `paced, quality up to ${quality}` : `quality ${quality}`}, ${shape.width}×${shape.height} at ${shape.fps} fps`,
    );
    if (this.running++ === 0) this.runningSince = now();
    let done = 0;
    const wrote: { of?: WrittenSticker } = {};
    try {
      const bytes = await via.encode(f.frames, f.delaysMs, {
        quality,
        maxBytes: limit,
        targetBytes: this.maxBytes,
        signal,
        onProgress: (fraction) => {
          done = fraction;
          throwIfCancelled(signal);
        },
        frameReady: arriving && f.complete ? f.ready : undefined,
        written: (w) => (wrote.of = w),
        ...extra,
      });
      if (wrote.of) this.written.set(bytes, wrote.of);
      return { bytes, size: bytes.length, complete: true, estimate: bytes.length };
    } catch (e) {
      // A stopped try still tells roughly how big it would have been.
      if (e instanceof OverBudgetError)
        return {
          size: e.written,
          complete: false,
          estimate: e.estimate ?? e.written / Math.max(0.1, done),
        };
      throw e;
    } finally {
      if (--this.running === 0) this.encodeMs += now() - this.runningSince;
      // A try stopped early leaves the decoder going: its frames are wanted next.
      if (arriving && f.complete) await f.complete;
    }
  }
}
