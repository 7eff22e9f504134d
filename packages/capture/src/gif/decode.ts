/**
 * A compact GIF decoder, used to score candidate stickers during fitting (what a player
 * will show, frame by frame). Handles global/local colour tables, transparency, disposal
 * 0/1 (keep), 2 (clear to transparent) and 3 (restore previous), and interlacing.
 */
import type { RgbaImage } from '../types';

/** Decoded animation: composited frames as a player shows them, with their delays. */
export interface DecodedGif {
  width: number;
  height: number;
  frames: RgbaImage[];
  delaysCs: number[];
}

/** Decodes one image's LZW data (sub-blocks joined) into `out`'s palette indices. */
export function lzwDecode(data: Uint8Array, minCodeSize: number, out: Uint8Array): void {
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const stack = new Uint8Array(4097);
  for (let i = 0; i < clear; i++) {
    suffix[i] = i;
    first[i] = i;
  }
  let width = minCodeSize + 1;
  let next = eoi + 1;
  let prev = -1;
  let bits = 0;
  let nbits = 0;

  let o = 0;
  const n = out.length;
  for (let p = 0; p < data.length && o < n;) {
    while (nbits < width && p < data.length) {
      bits |= data[p++] << nbits;
      nbits += 8;
    }
    if (nbits < width) break;
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    nbits -= width;
    if (code === clear) {
      width = minCodeSize + 1;
      next = eoi + 1;
      prev = -1;
      continue;
    }
    if (code === eoi) break;
    let c = code;
    let sp = 0;
    if (prev >= 0 && code >= next) {
      // The KwKwK case: the code being defined right now.
      stack[sp++] = first[prev];
      c = prev;
    }
    while (c >= clear) {
      stack[sp++] = suffix[c];
      c = prefix[c];
    }
    stack[sp++] = c;
    const head = c;
    while (sp > 0 && o < n) out[o++] = stack[--sp];
    if (prev >= 0 && next < 4096) {
      prefix[next] = prev;
      suffix[next] = head;
      first[next] = first[prev];
      next++;
      if (next === 1 << width && width < 12) width++;
    }
    prev = code;
  }
  // A short stream leaves the rest of the frame at index 0.
}

/** Decodes every frame of `bytes` as a player composites it. Throws `RangeError` on bad data. */
export function decodeGif(bytes: Uint8Array): DecodedGif {
  const at = (i: number): number => {
    if (i >= bytes.length) throw new RangeError('GIF truncated');
    return bytes[i];
  };
  const width = at(6) | (at(7) << 8);
  const height = at(8) | (at(9) << 8);
  const flags = at(10);
  let p = 13;
  let globalTable: Uint8Array | null = null;
  if (flags & 0x80) {
    const size = 3 * (1 << ((flags & 7) + 1));
    globalTable = bytes.subarray(p, p + size);
    p += size;
  }
  const screen = new Uint8ClampedArray(width * height * 4);
  const frames: RgbaImage[] = [];
  const delaysCs: number[] = [];
  let transparent = -1;
  let disposal = 0;
  let delay = 0;
  for (;;) {
    const b = at(p++);
    if (b === 0x3b) break;
    if (b === 0x21) {
      const label = at(p++);
      if (label === 0xf9) {
        const packed = at(p + 1);
        disposal = (packed >> 2) & 7;
        delay = at(p + 2) | (at(p + 3) << 8);
        transparent = packed & 1 ? at(p + 4) : -1;
      }
      for (let n = at(p++); n !== 0; n = at(p++)) p += n;
      continue;
    }
    if (b !== 0x2c) throw new RangeError(`GIF: unexpected block 0x${b.toString(16)}`);
    const fx = at(p) | (at(p + 1) << 8);
    const fy = at(p + 2) | (at(p + 3) << 8);
    const fw = at(p + 4) | (at(p + 5) << 8);
    const fh = at(p + 6) | (at(p + 7) << 8);
    const f = at(p + 8);
    p += 9;
    let table = globalTable;
    if (f & 0x80) {
      const size = 3 * (1 << ((f & 7) + 1));
      table = bytes.subarray(p, p + size);
      p += size;
    }
    const minCodeSize = at(p++);
    // Gather the sub-blocks.
    let len = 0;
    for (let q = p, n = at(q); n !== 0; q += n + 1, n = at(q)) len += n;
    const data = new Uint8Array(len);
    let o = 0;
    for (let n = at(p++); n !== 0; n = at(p++)) {
      data.set(bytes.subarray(p, p + n), o);
      o += n;
      p += n;
    }
    const idx = new Uint8Array(fw * fh);
    lzwDecode(data, minCodeSize, idx);
    const before = disposal === 3 ? screen.slice() : null;
    const rows: number[] = [];
    if (f & 0x40) {
      for (const [start, step] of [
        [0, 8],
        [4, 8],
        [2, 4],
        [1, 2],
      ])
        for (let y = start; y < fh; y += step) rows.push(y);
    } else for (let y = 0; y < fh; y++) rows.push(y);
    for (let r = 0; r < fh; r++) {
      const y = fy + rows[r];
      if (y >= height) continue;
      for (let x = 0; x < fw; x++) {
        if (fx + x >= width) continue;
        const c = idx[r * fw + x];
        if (c === transparent || !table) continue;
        const s = (y * width + fx + x) * 4;
        screen[s] = table[c * 3];
        screen[s + 1] = table[c * 3 + 1];
        screen[s + 2] = table[c * 3 + 2];
        screen[s + 3] = 255;
      }
    }
    frames.push({ width, height, data: screen.slice() });
    delaysCs.push(delay);
    if (disposal === 2) {
      for (let y = fy; y < Math.min(height, fy + fh); y++)
        screen.fill(0, (y * width + fx) * 4, (y * width + Math.min(width, fx + fw)) * 4);
    } else if (before) {
      screen.set(before);
    }
    transparent = -1;
    disposal = 0;
    delay = 0;
  }
  return { width, height, frames, delaysCs };
}
