/**
 * TIFF stills in the browser, where no platform encoder writes TIFF (Node uses sharp):
 * a baseline, uncompressed, single-strip RGB (or RGBA when any pixel is translucent)
 * little-endian TIFF that every TIFF reader opens. Pure TypeScript.
 */
import type { RgbaImage } from '../types';

/** Encodes an RGBA image as an uncompressed baseline TIFF. */
export function encodeTiff(image: RgbaImage): Uint8Array {
  const { width, height, data } = image;
  let opaque = true;
  for (let i = 3; i < data.length; i += 4)
    if (data[i] !== 255) {
      opaque = false;
      break;
    }
  const spp = opaque ? 3 : 4;
  const pixelBytes = width * height * spp;
  const entries = opaque ? 11 : 12;
  const ifdOffset = 8;
  const ifdSize = 2 + entries * 12 + 4;
  const bitsOffset = ifdOffset + ifdSize; // spp × SHORT 8
  const resOffset = bitsOffset + spp * 2; // two RATIONALs
  const pixOffset = resOffset + 16;
  const out = new Uint8Array(pixOffset + pixelBytes);
  const v = new DataView(out.buffer);
  out[0] = 0x49;
  out[1] = 0x49;
  v.setUint16(2, 42, true);
  v.setUint32(4, ifdOffset, true);
  v.setUint16(ifdOffset, entries, true);
  let p = ifdOffset + 2;
  const tag = (id: number, type: number, count: number, value: number) => {
    v.setUint16(p, id, true);
    v.setUint16(p + 2, type, true);
    v.setUint32(p + 4, count, true);
    if (type === 3 && count === 1) v.setUint16(p + 8, value, true);
    else v.setUint32(p + 8, value, true);
    p += 12;
  };
  // Tags in ascending order, as the format requires.
  tag(256, 4, 1, width); // ImageWidth
  tag(257, 4, 1, height); // ImageLength
  tag(258, 3, spp, bitsOffset); // BitsPerSample
  tag(259, 3, 1, 1); // Compression: none
  tag(262, 3, 1, 2); // Photometric: RGB
  tag(273, 4, 1, pixOffset); // StripOffsets
  tag(277, 3, 1, spp); // SamplesPerPixel
  tag(278, 4, 1, height); // RowsPerStrip
  tag(279, 4, 1, pixelBytes); // StripByteCounts
  tag(282, 5, 1, resOffset); // XResolution
  tag(283, 5, 1, resOffset + 8); // YResolution
  if (!opaque) tag(338, 3, 1, 2); // ExtraSamples: unassociated alpha
  v.setUint32(p, 0, true); // no next IFD
  for (let i = 0; i < spp; i++) v.setUint16(bitsOffset + i * 2, 8, true);
  v.setUint32(resOffset, 72, true);
  v.setUint32(resOffset + 4, 1, true);
  v.setUint32(resOffset + 8, 72, true);
  v.setUint32(resOffset + 12, 1, true);
  if (opaque) {
    for (let s = 0, d = pixOffset; s < data.length; s += 4, d += 3) {
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  } else out.set(data, pixOffset);
  return out;
}
