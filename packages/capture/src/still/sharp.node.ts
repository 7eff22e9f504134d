/**
 * JPEG, WebP, AVIF and TIFF stills in Node through sharp (libvips).
 */
import sharp from 'sharp';
import { CancelledError } from '../errors';
import type { RgbaImage } from '../types';
import type { StillEncoder, StillEncodeOptions, StillFormat } from './encoder';
import { STILL_MIME, isOpaque } from './encoder';

type SharpInstance = ReturnType<typeof sharp>;
type SharpFormat = Extract<StillFormat, 'jpeg' | 'webp' | 'avif' | 'tiff'>;

function input(image: RgbaImage): SharpInstance {
  const data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const s = sharp(data, { raw: { width: image.width, height: image.height, channels: 4 } });
  // Opaque captures lose nothing by dropping alpha, and some formats then use less space.
  return isOpaque(image) ? s.removeAlpha() : s;
}

function encoder(
  format: SharpFormat,
  lossy: boolean,
  apply: (s: SharpInstance, q: number) => SharpInstance,
): StillEncoder {
  return {
    format,
    mime: STILL_MIME[format],
    lossy,
    async encode(image: RgbaImage, options: StillEncodeOptions): Promise<Uint8Array> {
      if (options.signal?.aborted) throw new CancelledError();
      const q = Math.max(1, Math.min(100, Math.round(options.quality)));
      const buf = await apply(input(image), q).toBuffer();
      if (options.signal?.aborted) throw new CancelledError();
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    },
  };
}

/** JPEG (4:2:0 below quality 90, 4:4:4 from 90 on), WebP (lossy), AVIF, TIFF (lossless deflate). */
export const sharpStillEncoders: readonly StillEncoder[] = [
  encoder('jpeg', true, (s, q) =>
    s
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: q, mozjpeg: true, chromaSubsampling: q >= 90 ? '4:4:4' : '4:2:0' }),
  ),
  encoder('webp', true, (s, q) => s.webp({ quality: q, effort: 4 })),
  // Effort 2 keeps a 480p grab well under a second; quality is what the user chose.
  encoder('avif', true, (s, q) => s.avif({ quality: q, effort: 2 })),
  encoder('tiff', false, (s) => s.tiff({ compression: 'deflate', predictor: 'horizontal' })),
];
