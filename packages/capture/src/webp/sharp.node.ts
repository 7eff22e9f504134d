/**
 * Animated WebP stickers in Node through sharp (libvips + libwebp's animation encoder):
 * the frames go in as one tall strip with `pageHeight`, one delay per frame, looping
 * forever. `fitSticker` fits the result to a byte budget.
 */
import sharp from 'sharp';
import { CaptureError } from '../errors';
import type { RgbaImage } from '../types';
import {
  OverBudgetError,
  throwIfCancelled,
  type StickerEncodeOptions,
  type StickerWriter,
} from '../writer';
import { roundDelays } from './mux';

export { roundDelays };

/** Knobs of one WebP encode (passed as `StickerEncodeOptions.tuning`). */
export interface WebpTuning {
  /** libwebp effort 0–6 (default 4): higher is smaller and slower. */
  effort?: number;
  /** Near-lossless mode: keeps flat graphics crisp at a higher byte cost. */
  nearLossless?: boolean;
  /** Sharper chroma (libwebp's "sharp YUV"): better thin coloured edges, slightly bigger. */
  smartSubsample?: boolean;
  /** libwebp's content preset: default, photo, picture, drawing, icon, text. */
  preset?: 'default' | 'photo' | 'picture' | 'drawing' | 'icon' | 'text';
  /**
   * Lossless frames: `true` always, `false` never, `'auto'` (default) first tries lossless
   * when the clip has at most 256 colours (graphics, pixel art, cellular automata), where
   * it is both exact and smaller than lossy, and keeps it when it fits the budget.
   */
  lossless?: boolean | 'auto';
}

/** True when the frames hold at most `limit` distinct colours (alpha included). */
function fewColours(frames: readonly RgbaImage[], limit = 256): boolean {
  const seen = new Set<number>();
  for (const f of frames) {
    const d = f.data;
    for (let i = 0; i < d.length; i += 4) {
      seen.add(((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!) + d[i + 3]! * 16777216);
      if (seen.size > limit) return false;
    }
  }
  return true;
}

/**
 * libwebp quality for a Clipchat quality 1–100: 31–100. Below ~30 libwebp's blocks show
 * at any size, and a smaller frame at a higher quality looks better for the same bytes,
 * so the bottom of Clipchat's scale stays above that and fitting shrinks frames instead.
 */
function webpQuality(quality: number): number {
  const q = Math.max(1, Math.min(100, quality));
  return Math.round(30 + 0.7 * q);
}

/** True when every pixel of every frame is opaque (the alpha plane can be dropped). */
export function allOpaque(frames: readonly RgbaImage[]): boolean {
  for (const f of frames) {
    const d = f.data;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 255) return false;
  }
  return true;
}

/** Packs frames into one strip: RGB when all opaque (smaller files), else RGBA. */
function strip(frames: readonly RgbaImage[], opaque: boolean): Buffer {
  const { width, height } = frames[0]!;
  const px = width * height;
  const ch = opaque ? 3 : 4;
  const out = Buffer.allocUnsafe(px * ch * frames.length);
  let o = 0;
  for (const f of frames) {
    if (f.width !== width || f.height !== height) {
      throw new CaptureError(
        'ERR_FRAME_SIZE',
        `all frames must be ${width}×${height}, got ${f.width}×${f.height}`,
      );
    }
    const d = f.data;
    if (!opaque) {
      out.set(d, o);
      o += d.length;
      continue;
    }
    for (let i = 0; i < d.length; i += 4) {
      out[o++] = d[i]!;
      out[o++] = d[i + 1]!;
      out[o++] = d[i + 2]!;
    }
  }
  return out;
}

/**
 * Animated WebP writer over sharp. `quality` is libwebp's 1–100. Alpha is kept only when
 * a frame has transparent pixels. Output over `maxBytes` throws {@link OverBudgetError}
 * (libwebp writes the file in one go, so the try is measured whole).
 */
export class SharpWebpWriter implements StickerWriter {
  readonly format = 'webp' as const;
  readonly mime = 'image/webp';
  readonly maxFps = 60;
  private readonly defaults: WebpTuning;
  /** The last frames whose lossless encode overshot, so fitting's next tries skip it. */
  private losslessTooBig: { frames: readonly RgbaImage[]; size: number } | undefined;

  constructor(defaults: WebpTuning = {}) {
    this.defaults = defaults;
  }

  private losslessFits(frames: readonly RgbaImage[], maxBytes: number | undefined): boolean {
    const known = this.losslessTooBig;
    if (known && known.frames === frames && maxBytes !== undefined && known.size > maxBytes)
      return false;
    return fewColours(frames);
  }

  async encode(
    frames: readonly RgbaImage[],
    delaysMs: readonly number[],
    options: StickerEncodeOptions,
  ): Promise<Uint8Array> {
    if (!frames.length) throw new CaptureError('ERR_EMPTY', 'a sticker needs at least one frame');
    if (delaysMs.length !== frames.length) {
      throw new CaptureError(
        'ERR_DELAYS',
        `need one delay per frame: ${frames.length} frames, ${delaysMs.length} delays`,
      );
    }
    throwIfCancelled(options.signal);
    const t = { ...this.defaults, ...(options.tuning as WebpTuning | undefined) };
    const { width, height } = frames[0]!;
    const opaque = allOpaque(frames);
    const pixels = strip(frames, opaque);
    const run = (lossless: boolean) =>
      sharp(pixels, {
        raw: {
          width,
          height: height * frames.length,
          channels: opaque ? 3 : 4,
          pageHeight: height,
        },
        limitInputPixels: false,
      })
        .webp({
          quality: webpQuality(options.quality),
          lossless,
          effort: t.effort ?? 4,
          loop: 0,
          delay: roundDelays(delaysMs),
          nearLossless: t.nearLossless ?? false,
          smartSubsample: t.smartSubsample ?? false,
          preset: t.preset ?? 'default',
        })
        .toBuffer();
    let out: Buffer | undefined;
    const mode = t.lossless ?? 'auto';
    if (mode === true) out = await run(true);
    else if (mode === 'auto' && this.losslessFits(frames, options.maxBytes)) {
      const l = await run(true);
      if (options.maxBytes === undefined || l.length <= options.maxBytes) out = l;
      else this.losslessTooBig = { frames, size: l.length };
    }
    out ??= await run(false);
    throwIfCancelled(options.signal);
    options.onProgress?.(1);
    if (options.maxBytes !== undefined && out.length > options.maxBytes)
      throw new OverBudgetError(out.length, options.maxBytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
}
