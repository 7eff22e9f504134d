/**
 * A small GIF reader for what fitting and callers need to know about a written GIF:
 * size, frame count, per-frame delays (centiseconds) and looping. Not a decoder.
 */

/** Facts read from a GIF's blocks. */
export interface GifInfo {
  width: number;
  height: number;
  frames: number;
  delaysCs: number[];
  /** Loop count from NETSCAPE2.0 (0 = forever), or null when the block is absent. */
  loop: number | null;
}

/** Reads `bytes` as GIF87a/89a. Throws `RangeError` on a malformed file. */
export function readGifInfo(bytes: Uint8Array): GifInfo {
  const at = (i: number): number => {
    if (i >= bytes.length) throw new RangeError('GIF truncated');
    return bytes[i];
  };
  const sig = String.fromCharCode(...bytes.subarray(0, 6));
  if (sig !== 'GIF89a' && sig !== 'GIF87a') throw new RangeError('not a GIF');
  const width = at(6) | (at(7) << 8);
  const height = at(8) | (at(9) << 8);
  const flags = at(10);
  let p = 13;
  if (flags & 0x80) p += 3 * (1 << ((flags & 7) + 1));
  const delaysCs: number[] = [];
  let loop: number | null = null;
  let pendingDelay = 0;
  const skipSubBlocks = (): void => {
    for (let n = at(p++); n !== 0; n = at(p++)) p += n;
  };
  for (;;) {
    const b = at(p++);
    if (b === 0x3b) break;
    if (b === 0x21) {
      const label = at(p++);
      if (label === 0xf9) {
        pendingDelay = at(p + 2) | (at(p + 3) << 8);
        p += 1 + at(p);
        skipSubBlocks();
      } else if (label === 0xff) {
        const len = at(p);
        const id = String.fromCharCode(...bytes.subarray(p + 1, p + 1 + len));
        p += 1 + len;
        if (id === 'NETSCAPE2.0' && at(p) >= 3 && at(p + 1) === 1)
          loop = at(p + 2) | (at(p + 3) << 8);
        skipSubBlocks();
      } else {
        skipSubBlocks();
      }
    } else if (b === 0x2c) {
      const f = at(p + 8);
      p += 9;
      if (f & 0x80) p += 3 * (1 << ((f & 7) + 1));
      p++; // LZW minimum code size
      skipSubBlocks();
      delaysCs.push(pendingDelay);
      pendingDelay = 0;
    } else {
      throw new RangeError(`GIF: unexpected block 0x${b.toString(16)} at ${p - 1}`);
    }
  }
  return { width, height, frames: delaysCs.length, delaysCs, loop };
}
