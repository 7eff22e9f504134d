/**
 * BMP writer in pure TypeScript: 24-bit bottom-up rows for opaque images, 32-bit BGRA
 * with a BITMAPV4HEADER (bit-field masks, so readers keep the alpha) otherwise.
 */
import type { RgbaImage } from '../types';
import type { StillEncoder } from './encoder';
import { isOpaque } from './encoder';

/** Encodes an RGBA image as a Windows BMP. */
export function encodeBmp(image: RgbaImage): Uint8Array {
  const { width, height, data } = image;
  const opaque = isOpaque(image);
  const bpp = opaque ? 3 : 4;
  const stride = (width * bpp + 3) & ~3; // rows pad to 4 bytes
  const headerSize = opaque ? 40 : 108;
  const offset = 14 + headerSize;
  const size = offset + stride * height;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = 0x42;
  out[1] = 0x4d; // "BM"
  dv.setUint32(2, size, true);
  dv.setUint32(10, offset, true);
  dv.setUint32(14, headerSize, true);
  dv.setInt32(18, width, true);
  dv.setInt32(22, height, true); // positive: bottom-up
  dv.setUint16(26, 1, true);
  dv.setUint16(28, bpp * 8, true);
  dv.setUint32(30, opaque ? 0 : 3, true); // BI_RGB or BI_BITFIELDS
  dv.setUint32(34, stride * height, true);
  dv.setInt32(38, 2835, true); // 72 dpi
  dv.setInt32(42, 2835, true);
  if (!opaque) {
    dv.setUint32(54, 0x00ff0000, true); // red mask
    dv.setUint32(58, 0x0000ff00, true);
    dv.setUint32(62, 0x000000ff, true);
    dv.setUint32(66, 0xff000000, true); // alpha mask
    dv.setUint32(70, 0x73524742, true); // 'sRGB'
  }
  for (let y = 0; y < height; y++) {
    let o = offset + (height - 1 - y) * stride;
    let i = y * width * 4;
    for (let x = 0; x < width; x++, i += 4) {
      out[o++] = data[i + 2]!;
      out[o++] = data[i + 1]!;
      out[o++] = data[i]!;
      if (!opaque) out[o++] = data[i + 3]!;
    }
  }
  return out;
}

/** BMP as a {@link StillEncoder}. */
export const bmpEncoder: StillEncoder = {
  format: 'bmp',
  mime: 'image/bmp',
  lossy: false,
  encode: async (image) => encodeBmp(image),
};
