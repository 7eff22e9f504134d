/**
 * PNG writer in pure TypeScript over fflate's zlib: the capture's original format, so its
 * output is what a PNG still passes through unchanged. Opaque images are written as RGB
 * (smaller, same pixels); each row gets the filter that minimises its absolute sum, the
 * heuristic libpng uses.
 */
import { zlibSync } from 'fflate';
import type { RgbaImage } from '../types';
import type { StillEncoder } from './encoder';
import { isOpaque } from './encoder';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Sum of a filtered row's bytes read as signed values (libpng's "minimum sum of absolute differences"). */
function cost(row: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    sum += v < 128 ? v : 256 - v;
  }
  return sum;
}

/** Filters the scanlines of `raw` (rows of `stride` bytes, `bpp` bytes a pixel) into PNG's filtered stream. */
function filterRows(raw: Uint8Array, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * (stride + 1));
  const zero = new Uint8Array(stride);
  const cand = [0, 1, 2, 3, 4].map(() => new Uint8Array(stride));
  const [none, sub, up, avg, pae] = cand as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  for (let y = 0; y < height; y++) {
    const cur = raw.subarray(y * stride, (y + 1) * stride);
    const prev = y ? raw.subarray((y - 1) * stride, y * stride) : zero;
    none.set(cur);
    // One tight loop per filter type: far faster in JS than one loop with a switch.
    for (let i = 0; i < bpp; i++) {
      sub[i] = cur[i]!;
      up[i] = cur[i]! - prev[i]!;
      avg[i] = cur[i]! - (prev[i]! >> 1);
      pae[i] = cur[i]! - prev[i]!; // paeth(0, b, 0) = b
    }
    for (let i = bpp; i < stride; i++) {
      const x = cur[i]!,
        a = cur[i - bpp]!,
        b = prev[i]!,
        c = prev[i - bpp]!;
      sub[i] = x - a;
      up[i] = x - b;
      avg[i] = x - ((a + b) >> 1);
      const p = a + b - c;
      const pa = p > a ? p - a : a - p,
        pb = p > b ? p - b : b - p,
        pc = p > c ? p - c : c - p;
      pae[i] = x - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
    }
    let best = 0,
      bestSum = Infinity;
    for (let f = 0; f < 5; f++) {
      const c = cost(cand[f]!);
      if (c < bestSum) {
        bestSum = c;
        best = f;
      }
    }
    const dst = y * (stride + 1);
    out[dst] = best;
    out.set(cand[best]!, dst + 1);
  }
  return out;
}

/**
 * Encodes an RGBA image as PNG (8-bit RGB when fully opaque, else RGBA).
 * @param level zlib level 0–9 (default 6).
 */
export function encodePng(
  image: RgbaImage,
  level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6,
): Uint8Array {
  const { width, height, data } = image;
  const opaque = isOpaque(image);
  const bpp = opaque ? 3 : 4;
  let raw: Uint8Array;
  if (opaque) {
    raw = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
      raw[j] = data[i]!;
      raw[j + 1] = data[i + 1]!;
      raw[j + 2] = data[i + 2]!;
    }
  } else {
    raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const idat = zlibSync(filterRows(raw, height, width * bpp, bpp), { level });
  const chunks: Array<[string, Uint8Array]> = [];
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = opaque ? 2 : 6; // bit depth, colour type
  chunks.push(['IHDR', ihdr], ['IDAT', idat], ['IEND', new Uint8Array(0)]);
  const total = 8 + chunks.reduce((n, [, c]) => n + 12 + c.length, 0);
  const out = new Uint8Array(total);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const odv = new DataView(out.buffer);
  let p = 8;
  for (const [type, body] of chunks) {
    odv.setUint32(p, body.length);
    for (let i = 0; i < 4; i++) out[p + 4 + i] = type.charCodeAt(i);
    out.set(body, p + 8);
    odv.setUint32(p + 8 + body.length, crc32(out, p + 4, p + 8 + body.length));
    p += 12 + body.length;
  }
  return out;
}

/** PNG as a {@link StillEncoder}. */
export const pngEncoder: StillEncoder = {
  format: 'png',
  mime: 'image/png',
  lossy: false,
  encode: async (image) => encodePng(image),
};
