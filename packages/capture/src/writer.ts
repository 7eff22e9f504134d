/**
 * The StickerWriter contract: what budget fitting needs from any animated format
 * (GIF here, WebP/WebM through sharp, ffmpeg or browser encoders), plus the counting
 * byte sink that lets a too-big try stop as soon as it passes the budget.
 */
import type { RgbaImage } from './types';
import { CancelledError } from './errors';

import type { StickerFormat } from './config';

export type { StickerFormat };

/**
 * The part of an `AbortSignal` the engine reads. A real `AbortSignal` fits; the core
 * declares only this so it compiles without DOM or Node typings.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

/** What one encoding try is asked to do. */
export interface StickerEncodeOptions {
  /** Quality target 1–100 (higher = better looking, bigger). */
  quality: number;
  /** Hard limit: the writer stops with `OverBudgetError` as soon as it writes more. */
  maxBytes?: number;
  /**
   * The sticker's real budget. A probing try may pass a looser `maxBytes` to learn a
   * size; a writer with its own rate control (WebM) aims at this instead.
   */
  targetBytes?: number;
  /** Extra format-specific knobs chosen by fitting (e.g. GIF colours/dither/lossy). */
  tuning?: Record<string, number | string | boolean | undefined>;
  signal?: CancelSignal;
  /** Fraction 0..1 of this try. Return `false` to cancel. */
  onProgress?: (fraction: number) => void | boolean;
  /**
   * Writers with `sequential`: the frames are still arriving (`frames` fills up while
   * the try runs, `delaysMs` is complete); await this before reading `frames[k]`. It
   * rejects when the frames cannot be had, and then the try fails with that error.
   */
  frameReady?: (frame: number) => Promise<void>;
  /**
   * Writers with `paces`: receives this try's notes as it starts (they fill up as it runs, and stay
   * when it stops early).
   */
  notes?: (notes: TryNotes) => void;
  /**
   * Writers with `paces`: each frame gets its own quality, at most `quality` and at least
   * the writer's `paces.minQuality`, so that the output lands just under `targetBytes` in
   * this one try, guided by the notes of an earlier try of the same frames at the same size, or
   * with `'ahead'` by a look at all the frames before the first is written (the writer
   * waits for them all).
   */
  pace?: TryNotes | 'ahead';
  /** Called once the try has written the whole file, with what it wrote. */
  written?: (w: WrittenSticker) => void;
}

/** What a finished try wrote, as the writer knows it (no need to parse the file again). */
export interface WrittenSticker {
  /** Frames in the file (a writer may merge identical neighbours). */
  frames: number;
  /** GIF: each written frame's delay in centiseconds. */
  delaysCs?: number[];
}

/**
 * What a writer noted of its frames in one try, for a paced try of the same frames (see
 * `StickerEncodeOptions.pace`); fitting reads only what is declared here.
 */
export interface TryNotes {
  /** Frames written so far. */
  readonly frames: number;
  /** Mean quality of the frames written (the one asked for, unless the try was paced). */
  readonly quality: number;
  /** The one quality at which the writer forecasts the whole clip to take `bytes` (may be outside 1–100). */
  qualityFor(bytes: number): number;
  /** The bytes the writer forecasts for the whole clip at one quality. */
  bytesAt(quality: number): number;
}

/**
 * An animated-sticker encoder. `frames` are all the same size; `delaysMs[i]` is how long
 * frame i stays on screen, in milliseconds (the sum is the clip's duration). Writers
 * round delays to their own time base but keep the total exact.
 */
export interface StickerWriter {
  readonly format: StickerFormat;
  readonly mime: string;
  /** Largest frame rate the container's players honour (GIF: 50). */
  readonly maxFps?: number;
  /** Reads frames one after another and honours `frameReady` (can start while they decode). */
  readonly sequential?: boolean;
  /** Writers that keep notes of a try and pace a later one by them: the lowest quality a paced try gives a frame. */
  readonly paces?: { readonly minQuality: number };
  encode(
    frames: readonly RgbaImage[],
    delaysMs: readonly number[],
    options: StickerEncodeOptions,
  ): Promise<Uint8Array>;
  /**
   * Optional: how close `bytes` looks to `frames` (0..1, like SSIM; the output may be
   * smaller than the frames). With it, fitting picks between a full-size output at low
   * quality and a smaller one at higher quality by how they look, not by rule.
   */
  score?(bytes: Uint8Array, frames: readonly RgbaImage[], delaysMs: readonly number[]): number;
}

/** Thrown inside a try whose output already passed its byte limit; fitting catches it. */
export class OverBudgetError extends Error {
  /** Bytes written when the try was stopped (at least `limit + 1`, unless `estimate` is set). */
  readonly written: number;
  readonly limit: number;
  /** What the whole output would have taken, when the writer could tell before passing the limit. */
  readonly estimate?: number;
  constructor(written: number, limit: number, estimate?: number) {
    super(
      estimate === undefined
        ? `output passed ${limit} bytes (${written} written so far)`
        : `output would pass ${limit} bytes (about ${Math.round(estimate)} in all)`,
    );
    this.name = 'OverBudgetError';
    this.written = written;
    this.limit = limit;
    this.estimate = estimate;
  }
}

/**
 * A growable byte buffer that counts what is written and throws `OverBudgetError` the
 * moment the count passes `limit`, so an encoder never finishes a doomed try.
 */
export class CountingSink {
  private buf: Uint8Array;
  private len = 0;
  readonly limit: number;

  constructor(limit = Infinity, initialCapacity = 1 << 16) {
    this.limit = limit;
    this.buf = new Uint8Array(
      Math.max(64, Math.min(initialCapacity, Number.isFinite(limit) ? limit + 1 : initialCapacity)),
    );
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** Bytes kept free for a part written last (see `hold`). */
  private held = 0;

  /**
   * Keeps `n` bytes of the limit free for a part that will be written last (a trailer):
   * writing into them throws as passing the limit would, until `release`.
   */
  hold(n: number): void {
    this.held = n;
  }

  /** Gives back the bytes `hold` kept free. */
  release(): void {
    this.held = 0;
  }

  private reserve(n: number): void {
    const need = this.len + n;
    if (need + this.held > this.limit) throw new OverBudgetError(need + this.held, this.limit);
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** Little-endian 16-bit word. */
  u16(v: number): void {
    this.reserve(2);
    this.buf[this.len++] = v & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
  }

  bytes(src: ArrayLike<number>, start = 0, end = src.length): void {
    const n = end - start;
    this.reserve(n);
    if (src instanceof Uint8Array) this.buf.set(src.subarray(start, end), this.len);
    else for (let i = 0; i < n; i++) this.buf[this.len + i] = src[start + i]!;
    this.len += n;
  }

  /** Forgets everything written after the first `length` bytes (to write a part again). */
  rewind(length: number): void {
    if (!(length >= 0 && length <= this.len))
      throw new RangeError(`cannot rewind ${this.len} bytes to ${length}`);
    this.len = length;
  }

  /** Overwrites a little-endian 16-bit word already written at `pos`. */
  setU16(pos: number, v: number): void {
    this.buf[pos] = v & 0xff;
    this.buf[pos + 1] = (v >>> 8) & 0xff;
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Throws `CancelledError` when the signal is aborted. */
export function throwIfCancelled(signal?: CancelSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

const timers = globalThis as unknown as {
  setTimeout?: (fn: () => void, ms: number) => unknown;
  setImmediate?: (fn: () => void) => unknown;
  MessageChannel?: new () => {
    port1: { onmessage: (() => void) | null };
    port2: { postMessage(v: unknown): void };
  };
};

/** Runs queued I/O callbacks, then resolves: Node's setImmediate, else a MessageChannel turn, else a timer. */
const nextTurn: () => Promise<void> = (() => {
  if (timers.setImmediate) return () => new Promise<void>((r) => timers.setImmediate!(r));
  if (timers.MessageChannel) {
    const ch = new timers.MessageChannel();
    const waiting: Array<() => void> = [];
    ch.port1.onmessage = () => waiting.shift()?.();
    return () =>
      new Promise<void>((r) => {
        waiting.push(r);
        ch.port2.postMessage(0);
      });
  }
  return () => new Promise<void>((r) => (timers.setTimeout ? timers.setTimeout(r, 0) : r()));
})();

/**
 * Lets pending I/O run (a decoder's pipe, a worker message) without a timer's delay, then
 * checks the signal. For loops that must keep I/O flowing every few milliseconds.
 */
export async function yieldForIo(signal?: CancelSignal): Promise<void> {
  await nextTurn();
  throwIfCancelled(signal);
}

/**
 * Lets the event loop run (so a Cancel button or a worker message can abort the signal),
 * then checks the signal. Works in Node and in browser workers.
 */
export async function yieldToEventLoop(signal?: CancelSignal): Promise<void> {
  await new Promise<void>((resolve) =>
    timers.setTimeout ? timers.setTimeout(resolve, 0) : resolve(),
  );
  throwIfCancelled(signal);
}
