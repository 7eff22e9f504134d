/**
 * Letterboxing a finished GIF: the animation is encoded at the picture's size (bars cost
 * nothing there), then placed on a bigger logical screen. Later frames keep their bytes and
 * only move (their image descriptors are offset); the first frame is re-encoded at the
 * screen's size with the bars as its transparent index, so every decoder — not only the
 * ones that leave an undrawn canvas transparent — shows the bars transparent. Nothing is
 * drawn over them afterwards (disposal 1 keeps the first frame's pixels).
 */
import { lzwDecode } from './decode';

/** Plain GIF LZW (no lossy matching) of `indices`, as sub-blocks ending with the terminator. */
function lzwBlocks(indices: Uint8Array, minCodeSize: number): Uint8Array {
  const clear = 1 << minCodeSize,
    eoi = clear + 1;
  const out: number[] = [];
  let acc = 0,
    nacc = 0;
  let size = minCodeSize + 1;
  const emit = (code: number): void => {
    acc |= code << nacc;
    nacc += size;
    while (nacc >= 8) {
      out.push(acc & 0xff);
      acc >>>= 8;
      nacc -= 8;
    }
  };
  let dict = new Map<number, number>();
  let next = eoi + 1;
  emit(clear);
  let cur = indices[0] ?? 0;
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i];
    const key = (cur << 8) | k;
    const found = dict.get(key);
    if (found !== undefined) {
      cur = found;
      continue;
    }
    emit(cur);
    if (next === 4096) {
      emit(clear);
      dict = new Map();
      next = eoi + 1;
      size = minCodeSize + 1;
    } else {
      if (next >= 1 << size) size++;
      dict.set(key, next++);
    }
    cur = k;
  }
  emit(cur);
  emit(eoi);
  if (nacc > 0) out.push(acc & 0xff);
  const blocks = new Uint8Array(out.length + Math.ceil(out.length / 255) + 1);
  let o = 0;
  for (let i = 0; i < out.length; i += 255) {
    const n = Math.min(255, out.length - i);
    blocks[o++] = n;
    for (let j = 0; j < n; j++) blocks[o++] = out[i + j]!;
  }
  blocks[o++] = 0;
  return blocks.subarray(0, o);
}

/** Bytes the first frame may grow by when letterboxed (bars and re-encoding), for budgets. */
export function letterboxAllowance(
  width: number,
  height: number,
  canvasWidth: number,
  canvasHeight: number,
): number {
  const bars = canvasWidth * canvasHeight - width * height;
  // A run of n equal pixels costs about √(2n) codes; a pillarbox adds a few codes a row.
  return Math.ceil((2 * Math.sqrt(2 * bars) + 3 * canvasHeight) * 1.5) + 64;
}

/**
 * Places the GIF `bytes` (all frames inside its own screen) at (`x`, `y`) on a
 * `canvasWidth`×`canvasHeight` screen whose other pixels are transparent.
 * @throws RangeError on bytes that are not a GIF this engine wrote (truncated, no image).
 */
export function letterboxGif(
  bytes: Uint8Array,
  canvasWidth: number,
  canvasHeight: number,
  x: number,
  y: number,
): Uint8Array {
  const at = (i: number): number => {
    if (i >= bytes.length) throw new RangeError('GIF truncated');
    return bytes[i];
  };
  const u16 = (i: number): number => at(i) | (at(i + 1) << 8);
  const parts: Uint8Array[] = [];
  const head = bytes.slice(0, 13);
  head[6] = canvasWidth & 0xff;
  head[7] = canvasWidth >> 8;
  head[8] = canvasHeight & 0xff;
  head[9] = canvasHeight >> 8;
  parts.push(head);
  const packed = at(10);
  const globalSize = packed & 0x80 ? 3 << ((packed & 7) + 1) : 0;
  const globalTable = bytes.subarray(13, 13 + globalSize);
  parts.push(globalTable);
  let p = 13 + globalSize;
  let frame = 0;
  let gce: Uint8Array | undefined; // the copy of the Graphic Control Extension before the next image
  /** Skips sub-blocks from `q`; returns the position after the terminator. */
  const skipBlocks = (q: number): number => {
    while (at(q) !== 0) q += at(q) + 1;
    return q + 1;
  };
  for (;;) {
    const b = at(p);
    if (b === 0x3b) {
      parts.push(Uint8Array.of(0x3b));
      break;
    }
    if (b === 0x21) {
      const end = skipBlocks(p + 2);
      const copy = bytes.slice(p, end);
      if (at(p + 1) === 0xf9) gce = copy;
      parts.push(copy);
      p = end;
      continue;
    }
    if (b !== 0x2c) throw new RangeError(`unexpected GIF block 0x${b.toString(16)} at ${p}`);
    const left = u16(p + 1),
      top = u16(p + 3),
      w = u16(p + 5),
      h = u16(p + 7),
      ip = at(p + 9);
    const localSize = ip & 0x80 ? 3 << ((ip & 7) + 1) : 0;
    const dataAt = p + 10 + localSize;
    const end = skipBlocks(dataAt + 1);
    if (frame > 0) {
      const d = bytes.slice(p, end);
      const l = left + x,
        t = top + y;
      d[1] = l & 0xff;
      d[2] = l >> 8;
      d[3] = t & 0xff;
      d[4] = t >> 8;
      parts.push(d);
    } else {
      if (ip & 0x40) throw new RangeError('interlaced first frames are not letterboxed');
      // Decode the first frame, put it on the bars, encode it again.
      const chunks: number[] = [];
      for (let q = dataAt + 1; at(q) !== 0; q += at(q) + 1)
        for (let j = 1; j <= at(q); j++) chunks.push(at(q + j));
      const picture = new Uint8Array(w * h);
      lzwDecode(Uint8Array.from(chunks), at(dataAt), picture);
      const table = localSize ? bytes.subarray(p + 10, p + 10 + localSize) : globalTable;
      const entries = table.length / 3;
      const T = freeIndex(picture, table, entries);
      const screen = new Uint8Array(canvasWidth * canvasHeight).fill(T);
      for (let r = 0; r < h; r++)
        screen.set(picture.subarray(r * w, r * w + w), (r + top + y) * canvasWidth + left + x);
      const desc = new Uint8Array(10 + localSize);
      desc.set(bytes.subarray(p, p + 10 + localSize));
      desc[1] = 0;
      desc[2] = 0;
      desc[3] = 0;
      desc[4] = 0;
      desc[5] = canvasWidth & 0xff;
      desc[6] = canvasWidth >> 8;
      desc[7] = canvasHeight & 0xff;
      desc[8] = canvasHeight >> 8;
      const mcs = Math.max(2, at(dataAt), Math.ceil(Math.log2(entries)));
      if (gce) {
        gce[3] = gce[3] | 1;
        gce[6] = T;
      } else {
        parts.push(Uint8Array.of(0x21, 0xf9, 0x04, 0x05, 0, 0, T, 0));
      }
      parts.push(desc, Uint8Array.of(mcs), lzwBlocks(screen, mcs));
    }
    gce = undefined;
    frame++;
    p = end;
  }
  if (frame === 0) throw new RangeError('GIF has no image');
  const total = parts.reduce((a, x) => a + x.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/**
 * An index of `table` that the first frame does not use, to be its transparent index. When
 * all are used (a still with a full table), the least-used one is given up: its pixels take
 * the nearest other colour.
 */
function freeIndex(picture: Uint8Array, table: Uint8Array, entries: number): number {
  const used = new Uint32Array(entries);
  for (let i = 0; i < picture.length; i++) used[picture[i]]++;
  for (let i = entries - 1; i >= 0; i--) if (used[i] === 0) return i;
  let T = 0;
  for (let i = 1; i < entries; i++) if (used[i] < used[T]) T = i;
  let best = -1,
    bestD = Infinity;
  for (let i = 0; i < entries; i++) {
    if (i === T) continue;
    const d =
      (table[i * 3] - table[T * 3]) ** 2 +
      (table[i * 3 + 1] - table[T * 3 + 1]) ** 2 +
      (table[i * 3 + 2] - table[T * 3 + 2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  for (let i = 0; i < picture.length; i++) if (picture[i] === T) picture[i] = best;
  return T;
}
