/**
 * The GIF encoder proper: palette → remap/dither → frame differencing → lossy LZW →
 * GIF89a, each stage in its own file, frames written into a counting sink (so an
 * over-budget try stops early), optionally paced frame by frame (`pace.ts`).
 */
import type { RgbaImage } from '../types';
import { CancelledError } from '../errors';
import type { CancelSignal } from '../writer';
import {
  CountingSink,
  OverBudgetError,
  throwIfCancelled,
  yieldForIo,
  yieldToEventLoop,
} from '../writer';
import { CHROMA_WEIGHT, Palette, chromaWeightFor, colorDistance, toPerceptual } from './color';
import { Histogram, buildPalette } from './palette';
import type { Area } from './dither';
import { remap } from './dither';
import { CHANGE_BINS, Canvas, diffFrame } from './diff';
import { LzwEncoder } from './lzw';
import { FrameWriter } from './frame';
import { delaysToCentiseconds, tableBits, writeHeader, writeTrailer } from './gif89a';
import { GifNotes, LIMIT_SHARE, PACE_SHARE, Pacer, Preview, type WrittenFrame } from './pace';
import { GIF_QUALITY_MODEL, LOCAL_PALETTE_QUALITY, gifTuning, type GifTuning } from './tuning';

/** Options of `encodeGif`. */
export interface GifOptions extends Partial<GifTuning> {
  /** How long each frame stays on screen, in milliseconds (sum = clip length). */
  delaysMs: readonly number[];
  /** Quality 1–100 choosing the default tuning (default 80); explicit knobs override it. */
  quality?: number;
  /** Loop forever (default true). */
  loop?: boolean;
  /** Hard byte limit; an over-budget try throws `OverBudgetError` as soon as it passes it. */
  maxBytes?: number;
  signal?: CancelSignal;
  /** Fraction 0..1. Return `false` to cancel. */
  onProgress?: (fraction: number) => void | boolean;
  /**
   * A palette to use instead of building one (R,G,B per entry; at most 255 entries in an animation,
   * 256 in a still).
   */
  paletteRgb?: Uint8Array;
  /** Chroma weight of colour distances (default: chosen from the first frame by `chromaWeightFor`). */
  chromaWeight?: number;
  /**
   * Frames still arriving: `frames` fills up while encoding (`delaysMs` gives the count);
   * awaited before frame k is read. With per-frame palettes, encoding keeps pace with
   * the decoder instead of waiting for the last frame.
   */
  frameReady?: (frame: number) => Promise<void>;
  /**
   * A paced pass (see `Pacer`): each frame gets its own quality, between `pace.minQuality`
   * and `quality`, so that the file lands just under `pace.budget` (at `PACE_SHARE` of
   * it), guided by the notes of an earlier try of the same frames (whose palettes and
   * indices it reuses), or without notes by a look at all the frames after the first is
   * written (`Preview`; it waits for them). A frame that would pass `maxBytes` is written
   * again at `pace.minQuality` before the encode gives up. Only for animations with
   * per-frame palettes (qualities ≥ `LOCAL_PALETTE_QUALITY`).
   */
  pace?: { notes?: GifNotes; budget: number; minQuality: number };
  /**
   * With `frameReady`: while the first frame is not in yet, run this instead of only
   * waiting (`warmUpGif`, for a fresh thread's first try), until the promise settles.
   */
  warmUp?: (until: PromiseLike<unknown>) => Promise<void>;
  /** Called as each frame is written, with what a later paced try needs to know of it. */
  onFrame?: (frame: number, written: WrittenFrame) => void;
}

/**
 * k-means passes over a frame's own palette. Its variance cuts are already close: on film,
 * pan, fades and synthetic clips, 3 passes instead of 6 moved SSIM by at most 0.0002 and
 * made each try about 12 % faster.
 */
const FRAME_KMEANS_ITERATIONS = 3;

/**
 * A look-ahead paced try whose preview forecasts this many times its budget even at the
 * lowest paced quality stops before its second frame (the forecast is off by up to ±40 %
 * at that point; a try stopped wrongly leaves fitting to search by whole-clip tries).
 */
const HOPELESS = 1.4;

/** See the look-ahead in `encodeGif`: what a later frame may cost, as a share of the first, with no need to pace. */
const AMPLE = 0.75;

/** What `encodeGif` produced. */
export interface GifResult {
  bytes: Uint8Array;
  /** Frames written (identical consecutive frames are merged). */
  frames: number;
  /** Delay of each written frame, in centiseconds. */
  delaysCs: number[];
  /** Palette size used. */
  colors: number;
  /** Quality of the frames: the one asked for, or with `pace` the mean of the frames'. */
  quality: number;
  /** With `pace`: the lowest quality a frame got. */
  lowestQuality?: number;
}

const now = (): number => Date.now();

/**
 * Lossy LZW measures substitutions with chroma weighted up whatever the palette's space:
 * SSIM counts both chroma planes, and a run of wrong hues costs more than it saves.
 */
const LOSSY_CHROMA_WEIGHT = CHROMA_WEIGHT;

/** Builds the palette shared by all frames from a sample of their pixels. */
export function paletteFor(
  frames: readonly RgbaImage[],
  colors: number,
  chromaWeight?: number,
  maxMse?: number,
): Palette {
  const hist = new Histogram();
  const total = frames.reduce((s, f) => s + f.width * f.height, 0);
  const step = Math.max(1, Math.floor(total / 1_500_000));
  for (const f of frames) hist.add(f, 1, step);
  return buildPalette(hist, { colors, chromaWeight, maxMse });
}

/** How many pixels of `area` `keep` (whole-frame, 0/1 a pixel) marks as kept. */
function countKept(keep: Uint8Array, width: number, area: Area): number {
  let kept = 0;
  for (let y = area.y; y < area.y + area.height; y++) {
    const end = y * width + area.x + area.width;
    for (let p = y * width + area.x; p < end; p++) kept += keep[p];
  }
  return kept;
}

/**
 * Per pixel of `area` (area-sized `out`, row after row): 1 where `keepFull` keeps it, or
 * where the screen already shows it at least as well as its new palette colour would (no
 * quality lost, long transparent runs won).
 */
function keepBetter(
  data: Uint8ClampedArray,
  width: number,
  area: Area,
  keepFull: Uint8Array,
  index: Uint8Array,
  rgb: Uint8Array,
  sh: Uint8Array,
  cw: number,
  out: Uint8Array,
): void {
  let i = 0;
  for (let y = 0; y < area.height; y++) {
    let p = (area.y + y) * width + area.x;
    for (let x = 0; x < area.width; x++, i++, p++) {
      if (keepFull[p]) {
        out[i] = 1;
        continue;
      }
      const c = index[i] * 3;
      const r = data[p * 4];
      const g = data[p * 4 + 1];
      const b = data[p * 4 + 2];
      const dNew = colorDistance(rgb[c], rgb[c + 1], rgb[c + 2], r, g, b, cw);
      out[i] = colorDistance(sh[p * 3], sh[p * 3 + 1], sh[p * 3 + 2], r, g, b, cw) <= dNew ? 1 : 0;
    }
  }
}

/** Whether `a` lies inside `b`. */
function within(a: Area, b: Area): boolean {
  return (
    a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width && a.y + a.height <= b.y + b.height
  );
}

/** Copies the part `to` (inside `from`) of `src`, laid out over `from`, into `out`, laid out over `to`. */
function copyArea(src: Uint8Array, from: Area, to: Area, out: Uint8Array): void {
  for (let y = 0; y < to.height; y++) {
    const s = (to.y - from.y + y) * from.width + (to.x - from.x);
    out.set(src.subarray(s, s + to.width), y * to.width);
  }
}

/** Weighted Y'CbCr (lossy LZW's space) of every pixel of `area`, into area-sized `out`. */
function truthOf(data: Uint8ClampedArray, width: number, area: Area, out: Float32Array): void {
  let i = 0;
  for (let y = 0; y < area.height; y++) {
    let p = (area.y + y) * width + area.x;
    for (let x = 0; x < area.width; x++, i++, p++)
      toPerceptual(data[p * 4], data[p * 4 + 1], data[p * 4 + 2], out, i * 3, LOSSY_CHROMA_WEIGHT);
  }
}

/**
 * Encodes an animated GIF. Frames must all have the same size. Throws `OverBudgetError`
 * (from the counting sink) when `maxBytes` is passed, `CancelledError` when cancelled.
 */
export async function encodeGif(
  frames: readonly RgbaImage[],
  options: GifOptions,
): Promise<GifResult> {
  const ready = options.frameReady;
  // Arriving frames: the delays say how many there will be.
  const count = ready ? options.delaysMs.length : frames.length;
  if (count === 0) throw new RangeError('encodeGif needs at least one frame');
  if (options.delaysMs.length !== count)
    throw new RangeError(
      `encodeGif got ${frames.length} frames but ${options.delaysMs.length} delays`,
    );
  if (ready) {
    // Waiting for the decoder (it may be seeking): time to warm up.
    if (frames.length === 0 && options.warmUp) await options.warmUp(ready(0));
    await ready(0);
  }
  const quality = options.quality ?? 80;
  /** The tuning of a quality, with the knobs given explicitly overriding it. */
  const tune = (q: number): GifTuning => {
    const base = gifTuning(q);
    return {
      colors: options.colors ?? base.colors,
      dither: options.dither ?? base.dither,
      ditherStrength: options.ditherStrength ?? base.ditherStrength,
      lossy: options.lossy ?? base.lossy,
      diffThreshold: options.diffThreshold ?? base.diffThreshold,
      localPalettes: options.localPalettes ?? base.localPalettes,
      paletteMse: options.paletteMse ?? base.paletteMse,
    };
  };
  const t = tune(quality);
  const { width, height } = frames[0];
  const checkSize = (f: RgbaImage): void => {
    if (f.width !== width || f.height !== height)
      throw new RangeError(
        `encodeGif frames differ in size: ${f.width}×${f.height} vs ${width}×${height}`,
      );
  };
  if (!ready) frames.forEach(checkSize);
  const signal = options.signal;
  const report = (fraction: number): void => {
    if (options.onProgress?.(fraction) === false) throw new CancelledError();
    throwIfCancelled(signal);
  };
  const animated = count > 1;
  if (animated && options.paletteRgb && options.paletteRgb.length / 3 > 255)
    throw new RangeError(
      `an animation's paletteRgb holds at most 255 colours (one index is kept for transparency), got ${options.paletteRgb.length / 3}`,
    );
  const wantLocal = animated && t.localPalettes && !options.paletteRgb;
  let pace = options.pace && animated ? options.pace : undefined;
  if (
    pace &&
    (!wantLocal ||
      pace.minQuality < LOCAL_PALETTE_QUALITY ||
      !(pace.budget > 0) ||
      (pace.notes && pace.notes.count !== count))
  )
    throw new RangeError(
      `a paced GIF needs per-frame palettes, a minQuality of at least ${LOCAL_PALETTE_QUALITY}, a positive budget and notes of the same ${count} frames; got minQuality ${pace.minQuality}, budget ${pace.budget}, notes of ${pace.notes?.count} frames`,
    );
  if (
    pace?.notes &&
    pace.notes.frames > 0 &&
    (pace.notes.width !== width || pace.notes.height !== height)
  )
    throw new RangeError(
      `a paced GIF needs notes of frames of its own size, ${width}×${height}; got notes of ${pace.notes.width}×${pace.notes.height}`,
    );
  const noted = pace?.notes?.written;
  // A shared palette is built from every frame: wait for all of them.
  if (ready && !wantLocal && !options.paletteRgb) {
    await ready(count - 1);
    frames.forEach(checkSize);
  }
  // With per-frame palettes the first frame's palette is its own; otherwise all frames share one.
  const cw = options.chromaWeight ?? chromaWeightFor(frames[0]);
  let palette = options.paletteRgb
    ? new Palette(options.paletteRgb, cw)
    : (noted?.[0]?.palette ??
      paletteFor(
        wantLocal ? frames.slice(0, 1) : frames,
        Math.max(2, Math.min(animated ? 255 : 256, t.colors)),
        cw,
        t.paletteMse,
      ));
  let T = animated ? palette.size : -1; // transparent index just after the colours
  const entries = palette.size + (animated ? 1 : 0);
  const local = wantLocal;
  const bits = Math.max(2, tableBits(entries));
  const globalRgb = new Uint8Array(entries * 3);
  globalRgb.set(palette.rgb);

  const sink = new CountingSink(
    options.maxBytes ?? Infinity,
    Math.min(options.maxBytes ?? 1 << 20, 1 << 22),
  );
  writeHeader(sink, width, height, globalRgb, options.loop !== false);
  const csDelays = delaysToCentiseconds(options.delaysMs);
  const canvas = new Canvas(width, height);
  const keepFull = new Uint8Array(width * height);
  const index = new Uint8Array(width * height);
  const keep = new Uint8Array(width * height);
  // Lossy LZW compares with the source in its own space (allocated when a frame is lossy).
  let truth: Float32Array | undefined;
  const lzw = new LzwEncoder();
  const frameWriter = new FrameWriter(lzw, canvas);
  const frameHist = new Histogram();
  if (pace) sink.hold(1); // the trailer
  const afterHeader = sink.length;
  // The pacer aims at PACE_SHARE of the budget, and may use up to LIMIT_SHARE of it (or of
  // the hard limit, if lower) to avoid a sudden drop in quality near the end. Without notes
  // it looks at every frame first (`Preview`), once the first frame is written: that
  // one is written at the top quality anyway, while the others are still being decoded.
  const pacerWith = (notes: GifNotes): Pacer =>
    new Pacer(
      notes,
      pace!.budget * PACE_SHARE,
      Math.min(pace!.budget, sink.limit) * LIMIT_SHARE - 1,
      quality,
      Math.min(quality, pace!.minQuality),
      notes !== pace!.notes,
    );
  let pacer = pace?.notes ? pacerWith(pace.notes) : undefined;
  const written: number[] = [];
  let delayAt = -1;
  let lastYield = now();
  let qualitySum = 0;
  let lowest = Infinity;

  // Someone learning about the frames gets each one's change histogram and indices.
  const changes = options.onFrame ? new Uint32Array(CHANGE_BINS + 1) : undefined;
  let remapped: { area: Area; index: Uint8Array } | undefined;

  /**
   * The palette of frame `k` (after the first) for the pixels of `area` it changes: an
   * earlier try's when it has one of the size this frame calls for, else built from them.
   */
  const framePalette = (k: number, area: Area, tk: GifTuning): Palette => {
    // Frames that change few pixels get small tables: cheaper to store, shorter codes.
    const changed = area.width * area.height - countKept(keepFull, width, area);
    const colorsWanted = Math.max(2, Math.min(255, tk.colors));
    let want = 15;
    while (want < colorsWanted && want * 32 < changed) want = want * 2 + 1;
    want = Math.min(want, colorsWanted);
    const earlier = noted?.[k]?.palette;
    if (earlier && earlier.size <= want && earlier.size > want >> 1) return earlier;
    const hist = frameHist;
    hist.clear();
    hist.addArea(frames[k], area, keepFull);
    return buildPalette(hist, {
      colors: want,
      kmeansIterations: FRAME_KMEANS_ITERATIONS,
      chromaWeight: cw,
      maxMse: tk.paletteMse,
    });
  };

  /** Writes frame `k` with tuning `tk`; false when it changed nothing (merged into the previous one). */
  const writeFrame = (k: number, tk: GifTuning): boolean => {
    const data = frames[k].data;
    let area: Area | null = { x: 0, y: 0, width, height };
    if (changes) changes.fill(0);
    if (k > 0) area = diffFrame(canvas, data, tk.diffThreshold, keepFull, cw, changes);
    if (area === null) return false;
    let localRgb: Uint8Array | undefined;
    let frameBits = bits;
    if (local && k > 0) {
      palette = framePalette(k, area, tk);
      T = palette.size;
      frameBits = Math.max(2, tableBits(T + 1));
      localRgb = new Uint8Array((T + 1) * 3);
      localRgb.set(palette.rgb);
    }
    const earlier = noted?.[k];
    if (
      earlier?.index &&
      earlier.palette === palette &&
      tk.dither === 'none' &&
      within(area, earlier.area!)
    )
      copyArea(earlier.index, earlier.area!, area, index);
    else remap(data, width, area, palette, tk.dither, tk.ditherStrength, index);
    if (options.onFrame) remapped = { area, index: index.slice(0, area.width * area.height) };
    if (k > 0) keepBetter(data, width, area, keepFull, index, palette.rgb, canvas.shown, cw, keep);
    const frameTruth = tk.lossy > 0 ? (truth ??= new Float32Array(width * height * 3)) : undefined;
    if (frameTruth) truthOf(data, width, area, frameTruth);
    delayAt = frameWriter.write(sink, {
      first: k === 0,
      area,
      palette,
      localRgb,
      codeSize: frameBits,
      index,
      keep,
      lossy: tk.lossy * tk.lossy,
      truth: frameTruth,
      truthPalette: frameTruth ? palette.coordinates(LOSSY_CHROMA_WEIGHT) : undefined,
      data,
    });
    return true;
  };

  for (let k = 0; k < count; k++) {
    // Room for every later frame to cost AMPLE times the first (a whole picture; film's
    // differenced frames cost 0.1–0.7 of it): no pacing, and no waiting for the decoder
    // either. Where that was wrong, the try's notes pace a second one.
    if (
      pace &&
      !pacer &&
      k === 1 &&
      (sink.length - afterHeader) * (1 + AMPLE * (count - 1)) <= pace.budget * PACE_SHARE
    )
      pace = undefined;
    if (pace && !pacer && k === 1) {
      // The preview takes each frame as it comes (warming up here instead measured slower:
      // it slowed the decoder more than it sped the encoder).
      const preview = new Preview(frames[0], count, cw, quality, GIF_QUALITY_MODEL);
      for (let j = 1; j < count; j++) {
        if (ready) await ready(j);
        checkSize(frames[j]);
        preview.add(frames[j]);
      }
      pacer = pacerWith(preview.notes);
      pacer.record(0, quality, sink.length - afterHeader);
      // Over the limit by far even at the lowest quality: stop now, saying roughly how big
      // the whole would be at the top quality (fitting then goes for a smaller frame).
      if (pacer.total(1, sink.length, pace.minQuality) > pace.budget * HOPELESS)
        throw new OverBudgetError(sink.length, sink.limit, pacer.total(1, sink.length, quality));
    }
    if (ready) {
      await ready(k);
      checkSize(frames[k]);
    }
    const before = sink.length;
    let q = pacer ? pacer.quality(k, before) : quality;
    let drawn: boolean;
    if (!pacer) drawn = writeFrame(k, t);
    else {
      // A paced frame that would pass the limit (less the trailer's byte, held back) is
      // written again at the lowest quality allowed. The sink throws before the frame is
      // drawn on the canvas, so only the sink is rewound.
      try {
        drawn = writeFrame(k, tune(q));
      } catch (e) {
        if (!(e instanceof OverBudgetError) || q <= pace!.minQuality) throw e;
        sink.rewind(before);
        q = pace!.minQuality;
        drawn = writeFrame(k, tune(q));
      }
      pacer.record(k, q, sink.length - before);
    }
    qualitySum += q;
    lowest = Math.min(lowest, q);
    options.onFrame?.(k, {
      bytes: sink.length - before,
      quality: q,
      palette: drawn ? palette : undefined,
      changes: k > 0 && changes ? changes.slice() : undefined,
      ...(drawn ? remapped : undefined),
    });
    if (!drawn) {
      // Nothing to draw: the previous frame stays on screen for this one's time too.
      written[written.length - 1] += csDelays[k];
      sink.setU16(delayAt, written[written.length - 1]);
    } else {
      written.push(csDelays[k]);
      sink.setU16(delayAt, csDelays[k]);
    }
    report((k + 1) / count);
    if (ready && frames.length < count) {
      // Frames still arriving: let the decoder's output in after every frame, or its pipe
      // fills and it waits for us instead of decoding alongside.
      await yieldForIo(signal);
      lastYield = now();
    } else if (now() - lastYield > 40) {
      await yieldToEventLoop(signal);
      lastYield = now();
    }
  }
  sink.release();
  writeTrailer(sink);
  return {
    bytes: sink.finish(),
    frames: written.length,
    delaysCs: written,
    colors: palette.size,
    quality: qualitySum / count,
    lowestQuality: pacer ? lowest : undefined,
  };
}
