/**
 * The sticker pipeline: a time range of a video → sampled frames (cropped and scaled by
 * the source) → a sticker writer under budget fitting. Checks the request first, with
 * errors that name the values at fault.
 */
import type {
  FrameSource,
  FrameShape,
  Progress,
  ProgressCallback,
  Rect,
  RgbaImage,
  Seconds,
} from './types';
import type { CaptureSettings } from './config';
import {
  CancelledError,
  InvalidSettingError,
  InvalidTimeError,
  TimeOutOfRangeError,
} from './errors';
import type { CancelSignal, StickerFormat, StickerWriter } from './writer';
import { throwIfCancelled } from './writer';
import type { Adaptations, FitFrames, FitShape } from './fit';
import { fitSticker } from './fit';
import { gifWriter } from './gif/index';
import { stickerGeometry } from './frame-size';
import { letterboxWriter } from './letterbox';

/** Share of a sticker's progress bar given to decoding the frames. */
const DECODE_SHARE = 0.4;

/**
 * Sample times of a clip [from, to) at `fps`: `from + k/fps` for k = 0 … ceil((to−from)·fps) − 1.
 * Computed from k (not accumulated), so there is no drift.
 */
export function sampleTimes(from: Seconds, to: Seconds, fps: number): Seconds[] {
  // A hair of tolerance so that 3 s × 12 fps is 36 samples despite float error.
  const n = Math.max(1, Math.ceil((to - from) * fps - 1e-9));
  const out: Seconds[] = [];
  for (let k = 0; k < n; k++) out.push(from + k / fps);
  return out;
}

/**
 * How long each sample stays on screen, in ms: 1000/fps each, the last one until `to`,
 * so the sum is exactly the range's length.
 */
export function sampleDelaysMs(from: Seconds, to: Seconds, fps: number): number[] {
  const times = sampleTimes(from, to, fps);
  return times.map((t, k) => ((times[k + 1] ?? to) - t) * 1000);
}

/** A sticker request. */
export interface StickerRequest {
  /** Range start and end in player seconds; the clip covers [from, to). */
  from: Seconds;
  to: Seconds;
  settings: CaptureSettings;
  /** Overrides `settings.crop` (video pixels, after rotation). */
  crop?: Rect | null;
  /** Width asked for (honoured when smaller than what `maxSide` allows). */
  width?: number;
  /** Writers by format; GIF is built in. WebP/WebM writers are supplied by the platform. */
  writers?: Partial<Record<StickerFormat, StickerWriter>>;
  signal?: CancelSignal;
  onProgress?: ProgressCallback;
}

/** A finished sticker. */
export interface Sticker {
  bytes: Uint8Array;
  format: StickerFormat;
  mime: string;
  width: number;
  height: number;
  /** Frames in the file (identical neighbours may be merged). */
  frames: number;
  fps: number;
  /** GIF only: each frame's delay in centiseconds. */
  delaysCs?: number[];
  /** The range's length in ms (the sum of the frame delays). */
  durationMs: number;
  adapted: Adaptations;
  timings: { decodeMs: number; encodeMs: number; totalMs: number };
}

function checkRange(source: FrameSource, from: number, to: number, maxClipSeconds: number): void {
  const dur = source.info.duration;
  if (!Number.isFinite(from))
    throw new InvalidTimeError(`from must be a time in seconds, got ${from}`, 'from');
  if (!Number.isFinite(to))
    throw new InvalidTimeError(`to must be a time in seconds, got ${to}`, 'to');
  if (from < 0) throw new TimeOutOfRangeError(`from must be ≥ 0 s, got ${from} s`, 'from');
  if (!(to > from)) throw new InvalidTimeError(`to (${to} s) must be after from (${from} s)`, 'to');
  if (to - from > maxClipSeconds + 1e-9)
    throw new TimeOutOfRangeError(
      `range ${from}–${to} s is ${+(to - from).toFixed(3)} s long; maxClipSeconds allows at most ${maxClipSeconds} s`,
      'to',
      `The range ${from}–${to} s is ${+(to - from).toFixed(3)} s long; a sticker covers at most ${maxClipSeconds} s (Longest sticker)`,
    );
  if (from >= dur)
    throw new TimeOutOfRangeError(
      `from ${from} s is past the end of the video (duration ${dur.toFixed(3)} s)`,
      'from',
    );
  if (to > dur + 1e-6)
    throw new TimeOutOfRangeError(
      `to ${to} s is past the end of the video (duration ${dur.toFixed(3)} s)`,
      'to',
    );
}

/**
 * Makes a sticker of [from, to) from `source`: samples `from + k/fps`, crops and scales
 * (longest side ≤ `settings.maxSide`, `width` when smaller), and fits the writer's output
 * into `settings.maxStickerBytes`. Throws `InvalidTimeError`/`TimeOutOfRangeError` for a
 * bad range, `InvalidSettingError` for a bad crop, format or fps, `BudgetError` when
 * nothing sensible fits and `CancelledError` when cancelled.
 */
export async function makeSticker(source: FrameSource, req: StickerRequest): Promise<Sticker> {
  const t0 = Date.now();
  const s = req.settings;
  const { from, to } = req;
  checkRange(source, from, to, s.maxClipSeconds);
  const format = s.stickerFormat;
  const writer = format === 'gif' ? (req.writers?.gif ?? gifWriter) : req.writers?.[format];
  if (!writer)
    throw new InvalidSettingError(
      'stickerFormat',
      `no ${format} sticker writer is available here; use gif or supply a ${format} writer`,
    );
  if (writer.maxFps !== undefined && s.fps > writer.maxFps)
    throw new InvalidSettingError(
      'fps',
      `fps must be 1–${writer.maxFps} for ${format.toUpperCase()}, got ${s.fps}`,
      `Frames per second must be 1–${writer.maxFps} for ${format.toUpperCase()}, got ${s.fps}`,
    );
  if (!(s.fps > 0))
    throw new InvalidSettingError(
      'fps',
      `fps must be positive, got ${s.fps}`,
      `Frames per second must be more than 0, got ${s.fps}`,
    );

  const info = source.info;
  // The region read, the picture's size and, for a square `contain`, where it sits on the
  // transparent square. A fixed size (a platform's) is never shrunk by fitting.
  const g = stickerGeometry(
    info.width,
    info.height,
    s,
    req.crop !== undefined ? req.crop : s.crop,
    req.width,
  );
  const crop = g.crop;
  const base: FitShape = { width: g.width, height: g.height, fps: s.fps };
  const out = letterboxWriter(writer, g);

  const signal = req.signal;
  // One bar for the whole job: decoding the asked frames fills the first DECODE_SHARE,
  // fitting the rest. Decoding and the first try run side by side, so the bar only
  // moves forward (a later shape's decode keeps it where it is and updates the message).
  let shown = 0;
  const emit = (p: Progress, from: number, share: number): boolean | void => {
    shown = Math.max(shown, from + share * Math.max(0, Math.min(1, p.fraction)));
    return req.onProgress?.({ ...p, fraction: shown });
  };
  const onProgress: ProgressCallback | undefined =
    req.onProgress &&
    ((p) =>
      p.stage === 'decode' ? emit(p, 0, DECODE_SHARE) : emit(p, DECODE_SHARE, 1 - DECODE_SHARE));
  // Frames are handed over as they are decoded, so the first encoding try runs alongside
  // the decoder (see `FitFrames`).
  const frames = async (shape: FitShape, sig?: CancelSignal): Promise<FitFrames> => {
    const times = sampleTimes(from, to, shape.fps);
    const fs: FrameShape = { width: shape.width, height: shape.height };
    if (crop) fs.crop = crop;
    const out: RgbaImage[] = [];
    const waiting: Array<{ k: number; resolve: () => void; reject: (e: unknown) => void }> = [];
    let failure: { error: unknown } | undefined;
    const wake = (): void => {
      for (let i = waiting.length - 1; i >= 0; i--) {
        const w = waiting[i]!;
        if (w.k < out.length) w.resolve();
        else if (failure) w.reject(failure.error);
        else continue;
        waiting.splice(i, 1);
      }
    };
    const complete = (async () => {
      for await (const f of source.framesAt(times, fs, sig)) {
        throwIfCancelled(sig);
        out.push(f);
        wake();
        if (
          onProgress?.({
            stage: 'decode',
            fraction: out.length / times.length,
            message: `frame ${out.length}/${times.length}`,
          }) === false
        )
          throw new CancelledError();
      }
      if (out.length !== times.length)
        throw new TimeOutOfRangeError(
          `the source gave ${out.length} of ${times.length} frames for ${from}–${to} s`,
          'to',
        );
    })();
    complete.catch((error: unknown) => {
      failure = { error };
      wake();
    });
    const ready = (k: number): Promise<void> => {
      if (k < out.length) return Promise.resolve();
      if (failure) return Promise.reject(failure.error);
      return new Promise((resolve, reject) => waiting.push({ k, resolve, reject }));
    };
    return { frames: out, delaysMs: sampleDelaysMs(from, to, shape.fps), ready, complete };
  };

  const fit = await fitSticker({
    writer: out,
    minSide: g.fixed ? Math.max(g.width, g.height) : undefined,
    maxBytes: s.maxStickerBytes,
    quality: s.stickerQuality,
    shape: base,
    frames,
    signal,
    onProgress,
  });

  // The writer says what it wrote (a GIF merges identical neighbours); else one per frame.
  const count = fit.written?.frames ?? fit.frames.frames.length;
  const delaysCs = format === 'gif' ? fit.written?.delaysCs : undefined;
  return {
    bytes: fit.bytes,
    format,
    mime: writer.mime,
    width: g.fixed ? g.canvasWidth : fit.shape.width,
    height: g.fixed ? g.canvasHeight : fit.shape.height,
    frames: count,
    fps: fit.shape.fps,
    delaysCs,
    durationMs: Math.round((to - from) * 1e6) / 1e3,
    adapted: fit.adapted,
    timings: { decodeMs: fit.decodeMs, encodeMs: fit.encodeMs, totalMs: Date.now() - t0 },
  };
}
