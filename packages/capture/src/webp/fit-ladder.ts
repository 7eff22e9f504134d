/**
 * Budget fitting for the video-like sticker formats (animated WebP, WebM): given any
 * {@link StickerWriter} whose size falls as `quality` falls, find the best output that
 * stays within `maxBytes`. It spends quality first (a predicted bisection), then frame
 * size, then frame rate, and reports every adaptation. Pure TypeScript: the caller
 * supplies the frame scaler (sharp in Node, a canvas in a browser worker).
 */
import { BudgetError } from '../errors';
import type { RgbaImage } from '../types';
import {
  OverBudgetError,
  throwIfCancelled,
  type CancelSignal,
  type StickerWriter,
} from '../writer';

/** Scales every frame to `width`×`height` (same aspect, never up). */
export type FrameScaler = (
  frames: readonly RgbaImage[],
  width: number,
  height: number,
) => Promise<RgbaImage[]>;

export interface LadderOptions {
  /** Hard byte limit; the result never exceeds it. */
  maxBytes: number;
  /** Quality target 1–100; fitting never goes above it. */
  quality: number;
  /** Lowest quality worth spending before the frame size is reduced (default 20). */
  minQuality?: number;
  /** Lowest quality at all, used on the smallest size and frame rate (default 1). */
  floorQuality?: number;
  /** Frames per second of `frames` (for the frame-rate step and its report). */
  fps: number;
  /** Smallest longest side worth trying (default 64 px). */
  minSide?: number;
  /** Lowest frame rate worth trying (default 4, or `fps` when lower). */
  minFps?: number;
  /** Encodes at most this many tries per size and frame rate (default 7). */
  maxTriesPerStep?: number;
  /** Stop refining once a fitting try uses this share of the budget (default 0.95). */
  goodEnough?: number;
  /** Extra writer knobs passed to every try. */
  tuning?: Record<string, number | string | boolean | undefined>;
  signal?: CancelSignal;
  /** 0..1 of the whole fit; return `false` to cancel. */
  onProgress?: (fraction: number) => void | boolean;
}

/** What fitting changed to make the budget, each `from` → `to`. */
export interface Adaptations {
  quality?: { from: number; to: number };
  size?: { from: { width: number; height: number }; to: { width: number; height: number } };
  fps?: { from: number; to: number };
  /** Rate control aimed at the budget lowered quality under the target: the average bits/s given. */
  bitrate?: number;
}

export interface LadderResult {
  bytes: Uint8Array;
  quality: number;
  width: number;
  height: number;
  fps: number;
  frames: number;
  delaysMs: number[];
  adapted: Adaptations;
  /** Every try: quality, size and bytes (or the bytes at which it was stopped). */
  tries: {
    quality: number;
    width: number;
    height: number;
    fps: number;
    bytes: number;
    fits: boolean;
  }[];
}

/** One encode: the bytes when they fit, else the size it reached. */
type Try = { fits: true; bytes: Uint8Array } | { fits: false; size: number };

async function encodeTry(
  writer: StickerWriter,
  frames: readonly RgbaImage[],
  delays: readonly number[],
  quality: number,
  o: LadderOptions,
): Promise<Try> {
  try {
    const bytes = await writer.encode(frames, delays, {
      quality,
      maxBytes: o.maxBytes,
      tuning: o.tuning,
      signal: o.signal,
    });
    if (bytes.length > o.maxBytes) return { fits: false, size: bytes.length };
    return { fits: true, bytes };
  } catch (e) {
    if (e instanceof OverBudgetError) return { fits: false, size: e.written };
    throw e;
  }
}

/**
 * Predicted bisection of quality in [lo, hi]: log(size) is close to linear in quality
 * for these codecs, so each next try is the secant's guess for the budget, kept strictly
 * inside the open bracket (falling back to the midpoint), so it always converges.
 */
export async function bisectQuality(
  tryAt: (q: number) => Promise<Try>,
  lo: number,
  hi: number,
  maxBytes: number,
  maxTries: number,
  goodEnough: number,
): Promise<{ q: number; bytes: Uint8Array } | { q: null; sizeAtLo: number }> {
  let best: { q: number; bytes: Uint8Array } | null = null;
  const first = await tryAt(hi);
  if (first.fits) return { q: hi, bytes: first.bytes };
  let overQ = hi;
  let overSize = first.size;
  let fitQ = lo - 1; // below the floor: "fits" by definition, size unknown
  let fitSize = 0;
  let tries = 1;
  while (tries < maxTries && overQ - fitQ > 1) {
    let q: number;
    if (fitSize > 0) {
      const t =
        (Math.log(maxBytes * 0.985) - Math.log(fitSize)) / (Math.log(overSize) - Math.log(fitSize));
      q = Math.round(fitQ + t * (overQ - fitQ));
    } else {
      // Only an over-budget point: assume size halves every ~22 quality points.
      q = Math.round(overQ - 22 * Math.log2(overSize / (maxBytes * 0.985)));
    }
    if (q <= Math.max(fitQ, lo - 1) || q >= overQ) q = Math.floor((Math.max(fitQ, lo) + overQ) / 2);
    q = Math.max(lo, Math.min(overQ - 1, q));
    if (q <= fitQ) break;
    const r = await tryAt(q);
    tries++;
    if (r.fits) {
      best = { q, bytes: r.bytes };
      fitQ = q;
      fitSize = r.bytes.length;
      if (fitSize >= maxBytes * goodEnough) break;
    } else {
      overQ = q;
      overSize = r.size;
      if (q === lo) break;
    }
  }
  if (best) return best;
  if (overQ > lo) {
    // Out of tries without a fit: the floor decides whether this size can work at all.
    const r = await tryAt(lo);
    if (r.fits) return { q: lo, bytes: r.bytes };
    return { q: null, sizeAtLo: r.size };
  }
  return { q: null, sizeAtLo: overSize };
}

/**
 * Picks frames for a lower frame rate: the frame on screen at each new sample time
 * `k / toFps` of the original timeline. Delays stay whole milliseconds and their total
 * is unchanged.
 */
export function resampleFrames<T>(
  frames: readonly T[],
  delaysMs: readonly number[],
  toFps: number,
): { frames: T[]; delaysMs: number[] } {
  const total = delaysMs.reduce((a, b) => a + b, 0);
  const step = 1000 / toFps;
  const n = Math.max(1, Math.ceil(total / step - 1e-9));
  const starts: number[] = [];
  let acc = 0;
  for (const d of delaysMs) {
    starts.push(acc);
    acc += d;
  }
  const out: T[] = [];
  const delays: number[] = [];
  let j = 0;
  let prevEnd = 0;
  for (let k = 0; k < n; k++) {
    const t = k * step;
    while (j + 1 < frames.length && starts[j + 1]! <= t + 1e-6) j++;
    out.push(frames[j]!);
    const end = k === n - 1 ? total : Math.round((k + 1) * step);
    delays.push(end - prevEnd);
    prevEnd = end;
  }
  return { frames: out, delaysMs: delays };
}

function fitSize(w: number, h: number, side: number): { width: number; height: number } {
  const s = Math.min(1, side / Math.max(w, h));
  // Even sizes: VP9's 4:2:0 needs them, and WebP loses nothing by them.
  const even = (v: number) => Math.max(2, Math.round((v * s) / 2) * 2);
  return { width: even(w), height: even(h) };
}

/**
 * Fits `frames` into `o.maxBytes` with `writer`: quality from `o.quality` down to
 * `minQuality`, then smaller frames (each step sized from the last overshoot), then
 * lower frame rates, and finally `floorQuality` at the smallest size and rate.
 * @throws BudgetError when even that does not fit, naming the smallest size reached.
 */
export async function fitLadder(
  writer: StickerWriter,
  frames: readonly RgbaImage[],
  delaysMs: readonly number[],
  scale: FrameScaler,
  o: LadderOptions,
): Promise<LadderResult> {
  if (!frames.length) throw new BudgetError('a sticker needs at least one frame');
  const target = Math.max(1, Math.min(100, Math.round(o.quality)));
  const minQ = Math.min(target, o.minQuality ?? 20);
  const floorQ = Math.min(minQ, o.floorQuality ?? 1);
  const minSide = o.minSide ?? 64;
  const minFps = Math.min(o.fps, o.minFps ?? 4);
  const maxTries = o.maxTriesPerStep ?? 7;
  const goodEnough = o.goodEnough ?? 0.95;
  const w0 = frames[0]!.width;
  const h0 = frames[0]!.height;
  const tries: LadderResult['tries'] = [];

  let cur = { frames: [...frames], delaysMs: [...delaysMs], width: w0, height: h0, fps: o.fps };
  const attempt = (lo: number, hi: number) => {
    const state = cur;
    return bisectQuality(
      async (q) => {
        throwIfCancelled(o.signal);
        const r = await encodeTry(writer, state.frames, state.delaysMs, q, o);
        tries.push({
          quality: q,
          width: state.width,
          height: state.height,
          fps: state.fps,
          bytes: r.fits ? r.bytes.length : r.size,
          fits: r.fits,
        });
        if (o.onProgress?.(Math.min(0.99, tries.length / (maxTries * 4))) === false)
          throwIfCancelled({ aborted: true });
        return r;
      },
      lo,
      hi,
      o.maxBytes,
      maxTries,
      goodEnough,
    );
  };
  const done = (q: number, bytes: Uint8Array): LadderResult => {
    const adapted: Adaptations = {};
    if (q !== target) adapted.quality = { from: target, to: q };
    if (cur.width !== w0 || cur.height !== h0)
      adapted.size = {
        from: { width: w0, height: h0 },
        to: { width: cur.width, height: cur.height },
      };
    if (cur.fps !== o.fps) adapted.fps = { from: o.fps, to: cur.fps };
    o.onProgress?.(1);
    return {
      bytes,
      quality: q,
      width: cur.width,
      height: cur.height,
      fps: cur.fps,
      frames: cur.frames.length,
      delaysMs: cur.delaysMs,
      adapted,
      tries,
    };
  };

  let r = await attempt(minQ, target);
  if (r.q !== null) return done(r.q, r.bytes);

  // Frame size: area scales bytes roughly linearly; aim a little under the budget.
  for (;;) {
    const side = Math.max(cur.width, cur.height);
    if (side <= minSide) break;
    const ratio = Math.sqrt((o.maxBytes * 0.9) / r.sizeAtLo);
    const nextSide = Math.max(minSide, Math.floor(side * Math.min(0.85, Math.max(0.5, ratio))));
    const sz = fitSize(w0, h0, nextSide);
    cur = { ...cur, frames: await scale(frames, sz.width, sz.height), ...sz };
    r = await attempt(minQ, target);
    if (r.q !== null) return done(r.q, r.bytes);
  }

  // Frame rate: halve towards minFps on the smallest size.
  const smallFull = await scale(frames, cur.width, cur.height);
  while (cur.fps > minFps) {
    const fps = Math.max(minFps, Math.round(cur.fps / 2));
    const rs = resampleFrames(smallFull, delaysMs, fps);
    cur = { ...cur, frames: rs.frames, delaysMs: rs.delaysMs, fps };
    r = await attempt(floorQ, target);
    if (r.q !== null) return done(r.q, r.bytes);
  }
  if (floorQ < minQ) {
    r = await attempt(floorQ, minQ);
    if (r.q !== null) return done(r.q, r.bytes);
  }
  const smallest = r.q === null ? r.sizeAtLo : 0;
  throw new BudgetError(
    `no ${writer.format.toUpperCase()} sticker fits ${o.maxBytes} bytes: the smallest try (${cur.width}×${cur.height}, ${cur.fps} fps, quality ${floorQ}) ` +
      `took ${smallest} bytes; raise the limit to at least ${smallest} bytes or shorten the range`,
    smallest,
  );
}
