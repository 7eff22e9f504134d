/**
 * How a GIF quality 1–100 becomes encoder knobs (`gifTuning`), and what pacing needs to
 * know of that mapping.
 */
import type { DitherMode } from './dither';

/** The knobs that trade quality for bytes. */
export interface GifTuning {
  /** Palette size, 2–256 (one more index is used for transparency in animations). */
  colors: number;
  dither: DitherMode;
  /** 0..1 */
  ditherStrength: number;
  /** Lossy LZW tolerance in perceptual 8-bit units; 0 = exact. */
  lossy: number;
  /** Largest change (perceptual 8-bit units) still treated as "unchanged". */
  diffThreshold: number;
  /**
   * Give each frame after the first its own palette, built from the pixels it changes.
   * Pixels the screen already shows at least as well stay, so over a few frames the
   * picture holds far more than 256 colours; costs up to 768 bytes a frame.
   */
  localPalettes: boolean;
  /**
   * Palette error target (mean squared perceptual error per pixel): a palette stops
   * growing once it is this close. Film needs every colour it gets and is unaffected;
   * content with few colours (graphics, cellular automata, two-tone art) gets a small
   * palette and so short LZW codes, far fewer bytes for an invisible loss.
   */
  paletteMse: number;
}

/**
 * The tuning Clipchat uses for a quality 1–100 (lower quality, fewer bytes). Measured with
 * SSIM on film: from 100 down to 40 only the diff threshold rises (near-invisible changes
 * between frames are the cheapest bytes to give up) with per-frame palettes; below 60 lossy
 * LZW joins in, below 40 one shared palette saves the per-frame tables, below 30 the
 * palette shrinks. Animations are not dithered: dither noise lowers SSIM and defeats frame
 * differencing.
 */
export function gifTuning(quality: number): GifTuning {
  const q = Math.max(1, Math.min(100, quality));
  const loss = 100 - q;
  return {
    colors: q >= 30 ? 256 : Math.max(16, Math.round(16 + (240 * (q - 1)) / 29)),
    dither: 'none',
    ditherStrength: 0,
    lossy: q >= 60 ? 0 : (60 - q) * 0.6,
    diffThreshold: diffThresholdOf(q),
    localPalettes: q >= LOCAL_PALETTE_QUALITY,
    paletteMse: 0.5 + loss * 0.4,
  };
}

/** Lowest quality whose tuning gives each frame its own palette (see `gifTuning`). */
export const LOCAL_PALETTE_QUALITY = 40;

/** `gifTuning(quality).diffThreshold`, without building the rest (pacing asks it often). */
function diffThresholdOf(quality: number): number {
  const q = Math.max(1, Math.min(100, quality));
  return q >= 50 ? (100 - q) * 0.1 : 5 + (50 - q) * 0.2;
}

/** How GIF qualities are tuned, as the pacing forecast sees it. */
export const GIF_QUALITY_MODEL = { threshold: diffThresholdOf, lossless: 60 };
