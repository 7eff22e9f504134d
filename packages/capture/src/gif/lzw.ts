/**
 * LZW stage: GIF's variable-width LZW (codes grow from minCodeSize+1 to 12 bits; a clear
 * code starts every table), written as 255-byte sub-blocks straight into the counting
 * sink, so an over-budget try stops mid-frame.
 *
 * Two freedoms make runs longer without visible cost:
 * - "may be transparent" pixels (unchanged since the previous frame) match either the
 *   transparent index or their own colour, whichever extends the current string;
 * - lossy mode (after gifsicle's idea) lets a pixel take any colour already in the current
 *   string's continuations when it is within `lossy` (squared perceptual distance) of the
 *   pixel's true colour.
 * The index actually written for each pixel is reported back in `chosen`, so the caller
 * knows exactly what a decoder will show.
 */
import type { CountingSink } from '../writer';
import type { Palette } from './color';

/** What to encode: one rectangle of palette indices and the freedoms it allows. */
export interface LzwInput {
  /** Preferred palette index of every pixel. */
  index: Uint8Array;
  /** Pixel count. */
  length: number;
  /** 1 where the pixel may be written as `transparent` (or, given `alt`, as `alt`) instead. */
  keep?: Uint8Array;
  /** Transparent index, or −1 when the frame has none. */
  transparent: number;
  /**
   * Per pixel, the index that leaves the screen as it is (the shown colour's own entry),
   * for frames without a transparent index: kept pixels may be written as it instead.
   */
  alt?: Uint8Array;
  /**
   * When the table fills (4096 codes), keep using it instead of clearing: repetitive
   * pictures (few colours, patterns) go on matching long strings from a full table,
   * where a fresh table would start over with short ones.
   */
  frozen?: boolean;
  /** Squared perceptual tolerance for lossy matches; 0 = exact. */
  lossy: number;
  /** Weighted Y'CbCr of each pixel's true colour (3 floats a pixel), needed when lossy > 0. */
  truth?: Float32Array;
  /** Palette entries in the same space as `truth` (default: `palette.pc`). */
  truthPalette?: Float64Array;
  palette: Palette;
  /** Receives the index written for each pixel. */
  chosen: Uint8Array;
}

const MAX_CODES = 4096;
/** Share of a pixel's colour error carried to the next pixel in lossy mode (1: all of it). */
const CARRY = 1;
const CARRY_LIMIT = 24;

function clampCarry(v: number): number {
  return v < -CARRY_LIMIT ? -CARRY_LIMIT : v > CARRY_LIMIT ? CARRY_LIMIT : v;
}

/**
 * Slots of the string table's hash (a power of two, four times the codes: short probes). A
 * slot holds `key << 12 | code` with key = prefix code × 256 + pixel (the index the child
 * table had, below 2²⁰), 0 when empty (codes of strings are never 0). 64 KB that stay in
 * cache, where a direct 4096×256 child table (2 MB) missed it on most lookups.
 */
const HASH_BITS = 14;
const HASH_SIZE = 1 << HASH_BITS;
const HASH_MASK = HASH_SIZE - 1;

/** Reusable LZW tables (allocate once per encoder). */
export class LzwEncoder {
  private readonly table = new Int32Array(HASH_SIZE);
  private readonly firstChild = new Int16Array(MAX_CODES);
  private readonly sibling = new Int16Array(MAX_CODES);
  private readonly pixel = new Uint8Array(MAX_CODES);
  private readonly block = new Uint8Array(256);

  /** Encodes `input` as an image-data block: min code size byte, sub-blocks, terminator. */
  encode(sink: CountingSink, minCodeSize: number, input: LzwInput): void {
    // Indices are bytes (GIF tables hold at most 256 entries), and so is the hash key's pixel.
    if (input.transparent > 255)
      throw new RangeError(
        `a GIF index is 0–255; transparent index ${input.transparent} does not fit`,
      );
    try {
      this.encodeBlock(sink, minCodeSize, input);
    } finally {
      // Clear the strings made since the last clear code.
      this.table.fill(0);
      this.firstChild.fill(0, 0, this.nextCode);
      this.nextCode = 0;
    }
  }

  /** Code of the string `prefix` + `pixel`, or 0 when the table has none. */
  private find(prefix: number, pixel: number): number {
    const key = prefix * 256 + pixel;
    const table = this.table;
    let h = Math.imul(key, 0x9e3779b1) >>> (32 - HASH_BITS);
    for (;;) {
      const e = table[h];
      if (e === 0) return 0;
      if (e >>> 12 === key) return e & 0xfff;
      h = (h + 1) & HASH_MASK;
    }
  }

  /** Adds the string `prefix` + `pixel` (not in the table) as `code`. */
  private add(prefix: number, pixel: number, code: number): void {
    const key = prefix * 256 + pixel;
    const table = this.table;
    let h = Math.imul(key, 0x9e3779b1) >>> (32 - HASH_BITS);
    while (table[h] !== 0) h = (h + 1) & HASH_MASK;
    table[h] = (key << 12) | code;
  }

  /** Whether the last `encode` filled the table (so `frozen` would have changed it). */
  filled = false;

  /** Codes in use since the last clear code, for the clean-up after an encode. */
  private nextCode = 0;

  private encodeBlock(sink: CountingSink, minCodeSize: number, input: LzwInput): void {
    const { index, length: n, keep, transparent: T, alt, lossy, truth, palette, chosen } = input;
    const frozen = input.frozen === true;
    this.filled = false;
    // What a kept pixel may be written as: the transparent index, or its own `alt` entry.
    const keepable = keep !== undefined && (T >= 0 || alt !== undefined);
    const firstChild = this.firstChild;
    const sibling = this.sibling;
    const pixel = this.pixel;
    const block = this.block;
    const pc = input.truthPalette ?? palette.pc;
    const clear = 1 << minCodeSize;
    const eoi = clear + 1;
    let nextCode = eoi + 1;
    this.nextCode = nextCode;
    let width = minCodeSize + 1;
    let bits = 0;
    let nbits = 0;
    let blen = 0;

    sink.byte(minCodeSize);
    const emit = (code: number, w: number): void => {
      bits |= code << nbits;
      nbits += w;
      while (nbits >= 8) {
        block[++blen] = bits & 0xff;
        bits >>>= 8;
        nbits -= 8;
        if (blen === 255) {
          block[0] = 255;
          sink.bytes(block, 0, 256);
          blen = 0;
        }
      }
    };
    const reset = (): void => {
      this.table.fill(0);
      firstChild.fill(0, 0, nextCode);
      nextCode = eoi + 1;
      this.nextCode = nextCode;
      width = minCodeSize + 1;
    };
    // Tables are clean here: the constructor zeroes them and every encode clears them
    // before returning.
    emit(clear, width);
    if (n === 0) {
      emit(eoi, width);
    } else {
      let cur = keepable && keep[0] ? (alt ? alt[0] : T) : index[0];
      chosen[0] = cur;
      let ey = 0;
      let eu = 0;
      let ev = 0;
      for (let i = 1; i < n; i++) {
        const p = index[i];
        const canKeep = keepable && keep[i] === 1;
        const kept = canKeep ? (alt ? alt[i] : T) : -1;
        let next = 0;
        let pick = p;
        if (canKeep) {
          next = this.find(cur, kept);
          pick = kept;
        }
        if (next === 0) {
          next = this.find(cur, p);
          pick = p;
        }
        if (next === 0 && lossy > 0 && truth) {
          // Any continuation of the current string whose colour is close enough to the
          // true colour plus the error carried from the pixel before (so substitutions
          // average out along a run instead of drifting one way).
          const ty = truth[i * 3] + ey;
          const tu = truth[i * 3 + 1] + eu;
          const tv = truth[i * 3 + 2] + ev;
          let bd = lossy;
          for (let c = firstChild[cur]; c !== 0; c = sibling[c]) {
            const q = pixel[c];
            if (q === T) continue;
            const dy = pc[q * 3] - ty;
            let d = dy * dy;
            if (d > bd) continue;
            const du = pc[q * 3 + 1] - tu;
            const dv = pc[q * 3 + 2] - tv;
            d += du * du + dv * dv;
            if (d <= bd) {
              bd = d;
              next = c;
              pick = q;
            }
          }
        }
        if (truth && lossy > 0) {
          const q = next !== 0 ? pick : canKeep ? kept : p;
          if (q === kept) {
            ey = eu = ev = 0;
          } else {
            ey = clampCarry((truth[i * 3] + ey - pc[q * 3]) * CARRY);
            eu = clampCarry((truth[i * 3 + 1] + eu - pc[q * 3 + 1]) * CARRY);
            ev = clampCarry((truth[i * 3 + 2] + ev - pc[q * 3 + 2]) * CARRY);
          }
        }
        if (next !== 0) {
          cur = next;
          chosen[i] = pick;
          continue;
        }
        // No continuation: write the string, add string+pixel, start over at this pixel.
        const start = canKeep ? kept : p;
        chosen[i] = start;
        emit(cur, width);
        if (nextCode === MAX_CODES) {
          this.filled = true;
          if (!frozen) {
            emit(clear, width);
            reset();
          }
        } else {
          if (nextCode >= 1 << width) width++;
          const c = nextCode++;
          this.nextCode = nextCode;
          this.add(cur, start, c);
          pixel[c] = start;
          sibling[c] = firstChild[cur];
          firstChild[cur] = c;
        }
        cur = start;
      }
      emit(cur, width);
      emit(eoi, width);
    }
    if (nbits > 0) {
      block[++blen] = bits & 0xff;
      if (blen === 255) {
        block[0] = 255;
        sink.bytes(block, 0, 256);
        blen = 0;
      }
    }
    if (blen > 0) {
      block[0] = blen;
      sink.bytes(block, 0, blen + 1);
    }
    sink.byte(0);
  }
}
