/**
 * Clipchat's GIF encoder: palette → remap/dither → frame differencing → lossy LZW →
 * GIF89a, each stage in its own file (`encode.ts` drives them, `pace.ts` chooses each
 * frame's quality, `warm.ts` warms the encoder up). `encodeGif` writes an animation into a
 * counting sink (so an over-budget try stops early); `encodeGifStill` writes one frame;
 * `gifWriter` plugs the encoder into budget fitting as a `StickerWriter`.
 */
import type { CancelSignal, StickerWriter } from '../writer';
import type { RgbaImage } from '../types';
import type { DitherMode } from './dither';
import { scoreGif } from './score';
import { GifNotes } from './pace';
import { encodeGif } from './encode';
import { GIF_QUALITY_MODEL, LOCAL_PALETTE_QUALITY, gifTuning, type GifTuning } from './tuning';
import { warmUpGif } from './warm';

export { encodeGif, paletteFor } from './encode';
export type { GifOptions, GifResult } from './encode';
export { gifTuning, LOCAL_PALETTE_QUALITY } from './tuning';
export type { GifTuning } from './tuning';
export { warmUpGif } from './warm';
export { delaysToCentiseconds } from './gif89a';
export { readGifInfo } from './inspect';
export { decodeGif } from './decode';
export type { DecodedGif } from './decode';
export { scoreGif, blockSsim } from './score';
export { GifNotes } from './pace';
export type { WrittenFrame } from './pace';
export type { GifInfo } from './inspect';
export type { DitherMode } from './dither';

/**
 * Encodes one image as a single-frame GIF (for stills): full palette with error-diffusion
 * dithering, no transparency, no looping block.
 */
export async function encodeGifStill(
  image: RgbaImage,
  options: { quality?: number; colors?: number; dither?: DitherMode; signal?: CancelSignal } = {},
): Promise<Uint8Array> {
  const q = options.quality ?? 90;
  const r = await encodeGif([image], {
    delaysMs: [0],
    quality: q,
    colors: options.colors ?? 256,
    // A still keeps nearly every colour it needs: only pictures with few colours get a smaller table.
    paletteMse: 0.5,
    dither: options.dither ?? 'diffusion',
    ditherStrength: 0.85,
    lossy: q >= 90 ? 0 : gifTuning(q).lossy,
    loop: false,
    signal: options.signal,
  });
  return r.bytes;
}

/**
 * The GIF `StickerWriter`: quality 1–100 maps to `gifTuning`; `tuning` may override knobs.
 * It keeps notes of each try (`notes`) and paces a try (`pace`) from a look at its frames
 * (`'ahead'`) or from an earlier try's notes, whose palettes and indices it reuses.
 */
export const gifWriter: StickerWriter & { describe(quality: number): GifTuning } = {
  format: 'gif',
  mime: 'image/gif',
  maxFps: 50,
  sequential: true,
  paces: { minQuality: LOCAL_PALETTE_QUALITY },
  describe: gifTuning,
  score: scoreGif,
  async encode(frames, delaysMs, options) {
    const tuning = (options.tuning ?? {}) as Partial<GifTuning>;
    let notes: GifNotes | undefined;
    if (options.notes) {
      notes = new GifNotes(delaysMs.length, GIF_QUALITY_MODEL);
      options.notes(notes);
    }
    const earlier = options.pace;
    if (earlier && earlier !== 'ahead' && !(earlier instanceof GifNotes))
      throw new RangeError('a GIF try can only be paced by the notes of another GIF try');
    const r = await encodeGif(frames, {
      ...tuning,
      delaysMs,
      quality: options.quality,
      maxBytes: options.maxBytes,
      signal: options.signal,
      onProgress: options.onProgress,
      frameReady: options.frameReady,
      // Frames still arriving: the first try, alongside a decoder that may still be seeking.
      warmUp: options.frameReady ? warmUpGif : undefined,
      onFrame:
        notes &&
        ((k, f) => {
          notes.width = frames[0].width;
          notes.height = frames[0].height;
          notes.add(k, f);
        }),
      pace: earlier && {
        notes: earlier === 'ahead' ? undefined : earlier,
        budget: options.targetBytes ?? options.maxBytes ?? Infinity,
        minQuality: LOCAL_PALETTE_QUALITY,
      },
    });
    options.written?.({ frames: r.frames, delaysCs: r.delaysCs });
    return r.bytes;
  },
};
