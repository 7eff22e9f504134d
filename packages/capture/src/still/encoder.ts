/**
 * The StillEncoder contract (the format conversion module): turns one RGBA capture into
 * an image file. Core encoders (PNG, BMP, GIF) are pure TypeScript; JPEG/WebP/AVIF/TIFF
 * come from the platform (sharp in Node, canvas in browsers).
 */
import { STILL_FORMAT_FACTS, STILL_FORMATS, type StillFormat } from '../formats';
import type { RgbaImage } from '../types';
import type { CancelSignal } from '../writer';

export type { StillFormat };

/** What one still encoding is asked to do. */
export interface StillEncodeOptions {
  /** Quality 1–100 of lossy formats; lossless encoders ignore it. */
  quality: number;
  signal?: CancelSignal;
}

/** Writes one image format. */
export interface StillEncoder {
  readonly format: StillFormat;
  readonly mime: string;
  /** Whether `quality` changes the output. */
  readonly lossy: boolean;
  encode(image: RgbaImage, options: StillEncodeOptions): Promise<Uint8Array>;
}

/** MIME type of each still format. */
export const STILL_MIME = Object.fromEntries(
  STILL_FORMATS.map((f) => [f, STILL_FORMAT_FACTS[f].mime]),
) as Readonly<Record<StillFormat, string>>;

/** Usual file extension of each still format (without the dot). */
export const STILL_EXTENSION = Object.fromEntries(
  STILL_FORMATS.map((f) => [f, STILL_FORMAT_FACTS[f].extension]),
) as Readonly<Record<StillFormat, string>>;

/** True when every pixel is fully opaque (encoders then drop the alpha channel). */
export function isOpaque(image: RgbaImage): boolean {
  const d = image.data;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 255) return false;
  return true;
}
