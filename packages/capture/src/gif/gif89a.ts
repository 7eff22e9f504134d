/**
 * Container stage: GIF89a header, logical screen, global colour table, NETSCAPE2.0
 * looping, and per frame a Graphic Control Extension (delay, disposal, transparency) and
 * an image descriptor. Delays are written as placeholders and patched, so a frame whose
 * successor turns out identical can absorb that successor's time.
 */
import type { CountingSink } from '../writer';

/** Bits needed to index `n` entries in a GIF colour table (1..8; tables hold 2^bits). */
export function tableBits(n: number): number {
  let b = 1;
  while (1 << b < n) b++;
  return b;
}

function writeTable(sink: CountingSink, rgb: Uint8Array, bits: number): void {
  const size = 1 << bits;
  sink.bytes(rgb, 0, Math.min(rgb.length, size * 3));
  for (let i = rgb.length; i < size * 3; i++) sink.byte(0);
}

/**
 * Writes the header, the logical screen descriptor with `globalRgb` as the global colour
 * table (padded to a power of two), and, when `loop` is set, NETSCAPE2.0 infinite looping.
 */
export function writeHeader(
  sink: CountingSink,
  width: number,
  height: number,
  globalRgb: Uint8Array,
  loop: boolean,
): void {
  for (const ch of 'GIF89a') sink.byte(ch.charCodeAt(0));
  sink.u16(width);
  sink.u16(height);
  const bits = tableBits(Math.max(2, globalRgb.length / 3));
  // Global table present, colour resolution 8 bits, not sorted, size 2^bits.
  sink.byte(0x80 | (7 << 4) | (bits - 1));
  sink.byte(0); // background colour index
  sink.byte(0); // pixel aspect ratio: unspecified
  writeTable(sink, globalRgb, bits);
  if (loop) {
    sink.bytes([0x21, 0xff, 0x0b]);
    for (const ch of 'NETSCAPE2.0') sink.byte(ch.charCodeAt(0));
    sink.bytes([0x03, 0x01, 0x00, 0x00, 0x00]); // loop count 0 = forever
  }
}

/** A frame's placement and control data. */
export interface FrameHeader {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Transparent index, or −1 for none. */
  transparent: number;
  /** Disposal method: 1 = keep the frame on screen (frames draw over each other). */
  disposal: number;
  /** Local colour table (R,G,B per entry), or none to use the global one. */
  localRgb?: Uint8Array;
}

/**
 * Writes a Graphic Control Extension and an image descriptor (and local table). Returns
 * the sink offset of the GCE's delay field, to be filled in with `patchDelay`.
 */
export function writeFrameHeader(sink: CountingSink, f: FrameHeader): number {
  sink.bytes([0x21, 0xf9, 0x04, ((f.disposal & 7) << 2) | (f.transparent >= 0 ? 1 : 0)]);
  const delayAt = sink.length;
  sink.u16(0);
  sink.byte(f.transparent >= 0 ? f.transparent : 0);
  sink.byte(0);
  sink.byte(0x2c);
  sink.u16(f.x);
  sink.u16(f.y);
  sink.u16(f.width);
  sink.u16(f.height);
  if (f.localRgb) {
    const bits = tableBits(Math.max(2, f.localRgb.length / 3));
    sink.byte(0x80 | (bits - 1));
    writeTable(sink, f.localRgb, bits);
  } else {
    sink.byte(0);
  }
  return delayAt;
}

/** Ends the file. */
export function writeTrailer(sink: CountingSink): void {
  sink.byte(0x3b);
}

/**
 * Converts frame durations in milliseconds to GIF centiseconds, carrying the rounding so
 * the sum is the total duration rounded down to a centisecond: 83.33 ms frames (12 fps)
 * give 8, 8, 9, 8, 8, 9, … Each delay is at least 2 cs (players clamp shorter ones).
 */
export function delaysToCentiseconds(delaysMs: readonly number[]): number[] {
  const out: number[] = [];
  let cumMs = 0;
  let written = 0;
  for (const d of delaysMs) {
    cumMs += d;
    const target = Math.floor(cumMs / 10 + 1e-6);
    const cs = Math.max(2, target - written);
    out.push(cs);
    written += cs;
  }
  return out;
}
