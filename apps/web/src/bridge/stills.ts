/**
 * Still encoding (the format conversion module): the capture is RGBA and its original
 * format is PNG; other formats are converted by the browser's encoders where it has them,
 * and by the engine's pure-TypeScript encoders otherwise.
 */
import { encodeBmp, gifStillEncoder, type RgbaImage } from '@clipchat/capture';
import { canvasCanTry, encodeStillWithCanvas, encodeTiff } from '@clipchat/capture/browser';

const MIME: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
};

/** Encodes one captured frame in `format`. */
export async function encodeStill(
  image: RgbaImage,
  format: string,
  quality: number,
): Promise<{ bytes: Uint8Array; mime: string }> {
  const mime = MIME[format] ?? 'application/octet-stream';
  if (canvasCanTry(format))
    return { bytes: await encodeStillWithCanvas(image, format, quality), mime };
  if (format === 'gif') return { bytes: await gifStillEncoder.encode(image, { quality }), mime };
  if (format === 'bmp') return { bytes: encodeBmp(image), mime };
  if (format === 'tiff') return { bytes: encodeTiff(image), mime };
  throw Object.assign(
    new Error(
      `${format.toUpperCase()} stills cannot be written in this browser; choose PNG, JPEG, WebP, GIF, BMP or TIFF`,
    ),
    { code: 'ERR_UNSUPPORTED_FORMAT', field: 'stillFormat' },
  );
}

/**
 * Encodes the player's own picture of the frame on screen (an `ImageBitmap` taken while
 * paused), cropped to `crop`. Browser formats are written straight from the canvas.
 */
export async function encodePicture(
  picture: ImageBitmap,
  crop: { x: number; y: number; width: number; height: number } | null,
  format: string,
  quality: number,
): Promise<{ bytes: Uint8Array; mime: string; width: number; height: number }> {
  const r = crop ?? { x: 0, y: 0, width: picture.width, height: picture.height };
  const canvas = new OffscreenCanvas(r.width, r.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: !canvasCanTry(format) })!;
  ctx.drawImage(picture, r.x, r.y, r.width, r.height, 0, 0, r.width, r.height);
  picture.close();
  const mime = MIME[format] ?? 'application/octet-stream';
  if (canvasCanTry(format) && format !== 'avif') {
    const blob = await canvas.convertToBlob({
      type: mime,
      quality: Math.min(1, Math.max(0.01, quality / 100)),
    });
    return {
      bytes: new Uint8Array(await blob.arrayBuffer()),
      mime,
      width: r.width,
      height: r.height,
    };
  }
  const image = {
    width: r.width,
    height: r.height,
    data: ctx.getImageData(0, 0, r.width, r.height).data,
  };
  return { ...(await encodeStill(image, format, quality)), width: r.width, height: r.height };
}
