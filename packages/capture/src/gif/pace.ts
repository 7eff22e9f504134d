/**
 * Rate control for an animated GIF: a pass that chooses each frame's quality as it goes,
 * so that the file lands just under a byte target in one try instead of a bisection over
 * whole-clip tries.
 *
 * One blind pass cannot do this (film is often heavy in one half and light in the other),
 * so the pass is guided by what is known of every frame: the notes of an earlier try of the
 * same frames (`GifNotes`: per frame its bytes, its quality, and how many of its pixels
 * changed by how much, `diffFrame`'s change histogram), or for a first try a preview taken
 * from the frames themselves (`Preview`, sizes guessed from each frame's change from the
 * one before, calibrated by the first frame once it is written). A lower quality keeps more
 * pixels as they are (a larger difference threshold), and a frame's bytes follow the pixels
 * it redraws, as the count raised to `CHANGE_EXPONENT` (the pixels a larger threshold still
 * redraws are the busier ones); below the qualities that are lossless, lossy LZW takes
 * about e-fold fewer bytes every `LOSSY_QUALITY_PER_EFOLD` steps. The frames still to come,
 * at those forecasts scaled by how far the frames written so far came out above or below
 * theirs, share what is left of the target at one quality. Quality thus stays nearly
 * constant over the clip (what looks best for the bytes) and moves only as far as the real
 * sizes disagree with the forecast.
 *
 * A pass guided by notes also takes the earlier try's palettes and remapped indices: that
 * try drew more of each frame (its threshold was lower), so its palette covers what this
 * pass draws, and the second pass costs differencing and LZW only.
 */
import type { RgbaImage } from '../types';
import { colorDistance, type Palette } from './color';
import type { Area } from './dither';
import { CHANGE_BINS } from './diff';

/** How a frame's bytes grow with the pixels it redraws (fitted on film, qualities 60–80). */
const CHANGE_EXPONENT = 0.7;
/** Quality steps over which lossy LZW's output shrinks about e-fold (film, qualities 40–60). */
const LOSSY_QUALITY_PER_EFOLD = 120;
/** Share of its budget a paced pass aims at. */
export const PACE_SHARE = 0.975;
/** Share of its budget a paced pass may use to keep quality even near the end. */
export const LIMIT_SHARE = 0.995;
/** Largest change of quality from one frame to the next. */
const MAX_STEP = 4;
/** Bytes a frame costs besides its pixels: control extension, descriptor, block framing. */
const FRAME_OVERHEAD = 20;
/**
 * A first guess of bytes per (redrawn pixels)^`CHANGE_EXPONENT` for a look-ahead preview
 * (film at 320 px: 7–15). Only its ratio to the real one matters, and the first frame,
 * written before any other, measures that (see `Preview`).
 */
const GUESS_PER_PIXEL = 10;
/**
 * How much more the later frames of a preview came out above their guesses than the
 * first frame did (median over film, pan, fades and synthetic clips at 320 px: 1.4, from
 * 1.0 to 3.6), and how many frames' worth of weight that prior has against the frames
 * written (see `Pacer.drift`).
 */
const LATER_OVER_FIRST = 1.4;
const PRIOR_FRAMES = 2;

/** One frame as `encodeGif` wrote it. */
export interface WrittenFrame {
  /** Bytes it took (0: merged into the previous frame). */
  bytes: number;
  quality: number;
  /** Its palette (none when merged). */
  palette?: Palette;
  /** Pixels that differed from the screen, by squared distance (see `diffFrame`); none for the first frame. */
  changes?: Uint32Array;
  /** The indices its pixels were remapped to, over `area` (none when merged). */
  index?: Uint8Array;
  area?: Area;
}

/** How a quality is tuned, as far as the forecast needs. */
export interface QualityModel {
  /** Largest perceptual distance treated as unchanged. */
  threshold(quality: number): number;
  /** Highest quality with lossy LZW off. */
  lossless: number;
}

/**
 * The highest x in [lo, hi] (to within `step`) with `ok(x)`, for `ok` true up to some
 * point and false after it; `ok(lo)` must hold and `ok(hi)` not.
 */
function highest(lo: number, hi: number, step: number, ok: (x: number) => boolean): number {
  while (hi - lo > step) {
    const mid = (lo + hi) / 2;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Pixels of a change histogram that a threshold `t` (distance, not squared) redraws. */
function redrawn(changes: Uint32Array, t: number): number {
  const t2 = t * t;
  if (t2 >= CHANGE_BINS) return changes[CHANGE_BINS];
  const b0 = Math.floor(t2);
  // Bin b0 holds squared distances in [b0, b0 + 1): the share above t2 is redrawn.
  let n = changes[b0] * (b0 + 1 - t2);
  for (let b = b0 + 1; b <= CHANGE_BINS; b++) n += changes[b];
  return n;
}

/**
 * Notes of one GIF try, frame by frame (see the module comment). Filled while the try
 * runs, so a try stopped early leaves notes of the frames it wrote.
 */
export class GifNotes {
  readonly written: WrittenFrame[] = [];
  /** Size of the frames (set with the first one). */
  width = 0;
  height = 0;

  constructor(
    /** Frames in the clip. */
    readonly count: number,
    private readonly model: QualityModel,
  ) {}

  /** Frames written so far. */
  get frames(): number {
    return this.written.length;
  }

  /** Mean quality of the frames written. */
  get quality(): number {
    let s = 0;
    for (const f of this.written) s += f.quality;
    return this.written.length ? s / this.written.length : 0;
  }

  /** Lowest quality a frame got. */
  get lowestQuality(): number {
    let q = Infinity;
    for (const f of this.written) q = Math.min(q, f.quality);
    return q;
  }

  add(k: number, f: WrittenFrame): void {
    this.written[k] = f;
    this.was[k] = NaN;
  }

  /** Per frame, the pixels it redrew at its own quality (NaN: not yet counted). */
  private readonly was: number[] = [];

  /** Forecast of frame `k`'s bytes at quality `q` (frames not written: like the average one written). */
  forecast(k: number, q: number): number {
    const f = this.written[k];
    if (!f) {
      const n = this.written.length;
      if (n <= 1) return n ? this.forecast(0, q) : 0;
      let s = 0;
      for (let j = 1; j < n; j++) s += this.forecast(j, q);
      return s / (n - 1);
    }
    const lossy = Math.exp(
      (Math.min(0, q - this.model.lossless) - Math.min(0, f.quality - this.model.lossless)) /
        LOSSY_QUALITY_PER_EFOLD,
    );
    if (!f.changes) return f.bytes * lossy; // the first frame: drawn whole at any quality
    const was = this.redrawnAtOwn(k, f.changes);
    const will = redrawn(f.changes, this.model.threshold(q));
    if (will <= 0) return 0;
    if (was <= 0) return FRAME_OVERHEAD + will * this.bytesPerPixel(); // merged then, not now
    const table = f.palette ? 3 << Math.max(1, Math.ceil(Math.log2(f.palette.size + 1))) : 0;
    const fixed = Math.min(f.bytes, table + FRAME_OVERHEAD);
    return fixed + (f.bytes - fixed) * (will / was) ** CHANGE_EXPONENT * lossy;
  }

  /** Forecast of the bytes of frames `from`… at quality `q`. */
  bytesFrom(from: number, q: number): number {
    let s = 0;
    for (let k = from; k < this.count; k++) s += this.forecast(k, q);
    return s;
  }

  /** Forecast of all the frames' bytes at quality `q`. */
  bytesAt(q: number): number {
    return this.bytesFrom(0, q);
  }

  /** The constant quality (unclamped) at which the frames are forecast to take `bytes` in all. */
  qualityFor(bytes: number, lo = 1, hi = 100): number {
    if (this.bytesAt(hi) <= bytes) return hi;
    if (this.bytesAt(lo) > bytes) return lo - 1;
    // Sizes only grow with quality: bisect to a tenth of a step.
    return highest(lo, hi, 0.1, (q) => this.bytesAt(q) <= bytes);
  }

  /** Pixels frame `k` redrew at its own quality (counted once). */
  private redrawnAtOwn(k: number, changes: Uint32Array): number {
    let n = this.was[k];
    if (Number.isNaN(n))
      n = this.was[k] = redrawn(changes, this.model.threshold(this.written[k].quality));
    return n;
  }

  /** Average bytes per redrawn pixel of the frames written (for frames the forecast has no size of). */
  private bytesPerPixel(): number {
    let b = 0;
    let px = 0;
    this.written.forEach((f, k) => {
      if (!f.changes || !f.bytes) return;
      b += f.bytes;
      px += this.redrawnAtOwn(k, f.changes);
    });
    return px > 0 ? b / px : 1;
  }
}

/**
 * Notes of frames not yet encoded, from the frames themselves, taken one by one as they
 * arrive: each frame's change from the one before it (its pixels by squared distance, as
 * `diffFrame` counts them against the screen), and sizes at quality `top` guessed from
 * those counts at `GUESS_PER_PIXEL`. The first frame's guess is made the same way from its
 * area; once it is written, its real size over the guess tells the pacer how far every
 * guess is off (its drift), before any other frame's quality is chosen. Costs one
 * differencing pass over the frames.
 */
export class Preview {
  readonly notes: GifNotes;
  private last: RgbaImage;
  private k = 1;
  private readonly threshold: number;

  constructor(
    first: RgbaImage,
    count: number,
    private readonly chromaWeight: number,
    private readonly top: number,
    model: QualityModel,
  ) {
    this.notes = new GifNotes(count, model);
    this.notes.width = first.width;
    this.notes.height = first.height;
    this.notes.add(0, {
      bytes: GUESS_PER_PIXEL * (first.width * first.height) ** CHANGE_EXPONENT,
      quality: top,
    });
    this.last = first;
    this.threshold = model.threshold(top);
  }

  /** Takes the next frame. */
  add(frame: RgbaImage): void {
    const changes = new Uint32Array(CHANGE_BINS + 1);
    countChanges(this.last.data, frame.data, this.chromaWeight, changes);
    const n = redrawn(changes, this.threshold);
    this.notes.add(this.k++, {
      bytes: n > 0 ? FRAME_OVERHEAD + GUESS_PER_PIXEL * n ** CHANGE_EXPONENT : 0,
      quality: this.top,
      changes,
    });
    this.last = frame;
  }
}

/** Counts the pixels that differ between two frames into `changes`, by squared perceptual distance. */
function countChanges(
  a: Uint8ClampedArray,
  b: Uint8ClampedArray,
  chromaWeight: number,
  changes: Uint32Array,
): void {
  for (let o = 0; o < a.length; o += 4) {
    const r = b[o];
    const g = b[o + 1];
    const bl = b[o + 2];
    if (a[o] === r && a[o + 1] === g && a[o + 2] === bl) continue;
    const d = colorDistance(a[o], a[o + 1], a[o + 2], r, g, bl, chromaWeight);
    changes[d < CHANGE_BINS ? Math.floor(d) : CHANGE_BINS]++;
  }
}

/** Chooses frame qualities for one paced pass; see the module comment. */
export class Pacer {
  /**
   * Bytes the frames so far took, and what was forecast for them (after the first frame:
   * `laterWrote`, `laterForesaw`).
   */
  private wrote = 0;
  private foresaw = 0;
  private laterWrote = 0;
  private laterForesaw = 0;
  private last = NaN;
  /** Mean forecast of the frames after the first (a preview's prior weighs as `PRIOR_FRAMES` of them). */
  private readonly meanLater: number;

  constructor(
    private readonly notes: GifNotes,
    /** Bytes the whole file should come to (a little under the hard limit). */
    private readonly targetBytes: number,
    /** Bytes the frames may take at most (the hard limit less the trailer and a margin). */
    private readonly limitBytes: number,
    /** Highest and lowest quality a frame may get. */
    private readonly top: number,
    private readonly bottom: number,
    /**
     * The notes are a preview's guesses (`Preview`): the first frame's size (it is
     * written at `top` before the preview is made) calibrates the guesses for the others.
     */
    private readonly preview = false,
  ) {
    let s = 0;
    for (let k = 1; k < notes.count; k++) s += notes.written[k]?.bytes ?? 0;
    this.meanLater = notes.count > 1 ? s / (notes.count - 1) : 0;
  }

  /**
   * How far real sizes come out above (> 1) or below their forecast, as the frames so far
   * tell. From notes of a real try: all of them. From a preview: the frames after the
   * first, against a prior from the first (`LATER_OVER_FIRST` times its own ratio) that
   * weighs as `PRIOR_FRAMES` of them, since a differenced frame differs from a whole one.
   */
  private drift(): number {
    let d: number;
    if (!this.preview) d = this.foresaw > 0 ? this.wrote / this.foresaw : 1;
    else {
      const prior =
        this.foresaw > 0
          ? (LATER_OVER_FIRST * (this.wrote - this.laterWrote)) / (this.foresaw - this.laterForesaw)
          : 1;
      const weight = PRIOR_FRAMES * this.meanLater;
      d = (this.laterWrote + prior * weight) / Math.max(1e-9, this.laterForesaw + weight);
    }
    return Math.max(0.2, Math.min(5, d));
  }

  /**
   * Quality for frame `k`, given the bytes written before it (header and earlier frames):
   * the one at which the rest is forecast to meet the target; but where that is below the
   * previous frame's, no lower than the rest needs to stay under the hard limit (near the
   * end a small shortfall would otherwise be made up by a few frames at a much lower
   * quality).
   */
  quality(k: number, written: number): number {
    // Frames so far came out `drift` times their forecast: expect the same of the rest.
    const drift = this.drift();
    let lo = this.bottom;
    let hi = this.top;
    if (Number.isFinite(this.last)) {
      lo = Math.max(lo, this.last - MAX_STEP);
      hi = Math.min(hi, this.last + MAX_STEP);
    }
    if (lo >= hi) return hi;
    const aim = this.solve(k, (this.targetBytes - written) / drift, lo, hi);
    if (!(aim < this.last)) return aim;
    return Math.max(
      aim,
      this.solve(k, (this.limitBytes - written) / drift, lo, Math.min(hi, this.last)),
    );
  }

  /**
   * Forecast of the whole output if frames `k`… get quality `q`, the frames before having
   * taken `written` bytes (with the drift the frames so far showed).
   */
  total(k: number, written: number, q: number): number {
    return written + this.notes.bytesFrom(k, q) * this.drift();
  }

  /** Highest quality in [lo, hi] at which frames k… are forecast to take at most `bytes` (lo when none). */
  private solve(k: number, bytes: number, lo: number, hi: number): number {
    const fits = (q: number): boolean => this.notes.bytesFrom(k, q) <= bytes;
    if (fits(hi)) return hi;
    if (!fits(lo)) return lo;
    return highest(lo, hi, 0.25, fits);
  }

  /** Records that frame `k` took `bytes` at quality `q`. */
  record(k: number, q: number, bytes: number): void {
    this.last = q;
    const f = this.notes.forecast(k, q);
    this.wrote += bytes;
    this.foresaw += f;
    if (k > 0) {
      this.laterWrote += bytes;
      this.laterForesaw += f;
    }
  }
}
