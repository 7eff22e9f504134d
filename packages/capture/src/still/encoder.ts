/**
 * The StillEncoder contract (the format conversion module): turns one RGBA capture into
 * an image file. Core encoders (PNG, BMP, GIF) are pure TypeScript; JPEG/WebP/AVIF/TIFF
 * come from the platform (sharp in Node, canvas in browsers).
 */
import type { StillFormat } from '../config';
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
export const STILL_MIME: Readonly<Record<StillFormat, string>> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
};

/** Usual file extension of each still format (without the dot). */
export const STILL_EXTENSION: Readonly<Record<StillFormat, string>> = {
  png: 'png',
  jpeg: 'jpg',
  webp: 'webp',
  avif: 'avif',
  gif: 'gif',
  bmp: 'bmp',
  tiff: 'tiff',
};

/** True when every pixel is fully opaque (encoders then drop the alpha channel). */
export function isOpaque(image: RgbaImage): boolean {
  const d = image.data;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 255) return false;
  return true;
}
