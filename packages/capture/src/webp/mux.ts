/**
 * Animated WebP container writer, pure TypeScript (no DOM, no Node): takes still WebP
 * files, one per frame (e.g. from `OffscreenCanvas.convertToBlob({type: 'image/webp'})`
 * in a browser worker), and wraps their bitstreams in RIFF / VP8X / ANIM / ANMF chunks
 * as the WebP container spec describes. No pixel is re-encoded.
 */
import { CaptureError } from '../errors';
import type { RgbaImage } from '../types';
import {
  CountingSink,
  OverBudgetError,
  throwIfCancelled,
  type StickerEncodeOptions,
  type StickerWriter,
} from '../writer';

/** The image chunks of a still WebP file, ready to go inside an ANMF frame. */
export interface WebpStill {
  width: number;
  height: number;
  /** Whether the frame carries alpha (an ALPH chunk, or VP8L's alpha bit). */
  hasAlpha: boolean;
  /** The `ALPH` (optional) and `VP8 `/`VP8L` chunks, verbatim with headers and padding. */
  chunks: Uint8Array;
}

/** One frame to mux. */
export interface MuxFrame {
  /** A complete still WebP file (RIFF…WEBP), lossy or lossless, with or without alpha. */
  webp: Uint8Array;
  /** How long the frame stays on screen, in whole milliseconds (0–16777215). */
  delayMs: number;
  /** Offset on the canvas in pixels; must be even (the format stores x/2, y/2). Default 0. */
  x?: number;
  y?: number;
  /** Alpha-blend over the previous canvas (default false: replace the rectangle). */
  blend?: boolean;
  /** Clear the rectangle to the background after the frame is shown (default false). */
  dispose?: boolean;
}

export interface MuxOptions {
  /** Canvas size; default the first frame's size. */
  width?: number;
  height?: number;
  /** Loop count, 0 = forever (default). */
  loop?: number;
  /** Background colour as 0xAARRGGBB (default 0: transparent black). A hint; players may ignore it. */
  background?: number;
  /** Stop with `OverBudgetError` as soon as the output would pass this many bytes. */
  maxBytes?: number;
}

const fourcc = (b: Uint8Array, o: number) =>
  String.fromCharCode(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!);
const u32 = (b: Uint8Array, o: number) =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u24 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);

function bad(why: string): CaptureError {
  return new CaptureError('ERR_WEBP_FRAME', `not a still WebP frame: ${why}`);
}

/**
 * Reads a still WebP file and returns its image chunks and size.
 * @throws CaptureError (`ERR_WEBP_FRAME`) for anything that is not a single-image WebP.
 */
export function parseWebpStill(file: Uint8Array): WebpStill {
  if (file.length < 20 || fourcc(file, 0) !== 'RIFF' || fourcc(file, 8) !== 'WEBP')
    throw bad('no RIFF/WEBP header');
  const end = Math.min(file.length, 8 + u32(file, 4));
  let width = 0;
  let height = 0;
  let hasAlpha = false;
  let start = -1;
  let stop = -1;
  for (let o = 12; o + 8 <= end;) {
    const id = fourcc(file, o);
    const size = u32(file, o + 4);
    const next = o + 8 + size + (size & 1);
    if (o + 8 + size > end) throw bad(`chunk ${id} runs past the end`);
    const p = o + 8;
    if (id === 'ANIM' || id === 'ANMF') throw bad('it is already animated');
    if (id === 'VP8X') {
      width = u24(file, p + 4) + 1;
      height = u24(file, p + 7) + 1;
    } else if (id === 'ALPH') {
      hasAlpha = true;
      if (start < 0) start = o;
    } else if (id === 'VP8 ') {
      if (size < 10 || file[p + 3] !== 0x9d || file[p + 4] !== 0x01 || file[p + 5] !== 0x2a)
        throw bad('bad VP8 key frame');
      width = (file[p + 6]! | (file[p + 7]! << 8)) & 0x3fff;
      height = (file[p + 8]! | (file[p + 9]! << 8)) & 0x3fff;
      if (start < 0) start = o;
      stop = Math.min(next, file.length);
    } else if (id === 'VP8L') {
      if (size < 5 || file[p] !== 0x2f) throw bad('bad VP8L signature');
      const bits = u32(file, p + 1);
      width = (bits & 0x3fff) + 1;
      height = ((bits >>> 14) & 0x3fff) + 1;
      hasAlpha = ((bits >>> 28) & 1) === 1;
      if (start < 0) start = o;
      stop = Math.min(next, file.length);
    }
    o = next;
  }
  if (start < 0 || stop < 0 || !width || !height) throw bad('no VP8/VP8L image data');
  const chunks = new Uint8Array(stop - start + ((stop - start) & 1));
  chunks.set(file.subarray(start, stop));
  return { width, height, hasAlpha, chunks };
}

function le(sink: CountingSink, v: number, n: number): void {
  for (let i = 0; i < n; i++) sink.byte((v >>> (8 * i)) & 0xff);
}

function ascii(sink: CountingSink, s: string): void {
  for (let i = 0; i < s.length; i++) sink.byte(s.charCodeAt(i));
}

/**
 * Writes an animated WebP from still WebP frames. Sizes are checked: every frame must lie
 * inside the canvas. The output is counted as it is written, so `maxBytes` stops a try
 * at once (with `OverBudgetError`).
 */
export function muxAnimatedWebp(frames: readonly MuxFrame[], options: MuxOptions = {}): Uint8Array {
  if (!frames.length)
    throw new CaptureError('ERR_EMPTY', 'an animated WebP needs at least one frame');
  const stills = frames.map((f) => parseWebpStill(f.webp));
  const width = options.width ?? stills[0]!.width;
  const height = options.height ?? stills[0]!.height;
  if (width < 1 || height < 1 || width > 1 << 24 || height > 1 << 24)
    throw new CaptureError(
      'ERR_WEBP_SIZE',
      `canvas must be 1–16777216 px a side, got ${width}×${height}`,
    );
  let body = 4 + (8 + 10) + (8 + 6);
  stills.forEach((s, i) => {
    const f = frames[i]!;
    const x = f.x ?? 0;
    const y = f.y ?? 0;
    if (x % 2 || y % 2)
      throw new CaptureError('ERR_WEBP_OFFSET', `frame ${i} offset must be even, got ${x},${y}`);
    if (x + s.width > width || y + s.height > height) {
      throw new CaptureError(
        'ERR_WEBP_SIZE',
        `frame ${i} (${s.width}×${s.height} at ${x},${y}) lies outside the ${width}×${height} canvas`,
      );
    }
    if (!(f.delayMs >= 0 && f.delayMs < 1 << 24))
      throw new CaptureError(
        'ERR_DELAYS',
        `frame ${i} delay must be 0–16777215 ms, got ${f.delayMs}`,
      );
    body += 8 + 16 + s.chunks.length;
  });
  const alpha = stills.some((s) => s.hasAlpha);
  const sink = new CountingSink(options.maxBytes ?? Infinity, 8 + body);
  ascii(sink, 'RIFF');
  le(sink, body, 4);
  ascii(sink, 'WEBP');
  ascii(sink, 'VP8X');
  le(sink, 10, 4);
  sink.byte((alpha ? 0x10 : 0) | 0x02);
  le(sink, 0, 3);
  le(sink, width - 1, 3);
  le(sink, height - 1, 3);
  ascii(sink, 'ANIM');
  le(sink, 6, 4);
  const bg = options.background ?? 0;
  // Stored as B, G, R, A.
  sink.byte(bg & 0xff);
  sink.byte((bg >>> 8) & 0xff);
  sink.byte((bg >>> 16) & 0xff);
  sink.byte((bg >>> 24) & 0xff);
  le(sink, options.loop ?? 0, 2);
  stills.forEach((s, i) => {
    const f = frames[i]!;
    ascii(sink, 'ANMF');
    le(sink, 16 + s.chunks.length, 4);
    le(sink, (f.x ?? 0) / 2, 3);
    le(sink, (f.y ?? 0) / 2, 3);
    le(sink, s.width - 1, 3);
    le(sink, s.height - 1, 3);
    le(sink, Math.round(f.delayMs), 3);
    sink.byte((f.blend ? 0 : 0x02) | (f.dispose ? 0x01 : 0));
    sink.bytes(s.chunks);
  });
  return sink.finish();
}

/**
 * Rounds per-frame delays to whole milliseconds, carrying the error so the total equals
 * the rounded total of the input (WebP frame durations are integers in ms).
 */
export function roundDelays(delaysMs: readonly number[]): number[] {
  const out: number[] = [];
  let exact = 0;
  let written = 0;
  for (const d of delaysMs) {
    exact += d;
    const next = Math.max(written + 1, Math.round(exact));
    out.push(next - written);
    written = next;
  }
  return out;
}

/** Encodes one RGBA frame as a still WebP file at `quality` (1–100). */
export type WebpFrameEncoder = (frame: RgbaImage, quality: number) => Promise<Uint8Array>;

/**
 * Animated WebP writer over any still-WebP encoder: each frame is encoded on its own and
 * the bitstreams are muxed by {@link muxAnimatedWebp}. In a browser worker the encoder is
 * `OffscreenCanvas.convertToBlob({type: 'image/webp', quality})`; in tests, sharp.
 * Each frame is a key frame (no inter-frame rectangles), so it is bigger than libwebp's own
 * animation encoder for the same look, but it needs nothing beyond a still encoder.
 */
export class MuxedWebpWriter implements StickerWriter {
  readonly format = 'webp' as const;
  readonly mime = 'image/webp';
  readonly maxFps = 60;
  private readonly encodeFrame: WebpFrameEncoder;

  constructor(encodeFrame: WebpFrameEncoder) {
    this.encodeFrame = encodeFrame;
  }

  async encode(
    frames: readonly RgbaImage[],
    delaysMs: readonly number[],
    options: StickerEncodeOptions,
  ): Promise<Uint8Array> {
    if (frames.length !== delaysMs.length) {
      throw new CaptureError(
        'ERR_DELAYS',
        `need one delay per frame: ${frames.length} frames, ${delaysMs.length} delays`,
      );
    }
    const delays = roundDelays(delaysMs);
    const muxed: MuxFrame[] = [];
    let bytes = 12 + 18 + 14;
    for (let i = 0; i < frames.length; i++) {
      throwIfCancelled(options.signal);
      const webp = await this.encodeFrame(frames[i]!, options.quality);
      bytes += 24 + parseWebpStill(webp).chunks.length;
      // Frames only add up: stop the try as soon as their sum passes the budget.
      if (options.maxBytes !== undefined && bytes > options.maxBytes)
        throw new OverBudgetError(bytes, options.maxBytes);
      muxed.push({ webp, delayMs: delays[i]! });
      if (options.onProgress?.((i + 1) / frames.length) === false)
        throwIfCancelled({ aborted: true });
    }
    return muxAnimatedWebp(muxed, { maxBytes: options.maxBytes });
  }
}
