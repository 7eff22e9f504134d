/**
 * Still encoders backed by the browser's own image codecs (`OffscreenCanvas.convertToBlob`):
 * PNG, JPEG and WebP everywhere Clipchat runs, AVIF only where the browser can write it.
 * Usable on the main thread and in workers.
 */
import { CaptureError } from '../errors';
import type { RgbaImage } from '../types';

/** MIME type per still format the canvas may be able to write. */
const CANVAS_MIME: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
};

/** Whether {@link encodeStillWithCanvas} may handle `format` (the browser may still refuse AVIF). */
export function canvasCanTry(format: string): boolean {
  return format in CANVAS_MIME && typeof OffscreenCanvas !== 'undefined';
}

/**
 * Encodes an RGBA image with the browser's encoder.
 * @param quality 1–100, used by lossy formats.
 * @throws CaptureError `ERR_UNSUPPORTED_FORMAT` when this browser cannot write `format`
 *   (the canvas silently falls back to PNG; that is detected and refused).
 */
export async function encodeStillWithCanvas(
  image: RgbaImage,
  format: string,
  quality = 90,
): Promise<Uint8Array> {
  const mime = CANVAS_MIME[format];
  if (!mime)
    throw new CaptureError(
      'ERR_UNSUPPORTED_FORMAT',
      `stillFormat ${format} cannot be written by the browser canvas`,
      'stillFormat',
    );
  const canvas = new OffscreenCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(
    new ImageData(new Uint8ClampedArray(image.data), image.width, image.height),
    0,
    0,
  );
  const blob = await canvas.convertToBlob({
    type: mime,
    quality: Math.min(1, Math.max(0.01, quality / 100)),
  });
  if (blob.type !== mime) {
    throw new CaptureError(
      'ERR_UNSUPPORTED_FORMAT',
      `this browser cannot write ${format.toUpperCase()} images; choose png, jpeg or webp`,
      'stillFormat',
    );
  }
  return new Uint8Array(await blob.arrayBuffer());
}
