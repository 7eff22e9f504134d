/**
 * Still encoding (the format conversion module): the capture is RGBA and its original
 * format is PNG; other formats are converted by the browser's encoders where it has them,
 * and by the engine's pure-TypeScript encoders otherwise.
 */
import type { RgbaImage } from '@clipchat/capture';
import { encodeGifStill } from '../../../../packages/capture/src/gif/index';
import { canvasCanTry, encodeStillWithCanvas } from '../../../../packages/capture/src/still/canvas.browser';

const MIME: Record<string, string> = {
  png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp', avif: 'image/avif', gif: 'image/gif', bmp: 'image/bmp', tiff: 'image/tiff',
};

/** Encodes one captured frame in `format`. */
export async function encodeStill(image: RgbaImage, format: string, quality: number): Promise<{ bytes: Uint8Array; mime: string }> {
  const mime = MIME[format] ?? 'application/octet-stream';
  if (canvasCanTry(format)) return { bytes: await encodeStillWithCanvas(image, format, quality), mime };
  if (format === 'gif') {
    return { bytes: await encodeGifStill(image, { quality }), mime };
  }
  throw Object.assign(new Error(`${format.toUpperCase()} stills cannot be written in this browser; choose PNG, JPEG, WebP or GIF`), { code: 'ERR_UNSUPPORTED_FORMAT', field: 'stillFormat' });
}
