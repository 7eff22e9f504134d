/**
 * Budget fitting: finds the best-looking sticker a `StickerWriter` can make within a hard
 * byte limit. It spends quality knobs first, then frame size, then frame rate, and
 * reports every adaptation. A writer that paces (`StickerWriter.paces`, the GIF writer)
 * is asked to choose each frame's quality itself so the first try lands just under the
 * budget, and when it misses, once more with the notes of that try; otherwise, and when
 * pacing cannot reach the budget, fitting bisects the writer's 1–100 quality (which
 * drives palette size, dithering and lossiness) over whole-clip tries. Every try writes
 * through a counting sink that stops as soon as the try passes its limit, so hopeless
 * tries cost little. The result never exceeds
 * `maxBytes`; when even the smallest sensible output does not fit, a `BudgetError` says
 * how many bytes would.
 */
import type { ProgressCallback, RgbaImage } from './types';
import { formatByteSize } from './config';
import { BudgetError, CancelledError } from './errors';
import type {
  CancelSignal,
  StickerEncodeOptions,
  StickerWriter,
  TryNotes,
  WrittenSticker,
} from './writer';
import { OverBudgetError, throwIfCancelled, yieldToEventLoop } from './writer';
import { blockSsim, resizeBilinear } from './gif/score';
import {
  aimQuality,
  fillScale,
  nextFps,
  recalibrate,
  scaleFor,
  scaled,
  type FitShape,
} from './fit-steps';

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

const now = (): number => Date.now();

/**
 * A fitting try that uses this share of the budget ends the quality search, unless the
 * sizes measured so far say a quality at least `FLAT_STEPS` higher would still fit.
 */
const GOOD_ENOUGH = 0.95;
/**
 * Some content barely grows with quality (few colours: the palette is exact long before
 * quality 100), so a try near the budget can sit far below the best quality that fits.
 */
const FLAT_STEPS = 5;
/** Paced tries made before fitting falls back to searching by whole-clip tries. */
const PACED_TRIES = 2;
/** Quality steps over which a writer's output grows about e-fold (a first guess only). */
const QUALITY_PER_EFOLD = 60;

/** A paced writer's bytes go about as the scale to this power when the frame shrinks (a first guess; tries recalibrate it). */
const SCALE_EXPONENT = 1.8;
/** Quality steps above the pacing floor a shrunk frame aims at. */
const PACED_AIM = 5;
/** Block SSIM a few frames must keep when scaled down and back up for fitting to shrink straight away. */
const SHRINKS_WELL = 0.95;
/** Lowest full-size quality kept without also trying a smaller frame, on content that does not shrink well. */
const FULL_SIZE_KEPT = 20;
/** How far over the budget quality `minQuality` may be at full size for the lowest qualities to be tried there. */
const FLOOR_REACH = 2;
/** Paced tries at smaller sizes before fitting falls back to exploring qualities. */
const SHRINK_TRIES = 4;

/** What one try gave. */
interface Try {
  bytes?: Uint8Array;
  size: number;
  complete: boolean;
  /** Its size, or when stopped an estimate from the share it wrote. */
  estimate: number;
}

/** Fits a sticker into `req.maxBytes`; see the module comment. */
export async function fitSticker(req: FitRequest): Promise<FitResult> {
  const { writer, maxBytes, shape: base } = req;
  if (!(maxBytes > 0) || !Number.isFinite(maxBytes))
    throw new RangeError(`maxBytes must be a positive number of bytes, got ${maxBytes}`);
  if (!(base.width >= 1 && base.height >= 1 && base.fps > 0))
    throw new RangeError(
      `shape must have a size of at least 1×1 and a positive fps, got ${base.width}×${base.height} at ${base.fps} fps`,
    );
  const signal = req.signal;
  const qMax = Math.max(1, Math.min(100, Math.round(req.quality)));
  const qMin = Math.max(1, Math.min(qMax, Math.round(req.minQuality ?? 35)));
  const qFloor = Math.max(1, Math.min(qMin, Math.round(req.floorQuality ?? 1)));
  const longest = Math.max(base.width, base.height);
  const minScale = Math.min(1, Math.min(longest, req.minSide ?? 64) / longest);
  const minFps = Math.min(base.fps, req.minFps ?? 4);
  let tries = 0;
  let decodeMs = 0;
  let encodeMs = 0;
  let progress = 0;

  const report = (fraction: number, message: string): void => {
    progress = Math.max(progress, fraction >= 1 ? 1 : Math.min(0.99, fraction));
    if (req.onProgress?.({ stage: 'fit', fraction: progress, message }) === false)
      throw new CancelledError();
    throwIfCancelled(signal);
  };

  // Frames of the asked shape stay in memory (they are the reference for scoring); of
  // the other shapes only the latest is kept.
  const keyOf = (shape: FitShape): string => `${shape.width}x${shape.height}@${shape.fps}`;
  const baseKey = keyOf(base);
  const cache = new Map<string, FitFrames>();
  /** Frames at `shape`; with `arriving`, possibly still decoding (see `FitFrames`). */
  const framesAt = async (shape: FitShape, arriving = false): Promise<FitFrames> => {
    const key = keyOf(shape);
    let f = cache.get(key);
    if (!f) {
      const t0 = now();
      f = await req.frames(shape, signal);
      if (f.complete) {
        // Decode time is until the last frame is in (it overlaps the first try's encoding).
        f.complete.then(
          () => (decodeMs += now() - t0),
          () => {},
        );
      } else decodeMs += now() - t0;
      for (const k of [...cache.keys()]) if (k !== baseKey) cache.delete(k);
      cache.set(key, f);
    }
    if (!arriving && f.complete) await f.complete;
    return f;
  };

  // What each fitting output's try wrote, by its bytes (the result's are looked up).
  const written = new WeakMap<Uint8Array, WrittenSticker>();

  // Wall time with at least one try running.
  let running = 0;
  let runningSince = 0;

  /** One try: bytes when it fits `limit`, else the count reached when it stopped. */
  const attempt = async (
    quality: number,
    shape: FitShape,
    limit: number,
    via: StickerWriter = writer,
    extra?: Pick<StickerEncodeOptions, 'notes' | 'pace' | 'targetBytes'>,
  ): Promise<Try> => {
    // A writer that reads frame after frame may start before the last frame is decoded.
    const arriving = via.sequential === true;
    const f = await framesAt(shape, arriving);
    // Let a Cancel (a timer, a worker message) be seen between tries.
    await yieldToEventLoop(signal);
    tries++;
    report(
      Math.min(0.95, tries / 12),
      `try ${tries}: ${extra?.pace ? `paced, quality up to ${quality}` : `quality ${quality}`}, ${shape.width}×${shape.height} at ${shape.fps} fps`,
    );
    if (running++ === 0) runningSince = now();
    let done = 0;
    const wrote: { of?: WrittenSticker } = {};
    try {
      const bytes = await via.encode(f.frames, f.delaysMs, {
        quality,
        maxBytes: limit,
        targetBytes: maxBytes,
        signal,
        onProgress: (fraction) => {
          done = fraction;
          throwIfCancelled(signal);
        },
        frameReady: arriving && f.complete ? f.ready : undefined,
        written: (w) => (wrote.of = w),
        ...extra,
      });
      if (wrote.of) written.set(bytes, wrote.of);
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
      if (--running === 0) encodeMs += now() - runningSince;
      // A try stopped early leaves the decoder going: its frames are wanted next.
      if (arriving && f.complete) await f.complete;
    }
  };

  const fits = (r: { bytes?: Uint8Array; size: number }): boolean =>
    r.bytes !== undefined && r.size <= maxBytes;
  /** The quality a try is reported at: for a paced one, its frames' mean. */
  const qualityOf = (notes: TryNotes): number =>
    Math.max(1, Math.min(qMax, Math.round(notes.quality)));

  /** Tries quality `q` (in (best, top)) and narrows the bracket by what it gave. */
  type Bracket = { best?: { q: number; bytes: Uint8Array }; top: number; topSize?: number };
  const tryQuality = async (
    shape: FitShape,
    q: number,
    limit: number,
    b: Bracket,
  ): Promise<Bracket> => {
    const r = await attempt(q, shape, limit);
    if (fits(r)) return { ...b, best: { q, bytes: r.bytes! } };
    return { ...b, top: q, topSize: r.estimate };
  };

  /**
   * Highest quality in (lo, hi] that fits at `shape`, given that `lo` fits with `loBytes`.
   * `hiSize` is what `hi + 1` measured, or would have measured by the share it wrote
   * before it was stopped, when known. Interpolates log(size) between the nearest fitting
   * and failing tries (sizes grow about exponentially with quality), and stops early once
   * a fitting try uses nearly all of the budget and the interpolation puts the best
   * fitting quality less than `FLAT_STEPS` above it. Using a stopped try's estimate (instead
   * of a blind step) usually lands within the last 5 % of the budget in one try.
   */
  const searchQuality = async (
    shape: FitShape,
    lo: number,
    loBytes: Uint8Array,
    hi: number,
    hiSize?: number,
  ): Promise<{ q: number; bytes: Uint8Array }> => {
    let b: Bracket = { best: { q: lo, bytes: loBytes }, top: hi + 1, topSize: hiSize };
    /** The quality expected to give `share` of the budget. */
    const aim = (best: { q: number; bytes: Uint8Array }, share: number): number =>
      aimQuality(
        { q: best.q, size: best.bytes.length },
        b.top,
        b.topSize,
        maxBytes,
        share,
        QUALITY_PER_EFOLD,
      );
    // The smallest quality known not to fit is `b.top` (its size, measured or estimated,
    // is `b.topSize`).
    // A try near the budget ends the search unless the sizes say a quality FLAT_STEPS or
    // more higher still fits (few-colour content barely grows with quality).
    // Where sizes bend sharply (a jump at low qualities, then nearly flat), the log-size
    // line keeps aiming just under the failing end and the bracket shrinks by a step a try:
    // after two tries in a row that failed by more than 5 %, the next one halves the
    // bracket instead. (Tries failing by less show the line converging.)
    // Likewise where sizes are flat (a step function of quality: few colours, where the
    // palette is exact long before the top): a fitting try that grew less than 2 % over the
    // best before it says the line undershoots, and the next try halves the bracket.
    let failedInRow = 0;
    let flat = false;
    while (b.top - b.best!.q > 1) {
      const best = b.best!;
      const line = aim(best, 0.985);
      if (best.bytes.length >= maxBytes * GOOD_ENOUGH && line < best.q + FLAT_STEPS) break;
      const q = failedInRow >= 2 || flat ? Math.floor((best.q + b.top) / 2) : line;
      const top = b.top;
      b = await tryQuality(shape, q, maxBytes * 1.25, b);
      failedInRow =
        b.best === best && b.top < top && (b.topSize ?? Infinity) > maxBytes * 1.05
          ? failedInRow + 1
          : 0;
      flat = b.best !== best && b.best!.bytes.length < best.bytes.length * 1.02;
    }
    return b.best!;
  };

  const finish = (q: number, bytes: Uint8Array, shape: FitShape): FitResult => {
    const adapted: Adaptations = {};
    if (q !== qMax) {
      adapted.quality = { from: qMax, to: q };
      const a = writer.describe?.(qMax) as Record<string, unknown> | undefined;
      const b = writer.describe?.(q) as Record<string, unknown> | undefined;
      if (a && b) {
        for (const k of ['colors', 'dither', 'lossy'] as const) {
          if (a[k] !== undefined && a[k] !== b[k]) {
            const from = typeof a[k] === 'number' ? Math.round(a[k] * 10) / 10 : a[k];
            const to = typeof b[k] === 'number' ? Math.round(b[k] * 10) / 10 : b[k];
            (adapted as Record<string, unknown>)[k] = { from, to };
          }
        }
      }
    }
    if (shape.width !== base.width) adapted.width = { from: base.width, to: shape.width };
    if (shape.height !== base.height) adapted.height = { from: base.height, to: shape.height };
    if (shape.fps !== base.fps) adapted.fps = { from: base.fps, to: shape.fps };
    report(1, 'fitted');
    return {
      bytes,
      quality: q,
      shape,
      frames: cache.get(keyOf(shape))!,
      adapted,
      written: written.get(bytes),
      tries,
      decodeMs,
      encodeMs,
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
  const first = await attempt(
    qMax,
    base,
    maxBytes * (noting ? 2 : 1.25),
    writer,
    noting ? { notes: (n) => (firstNotes.of = n), pace: 'ahead' } : undefined,
  );
  if (fits(first)) {
    // As asked, or (paced) all but the last frames near it, or near enough the budget.
    const q = firstNotes.of ? qualityOf(firstNotes.of) : qMax;
    if (q === qMax || first.size >= maxBytes * GOOD_ENOUGH) return finish(q, first.bytes!, base);
  }

  // Its size at the asked quality: a paced first try wrote each frame at its own quality,
  // and its notes say what all at the asked quality would have taken.
  const sizeAtTop = firstNotes.of && first.complete ? firstNotes.of.bytesAt(qMax) : first.estimate;

  // 2a. A paced try: guided by the first try's notes, the writer chooses each frame's
  // quality so the whole lands just under the budget, usually in this one try. Only when
  // the notes forecast a quality the writer can pace down to.
  if (firstNotes.of) {
    const fitted = fits(first) ? { q: qualityOf(firstNotes.of), bytes: first.bytes! } : undefined;
    const b = await pacedSearch(base, firstNotes.of, fitted, sizeAtTop);
    if (b) return finish(b.q, b.bytes, base);
  }

  // 2b. Below what pacing reaches at full size, on content that shrinks well (film, fractals,
  // cartoons): straight to the frame size at which a paced try lands near the budget, as
  // forecast from the first try's notes, instead of exploring the lowest qualities first.
  if (firstNotes.of && writer.paces && firstNotes.of.frames > 0) {
    const quick = await shrinkAhead(firstNotes.of, writer.paces.minQuality);
    if (quick) {
      await framesAt(quick.shape);
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
      const b = await tryQuality(base, guess, maxBytes * 1.25, { top, topSize });
      if (b.best) {
        const s = await searchQuality(base, b.best.q, b.best.bytes, b.top - 1, b.topSize);
        return finish(s.q, s.bytes, base);
      }
      top = b.top;
      topSize = b.topSize ?? topSize;
    }
  }
  const floor = await attempt(qMin, base, maxBytes * 4);
  if (fits(floor)) {
    const b = await searchQuality(base, qMin, floor.bytes!, top - 1, topSize);
    return finish(b.q, b.bytes, base);
  }

  // 3. Frame size, then 4. frame rate. When the writer can score its output, first see
  // what the lowest qualities give at full size: on some content (noise, fine texture) that
  // looks better than a smaller frame, and the better of the two is kept.
  let fullSize: { q: number; bytes: Uint8Array } | undefined;
  // (Not when the floor quality is over twice the budget: the lowest qualities save far
  // less than that on every content measured.)
  if (writer.score && qFloor < qMin && floor.estimate < maxBytes * FLOOR_REACH) {
    const r = await attempt(qFloor, base, maxBytes * 1.25);
    if (fits(r)) fullSize = await searchQuality(base, qFloor, r.bytes!, qMin - 1, floor.estimate);
  }
  // Content that does not shrink well (pixel art, noise, small text) keeps its full size
  // when a quality not far below the usual floor fits there.
  if (
    fullSize &&
    fullSize.q >= FULL_SIZE_KEPT &&
    (await shrinkKeeps(Math.min(0.97, Math.sqrt(maxBytes / floor.estimate)))) < SHRINKS_WELL
  ) {
    return finish(fullSize.q, fullSize.bytes, base);
  }
  let smaller: { q: number; bytes: Uint8Array; shape: FitShape } | undefined;
  try {
    smaller = await shrink(floor);
  } catch (e) {
    if (!(e instanceof BudgetError) || !fullSize) throw e;
  }
  if (fullSize && smaller && writer.score) {
    const ref = await framesAt(base);
    const a = writer.score(fullSize.bytes, ref.frames, ref.delaysMs);
    const b = writer.score(smaller.bytes, ref.frames, ref.delaysMs);
    if (a >= b) smaller = undefined;
  }
  if (smaller) {
    await framesAt(smaller.shape);
    return finish(smaller.q, smaller.bytes, smaller.shape);
  }
  return finish(fullSize!.q, fullSize!.bytes, base);

  /**
   * Paced tries at `shape` (up to `PACED_TRIES`), each guided by the notes of the one
   * before, starting from `notes`, while the notes forecast a quality the writer can pace
   * down to. `fitted` is a fitting output of these frames already made, if any. Returns the
   * best fitting output: one within `GOOD_ENOUGH` of the budget, or, when the paced tries
   * fall short, what whole-clip tries above their mean quality find; undefined when pacing
   * cannot reach the budget (fitting goes on without it).
   */
  async function pacedSearch(
    shape: FitShape,
    notes: TryNotes,
    fitted?: { q: number; bytes: Uint8Array },
    topSize?: number,
  ): Promise<{ q: number; bytes: Uint8Array } | undefined> {
    if (!writer.paces) return fitted;
    let best = fitted;
    for (let i = 0; i < PACED_TRIES && notes.frames > 0; i++) {
      if (best && best.bytes.length >= maxBytes * GOOD_ENOUGH) break;
      if (notes.qualityFor(maxBytes * GOOD_ENOUGH) < writer.paces.minQuality) break;
      const next: { of?: TryNotes } = {};
      const r = await attempt(qMax, shape, maxBytes, writer, {
        pace: notes,
        notes: (n) => (next.of = n),
      });
      if (!fits(r) || !next.of) break;
      const q = qualityOf(next.of);
      if (!best || r.size > best.bytes.length) best = { q, bytes: r.bytes! };
      notes = next.of;
    }
    if (best && best.bytes.length < maxBytes * GOOD_ENOUGH && best.q < qMax) {
      // Short of the budget: whole-clip tries above what the paced one averaged.
      return searchQuality(shape, best.q, best.bytes, qMax - 1, topSize);
    }
    return best;
  }

  /**
   * How well the frames survive shrinking to `s` (block SSIM of a few frames scaled down
   * and back up): pixel art, noise and small text do not, and there a full-size sticker at
   * a low quality may look better than a smaller one.
   */
  async function shrinkKeeps(s: number): Promise<number> {
    const f = await framesAt(base);
    const w = Math.max(1, Math.round(base.width * s));
    const h = Math.max(1, Math.round(base.height * s));
    let sum = 0;
    const picks = [0, Math.floor(f.frames.length / 2)].filter(
      (k, i, a) => k < f.frames.length && a.indexOf(k) === i,
    );
    for (const k of picks) {
      const img = f.frames[k]!;
      sum += blockSsim(img, resizeBilinear(resizeBilinear(img, w, h), img.width, img.height));
    }
    return sum / picks.length;
  }

  /**
   * Paced tries at a smaller frame (see 2b): the scale where `notes` forecast quality
   * `PACED_AIM` above the pacing floor to fit, then, while a try misses, the scale its own
   * notes forecast (the exponent recalibrated from the two sizes). Undefined when the
   * content does not shrink well or the scale would go below the smallest size.
   */
  async function shrinkAhead(
    notes: TryNotes,
    paceFloor: number,
  ): Promise<{ q: number; bytes: Uint8Array; shape: FitShape } | undefined> {
    const qAim = Math.min(qMax, paceFloor + PACED_AIM);
    let s = Math.min(0.97, scaleFor(notes, 1, qAim, maxBytes * 0.9, SCALE_EXPONENT));
    if (s < minScale) return undefined;
    if ((await shrinkKeeps(s)) < SHRINKS_WELL) return undefined;
    let exponent = SCALE_EXPONENT;
    let prev = { s: 1, bytes: notes.bytesAt(qAim) };
    // Paced tries while the forecast holds; once pacing cannot reach the budget at a size,
    // whole-clip tries at `qMin` (below the pacing floor a shared palette saves each
    // frame's table, which small frames feel most).
    let paced = true;
    let floorPrev: { s: number; size: number } | undefined;
    for (let i = 0; i < SHRINK_TRIES; i++) {
      const shape = scaled(base, s, base.fps);
      if (!paced) {
        const r = await attempt(qMin, shape, maxBytes * 4);
        if (fits(r)) {
          const f = await fillByScale(
            base.fps,
            s,
            shape,
            r,
            floorPrev && floorPrev.s > s
              ? { scale: floorPrev.s, estimate: floorPrev.size }
              : undefined,
          );
          const b = await searchQuality(f.shape, qMin, f.r.bytes!, paceFloor);
          return { ...b, shape: f.shape };
        }
        if (floorPrev && floorPrev.s !== s)
          exponent = recalibrate(
            { s: floorPrev.s, bytes: floorPrev.size },
            { s, bytes: r.estimate },
            exponent,
          );
        floorPrev = { s, size: r.estimate };
        const smaller = Math.min(s * 0.97, s * ((maxBytes * 0.95) / r.estimate) ** (1 / exponent));
        if (smaller < minScale) return undefined;
        s = smaller;
        continue;
      }
      const next: { of?: TryNotes } = {};
      const r = await attempt(qMax, shape, maxBytes, writer, {
        pace: 'ahead',
        notes: (n) => (next.of = n),
      });
      const n = next.of;
      if (!n || n.frames === 0) return undefined;
      if (fits(r)) {
        const q = qualityOf(n);
        if (r.size >= maxBytes * GOOD_ENOUGH || q >= qMax) {
          if (r.size >= maxBytes * GOOD_ENOUGH) return { q, bytes: r.bytes!, shape };
          // Everything at the asked quality and still short: a larger frame fits.
          const grown = Math.min(1, s * ((maxBytes * 0.95) / r.size) ** (1 / exponent));
          if (grown <= s * 1.02) return { q, bytes: r.bytes!, shape };
          prev = { s, bytes: r.size };
          s = grown;
          continue;
        }
        const b = await pacedSearch(shape, n, { q, bytes: r.bytes! });
        return b && { ...b, shape };
      }
      if (n.qualityFor(maxBytes * GOOD_ENOUGH) >= paceFloor) {
        const b = await pacedSearch(shape, n);
        if (b) return { ...b, shape };
        paced = false;
        continue;
      }
      // Still too big: recalibrate how bytes follow scale, and shrink again.
      const here = n.bytesAt(qAim);
      if (prev.s !== s && here > 0 && prev.bytes > 0)
        exponent = recalibrate(prev, { s, bytes: here }, exponent);
      prev = { s, bytes: here };
      const smaller = Math.min(s * 0.95, scaleFor(n, s, qAim, maxBytes * 0.9, exponent));
      if (smaller < minScale) return undefined;
      s = smaller;
    }
    return undefined;
  }

  /**
   * A try at `qMin` that fits at scale `s` but short of `GOOD_ENOUGH` of the budget, with
   * a larger scale known not to fit (`bigger`, its size or estimate): one more try at the
   * scale the two sizes put at the budget (bytes follow a power of the scale), kept when
   * it fits and is larger. At the lowest qualities sizes barely move with quality, so the
   * frame's size is the knob that fills the budget.
   */
  async function fillByScale(
    fps: number,
    s: number,
    shape: FitShape,
    r: Try,
    bigger: { scale: number; estimate: number } | undefined,
    noted: { of?: TryNotes } = {},
  ): Promise<{ shape: FitShape; r: Try; noted: { of?: TryNotes } }> {
    const kept = { shape, r, noted };
    if (!bigger || r.size >= maxBytes * GOOD_ENOUGH || !(bigger.estimate > maxBytes)) return kept;
    const s2 = fillScale(s, r.size, bigger, maxBytes);
    if (s2 === undefined) return kept;
    const shape2 = scaled(base, s2, fps);
    if (shape2.width <= shape.width && shape2.height <= shape.height) return kept;
    const noted2: { of?: TryNotes } = {};
    const r2 = await attempt(
      qMin,
      shape2,
      maxBytes * 1.25,
      writer,
      writer.paces ? { notes: (n) => (noted2.of = n) } : undefined,
    );
    return fits(r2) && r2.size > r.size ? { shape: shape2, r: r2, noted: noted2 } : kept;
  }

  /**
   * At each rate, the largest scale that fits at quality `qMin` (bytes grow about with
   * pixels and with frames; a stopped try gives a lower bound), then quality raised again
   * at that scale. Throws `BudgetError` when even the smallest output does not fit.
   */
  async function shrink(floorTry: {
    size: number;
    complete: boolean;
    estimate: number;
  }): Promise<{ q: number; bytes: Uint8Array; shape: FitShape }> {
    let fps = base.fps;
    // Size at scale 1 for the current rate, measured or predicted.
    let full = { size: floorTry.size, complete: floorTry.complete, estimate: floorTry.estimate };
    for (;;) {
      let at = { scale: 1, size: full.size, estimate: full.estimate };
      // Bytes at the smallest size, at this rate: set when the loop below reaches it.
      let smallest: number;
      for (;;) {
        const s = Math.max(
          minScale,
          Math.min(at.scale * 0.95, at.scale * Math.sqrt(maxBytes / at.size) * 0.95),
        );
        const shape = scaled(base, s, fps);
        const noted: { of?: TryNotes } = {};
        const r0 = await attempt(
          qMin,
          shape,
          maxBytes * 4,
          writer,
          writer.paces ? { notes: (n) => (noted.of = n) } : undefined,
        );
        if (fits(r0)) {
          const f = await fillByScale(
            fps,
            s,
            shape,
            r0,
            at.scale > s ? { scale: at.scale, estimate: at.estimate } : undefined,
            noted,
          );
          const r = f.r;
          // Quality raised again at this scale: paced from this try's notes when the
          // writer can, else whole-clip tries.
          const paced = f.noted.of
            ? await pacedSearch(f.shape, f.noted.of, { q: qMin, bytes: r.bytes! })
            : undefined;
          const b =
            paced && paced.q > qMin ? paced : await searchQuality(f.shape, qMin, r.bytes!, qMax);
          return { ...b, shape: f.shape };
        }
        const r = r0;
        at = { scale: s, size: r.size, estimate: r.estimate };
        if (s <= minScale) {
          smallest = r.size;
          break;
        }
      }
      if (fps <= minFps) {
        // Last resort at the smallest size and rate: quality below the usual floor.
        const shape = scaled(base, minScale, fps);
        const r = await attempt(qFloor, shape, Infinity);
        if (fits(r)) {
          const b = await searchQuality(shape, qFloor, r.bytes!, qMin - 1);
          return { ...b, shape };
        }
        // Nothing sensible fits: say how many bytes the smallest output needs.
        const seconds = (await framesAt(shape)).delaysMs.reduce((a, d) => a + d, 0) / 1000;
        const smallest = `even ${shape.width}×${shape.height} at ${shape.fps} fps and the lowest quality needs ${r.size} bytes for ${seconds.toFixed(2)} s (${writer.format})`;
        throw new BudgetError(
          `maxStickerBytes ${maxBytes} is too small: ${smallest}; allow at least ${r.size} bytes or shorten the range`,
          r.size,
          `A sticker size limit of ${formatByteSize(maxBytes)} is too small: ${smallest}; allow at least ${formatByteSize(r.size)} or shorten the range`,
        );
      }
      // Lower the rate; skip rates that cannot fit even at the smallest size.
      const next = nextFps(fps, minFps, smallest, maxBytes);
      full = {
        size: (full.size * next) / fps,
        complete: full.complete,
        estimate: (full.estimate * next) / fps,
      };
      fps = next;
    }
  }
}
