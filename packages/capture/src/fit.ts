/**
 * Budget fitting: finds the best-looking sticker a `StickerWriter` can make within a hard
 * byte limit. It spends quality knobs first, then frame size, then frame rate, and
 * reports every adaptation. A writer that paces (`StickerWriter.paces`, the GIF writer)
 * is asked to choose each frame's quality itself so the first try lands just under the
 * budget, and when it misses, once more with the notes of that try; otherwise, and when
 * pacing cannot reach the budget, fitting bisects the writer's 1–100 quality (which
 * drives palette size, dithering and lossiness) over whole-clip tries. Every try writes
 * through a counting sink that stops as soon as the try passes its limit, so hopeless
 * tries cost little. This file orders the steps; each lives in its own unit (the search
 * state `fit-session.ts`, the quality search `fit-quality.ts`, paced tries
 * `fit-paced.ts`, shrinking ahead `fit-ahead.ts`, the shrink step `fit-shrink.ts`, the
 * final pick `fit-pick.ts`, their arithmetic `fit-steps.ts`). The result never exceeds
 * `maxBytes`; when even the smallest sensible output does not fit, a `BudgetError` says
 * how many bytes would.
 */
import type { ProgressCallback, RgbaImage } from './types';
import { BudgetError } from './errors';
import type { CancelSignal, StickerWriter, TryNotes, WrittenSticker } from './writer';
import type { FitShape } from './fit-steps';
import { shrinkAhead, SHRINKS_WELL } from './fit-ahead';
import { pacedSearch } from './fit-paced';
import { adaptations, pickBetter } from './fit-pick';
import { GOOD_ENOUGH, QUALITY_PER_EFOLD, searchQuality, tryQuality } from './fit-quality';
import { FitSession, type Fitted, type FittedAt } from './fit-session';
import { shrink, shrinkKeeps } from './fit-shrink';

export type { FitShape };

/**
 * Frames at one shape, with how long each stays on screen (ms; sum = clip length). A
 * provider may hand them over while they are still being decoded: `frames` then fills up,
 * `ready(k)` resolves once frame k is in, and `complete` once all are (either rejects when
 * decoding fails). Fitting lets a `sequential` writer start on the first frames.
 */
export interface FitFrames {
  frames: readonly RgbaImage[];
  delaysMs: readonly number[];
  ready?: (frame: number) => Promise<void>;
  complete?: Promise<void>;
}

/** A change fitting made to what was asked. */
export interface Change<T> {
  from: T;
  to: T;
}

/** Every adaptation fitting made; absent keys were left as asked. */
export interface Adaptations {
  /** With a writer that paces (each frame its own quality), `to` is the frames' mean, rounded. */
  quality?: Change<number>;
  colors?: Change<number>;
  dither?: Change<string>;
  lossy?: Change<number>;
  width?: Change<number>;
  height?: Change<number>;
  fps?: Change<number>;
}

/** What to fit. */
export interface FitRequest {
  writer: StickerWriter & { describe?(quality: number): object };
  /** Hard limit in bytes. */
  maxBytes: number;
  /** Quality asked for (1–100): fitting never goes above it. */
  quality: number;
  /** Shape asked for. */
  shape: FitShape;
  /** Frames at a shape; called again whenever fitting changes the size or rate. */
  frames(shape: FitShape, signal?: CancelSignal): Promise<FitFrames>;
  /** Lowest quality spent before the size or rate is reduced (default 35: measured on film, below it a smaller frame at higher quality scores better). */
  minQuality?: number;
  /** Lowest quality at all, used only at the smallest size and rate (default 1). */
  floorQuality?: number;
  /** Smallest longest side worth sending, in pixels (default 64, or the asked size if smaller). */
  minSide?: number;
  /** Lowest frame rate worth sending (default 4, or the asked rate if lower). */
  minFps?: number;
  signal?: CancelSignal;
  onProgress?: ProgressCallback;
}

/** The fitted sticker. */
export interface FitResult {
  bytes: Uint8Array;
  quality: number;
  shape: FitShape;
  frames: FitFrames;
  adapted: Adaptations;
  /** What the writer said it wrote (frames, GIF delays), when it says. */
  written?: WrittenSticker;
  /** Encoding tries made. */
  tries: number;
  /** Time spent getting frames and encoding (wall clock; they overlap), in milliseconds. */
  decodeMs: number;
  encodeMs: number;
}

/** Lowest full-size quality kept without also trying a smaller frame, on content that does not shrink well. */
const FULL_SIZE_KEPT = 20;
/** How far over the budget quality `minQuality` may be at full size for the lowest qualities to be tried there. */
const FLOOR_REACH = 2;

/** Fits a sticker into `req.maxBytes`; see the module comment. */
export async function fitSticker(req: FitRequest): Promise<FitResult> {
  const { writer, maxBytes, shape: base } = req;
  if (!(maxBytes > 0) || !Number.isFinite(maxBytes))
    throw new RangeError(`maxBytes must be a positive number of bytes, got ${maxBytes}`);
  if (!(base.width >= 1 && base.height >= 1 && base.fps > 0))
    throw new RangeError(
      `shape must have a size of at least 1×1 and a positive fps, got ${base.width}×${base.height} at ${base.fps} fps`,
    );
  const fit = new FitSession(req);
  const { qMax, qMin, qFloor } = fit;

  const finish = (q: number, bytes: Uint8Array, shape: FitShape): FitResult => {
    const adapted = adaptations(writer, qMax, q, base, shape);
    fit.report(1, 'fitted');
    return {
      bytes,
      quality: q,
      shape,
      frames: fit.cached(shape)!,
      adapted,
      written: fit.writtenFor(bytes),
      tries: fit.tries,
      decodeMs: fit.decodeMs,
      encodeMs: fit.encodeMs,
    };
  };

  // 1. The asked quality at the asked shape, alongside the decoder. One try only: two
  // beside the decoder would leave two cores three things to do.
  // A writer that paces paces this try too, from a look at all the frames (it usually
  // lands here), and keeps notes of it for a second paced try. The try goes on up to twice the budget, so the notes cover
  // every frame whenever a paced try could fit (at twice the budget it could not, on any
  // content seen).
  const firstNotes: { of?: TryNotes } = {};
  const noting = writer.paces !== undefined;
  const first = await fit.attempt(
    qMax,
    base,
    maxBytes * (noting ? 2 : 1.25),
    writer,
    noting ? { notes: (n) => (firstNotes.of = n), pace: 'ahead' } : undefined,
  );
  if (fit.fits(first)) {
    // As asked, or (paced) all but the last frames near it, or near enough the budget.
    const q = firstNotes.of ? fit.qualityOf(firstNotes.of) : qMax;
    if (q === qMax || first.size >= maxBytes * GOOD_ENOUGH) return finish(q, first.bytes!, base);
  }

  // Its size at the asked quality: a paced first try wrote each frame at its own quality,
  // and its notes say what all at the asked quality would have taken.
  const sizeAtTop = firstNotes.of && first.complete ? firstNotes.of.bytesAt(qMax) : first.estimate;

  // 2a. A paced try: guided by the first try's notes, the writer chooses each frame's
  // quality so the whole lands just under the budget, usually in this one try. Only when
  // the notes forecast a quality the writer can pace down to.
  if (firstNotes.of) {
    const fitted = fit.fits(first)
      ? { q: fit.qualityOf(firstNotes.of), bytes: first.bytes! }
      : undefined;
    const b = await pacedSearch(fit, base, firstNotes.of, fitted, sizeAtTop);
    if (b) return finish(b.q, b.bytes, base);
  }

  // 2b. Below what pacing reaches at full size, on content that shrinks well (film, fractals,
  // cartoons): straight to the frame size at which a paced try lands near the budget, as
  // forecast from the first try's notes, instead of exploring the lowest qualities first.
  if (firstNotes.of && writer.paces && firstNotes.of.frames > 0) {
    const quick = await shrinkAhead(fit, firstNotes.of, writer.paces.minQuality);
    if (quick) {
      await fit.framesAt(quick.shape);
      return finish(quick.q, quick.bytes, quick.shape);
    }
  }

  // 2. Quality knobs. When the first try's size is known, predict the quality that fits
  // (size grows about e-fold per QUALITY_PER_EFOLD steps) and search up from there.
  let top = qMax;
  let topSize = sizeAtTop;
  {
    const over = Math.log(topSize / (maxBytes * 0.985));
    const guess = Math.round(top - QUALITY_PER_EFOLD * over);
    if (guess > qMin && guess < top) {
      const b = await tryQuality(fit, base, guess, maxBytes * 1.25, { top, topSize });
      if (b.best) {
        const s = await searchQuality(fit, base, b.best.q, b.best.bytes, b.top - 1, b.topSize);
        return finish(s.q, s.bytes, base);
      }
      top = b.top;
      topSize = b.topSize ?? topSize;
    }
  }
  const floor = await fit.attempt(qMin, base, maxBytes * 4);
  if (fit.fits(floor)) {
    const b = await searchQuality(fit, base, qMin, floor.bytes!, top - 1, topSize);
    return finish(b.q, b.bytes, base);
  }

  // 3. Frame size, then 4. frame rate. When the writer can score its output, first see
  // what the lowest qualities give at full size: on some content (noise, fine texture) that
  // looks better than a smaller frame, and the better of the two is kept.
  let fullSize: Fitted | undefined;
  // (Not when the floor quality is over twice the budget: the lowest qualities save far
  // less than that on every content measured.)
  if (writer.score && qFloor < qMin && floor.estimate < maxBytes * FLOOR_REACH) {
    const r = await fit.attempt(qFloor, base, maxBytes * 1.25);
    if (fit.fits(r))
      fullSize = await searchQuality(fit, base, qFloor, r.bytes!, qMin - 1, floor.estimate);
  }
  // Content that does not shrink well (pixel art, noise, small text) keeps its full size
  // when a quality not far below the usual floor fits there.
  if (
    fullSize &&
    fullSize.q >= FULL_SIZE_KEPT &&
    (await shrinkKeeps(fit, Math.min(0.97, Math.sqrt(maxBytes / floor.estimate)))) < SHRINKS_WELL
  ) {
    return finish(fullSize.q, fullSize.bytes, base);
  }
  let smaller: FittedAt | undefined;
  try {
    smaller = await shrink(fit, floor);
  } catch (e) {
    if (!(e instanceof BudgetError) || !fullSize) throw e;
  }
  const kept = await pickBetter(fit, fullSize, smaller);
  await fit.framesAt(kept.shape);
  return finish(kept.q, kept.bytes, kept.shape);
}
