/**
 * Reads the structure of PNG, GIF, WebP and JPEG uploads by hand, *before* anything
 * decodes them: the canvas a viewer will allocate, every frame's rectangle, the number of
 * frames and (JPEG) scans. Decoders trust these numbers, and some of them — a GIF's frame
 * rectangles, a JPEG's count of progressive scans — are not what sharp's metadata reports,
 * so the caps are enforced on what a browser would actually do. The walk also proves the
 * file is whole (PNG IEND, GIF trailer, WebP RIFF size, JPEG EOI), which decoders forgive.
 */
import { crc32 } from 'node:zlib';
import { ApiError } from '../errors';

/** What a header walk found. `canvas*` is the area every frame is composited into. */
export interface HeaderInfo {
  width: number;
  height: number;
  frames: number;
  /** The largest side of any frame rectangle (equal to the canvas for stills). */
  largestFrameSide: number;
  /** JPEG only: the number of scans (SOS segments); 1 for baseline. */
  scans?: number;
  /** JPEG only: progressive (SOF2/SOF6/SOF10/SOF14). */
  progressive?: boolean;
}

const corrupt = (fmt: string, why: string) =>
  new ApiError('ERR_CORRUPT_MEDIA', `the ${fmt} file is damaged: ${why}`);
const ascii = (b: Buffer, at: number, len: number) => b.toString('latin1', at, at + len);

/** PNG: chunk by chunk with CRCs; IHDR first, IEND present; APNG frames (acTL/fcTL) counted and bounded. */
export function readPng(b: Buffer): HeaderInfo {
  let at = 8;
  let width = 0;
  let height = 0;
  let frames = 0;
  let declared = 0;
  let ended = false;
  let largest = 0;
  while (at < b.length) {
    if (at + 12 > b.length) throw corrupt('PNG', `a chunk header is cut off at byte ${at}`);
    const len = b.readUInt32BE(at);
    const type = ascii(b, at + 4, 4);
    const end = at + 12 + len;
    if (len > 0x7fffffff || end > b.length)
      throw corrupt('PNG', `the ${type} chunk at byte ${at} runs past the end of the file`);
    if (crc32(b.subarray(at + 4, at + 8 + len)) !== b.readUInt32BE(at + 8 + len))
      throw corrupt('PNG', `the ${type} chunk at byte ${at} fails its CRC`);
    const d = at + 8;
    if (at === 8) {
      if (type !== 'IHDR' || len !== 13)
        throw corrupt('PNG', 'it does not start with an IHDR chunk');
      width = b.readUInt32BE(d);
      height = b.readUInt32BE(d + 4);
      largest = Math.max(width, height);
    } else if (type === 'acTL' && len >= 8) {
      declared = b.readUInt32BE(d);
    } else if (type === 'fcTL' && len >= 26) {
      const w = b.readUInt32BE(d + 4);
      const h = b.readUInt32BE(d + 8);
      const x = b.readUInt32BE(d + 12);
      const y = b.readUInt32BE(d + 16);
      // The APNG spec keeps every frame inside the canvas; a browser meeting one outside is undefined.
      if (w < 1 || h < 1 || x + w > width || y + h > height)
        throw corrupt(
          'PNG',
          `APNG frame ${frames + 1} (${w}×${h} at ${x},${y}) lies outside the ${width}×${height} canvas`,
        );
      frames++;
    } else if (type === 'IEND') {
      ended = true;
      break;
    }
    at = end;
  }
  if (!ended) throw corrupt('PNG', 'it ends without its IEND chunk (truncated)');
  if (declared && frames !== declared)
    throw corrupt('PNG', `the APNG declares ${declared} frames but holds ${frames}`);
  return { width, height, frames: Math.max(1, frames), largestFrameSide: largest };
}

/** GIF: the logical screen and every image descriptor, walking all blocks to the trailer. */
export function readGif(b: Buffer): HeaderInfo {
  if (b.length < 13) throw corrupt('GIF', 'too short for its header');
  const screenW = b.readUInt16LE(6);
  const screenH = b.readUInt16LE(8);
  let at = 13;
  if (b[10]! & 0x80) at += 3 << ((b[10]! & 7) + 1);
  let width = screenW;
  let height = screenH;
  let frames = 0;
  let largest = 0;
  const subBlocks = (what: string) => {
    for (;;) {
      if (at >= b.length) throw corrupt('GIF', `${what} is cut off (truncated)`);
      const n = b[at]!;
      at += 1 + n;
      if (n === 0) return;
    }
  };
  for (;;) {
    if (at >= b.length) {
      // Ending cleanly after a whole block without the trailer is common and harmless.
      if (frames > 0) break;
      throw corrupt('GIF', 'it holds no image');
    }
    const block = b[at]!;
    if (block === 0x3b) break;
    if (block === 0x21) {
      at += 2;
      subBlocks('an extension block');
      continue;
    }
    if (block !== 0x2c) throw corrupt('GIF', `unknown block 0x${block.toString(16)} at byte ${at}`);
    if (at + 10 > b.length) throw corrupt('GIF', 'an image descriptor is cut off (truncated)');
    const x = b.readUInt16LE(at + 1);
    const y = b.readUInt16LE(at + 3);
    const w = b.readUInt16LE(at + 5);
    const h = b.readUInt16LE(at + 7);
    const packed = b[at + 9]!;
    at += 10;
    if (packed & 0x80) at += 3 << ((packed & 7) + 1);
    at += 1; // LZW minimum code size
    subBlocks(`image ${frames + 1}`);
    frames++;
    // Browsers grow the canvas to hold a frame that lies outside the logical screen, so
    // the canvas that gets allocated is the union of the screen and every frame.
    width = Math.max(width, x + w);
    height = Math.max(height, y + h);
    largest = Math.max(largest, w, h);
  }
  return { width, height, frames, largestFrameSide: Math.max(largest, width, height) };
}

const u24 = (b: Buffer, at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);

/** Size of a VP8 or VP8L bitstream chunk's image, or null when the chunk is not one. */
function bitstreamSize(
  b: Buffer,
  type: string,
  d: number,
  len: number,
): { w: number; h: number } | null {
  if (type === 'VP8 ' && len >= 10) {
    if (b[d + 3] !== 0x9d || b[d + 4] !== 0x01 || b[d + 5] !== 0x2a)
      throw corrupt('WebP', 'a VP8 frame lacks its start code');
    return { w: b.readUInt16LE(d + 6) & 0x3fff, h: b.readUInt16LE(d + 8) & 0x3fff };
  }
  if (type === 'VP8L' && len >= 5) {
    if (b[d] !== 0x2f) throw corrupt('WebP', 'a VP8L frame lacks its signature');
    const bits = b.readUInt32LE(d + 1);
    return { w: (bits & 0x3fff) + 1, h: ((bits >>> 14) & 0x3fff) + 1 };
  }
  return null;
}

/** WebP: the RIFF chunk list; the VP8X canvas and every ANMF frame (rectangle inside the canvas). */
export function readWebp(b: Buffer): HeaderInfo {
  const riff = b.readUInt32LE(4) + 8;
  if (riff > b.length)
    throw corrupt(
      'WebP',
      `the RIFF header promises ${riff} bytes but the file has ${b.length} (truncated)`,
    );
  let at = 12;
  let width = 0;
  let height = 0;
  let frames = 0;
  let largest = 0;
  let extended = false;
  let image = false;
  while (at + 8 <= riff) {
    const type = ascii(b, at, 4);
    const len = b.readUInt32LE(at + 4);
    const d = at + 8;
    if (d + len > riff)
      throw corrupt('WebP', `the ${type} chunk runs past the end of the file (truncated)`);
    if (at === 12 && type === 'VP8X') {
      if (len < 10) throw corrupt('WebP', 'the VP8X chunk is too short');
      extended = true;
      width = u24(b, d + 4) + 1;
      height = u24(b, d + 7) + 1;
    } else if (type === 'ANMF') {
      if (!extended || len < 16)
        throw corrupt('WebP', 'an animation frame outside an extended (VP8X) file');
      const x = u24(b, d) * 2;
      const y = u24(b, d + 3) * 2;
      const w = u24(b, d + 6) + 1;
      const h = u24(b, d + 9) + 1;
      if (x + w > width || y + h > height)
        throw corrupt(
          'WebP',
          `frame ${frames + 1} (${w}×${h} at ${x},${y}) lies outside the ${width}×${height} canvas`,
        );
      // The frame's own bitstream must say the same size as its rectangle.
      let s = d + 16;
      let found = false;
      while (s + 8 <= d + len) {
        const st = ascii(b, s, 4);
        const sl = b.readUInt32LE(s + 4);
        if (s + 8 + sl > d + len) throw corrupt('WebP', `frame ${frames + 1} is cut off`);
        const size = bitstreamSize(b, st, s + 8, sl);
        if (size) {
          if (size.w !== w || size.h !== h)
            throw corrupt(
              'WebP',
              `frame ${frames + 1} says ${w}×${h} but its image is ${size.w}×${size.h}`,
            );
          found = true;
        }
        s += 8 + sl + (sl & 1);
      }
      if (!found) throw corrupt('WebP', `frame ${frames + 1} has no image data`);
      frames++;
      largest = Math.max(largest, w, h);
    } else {
      const size = bitstreamSize(b, type, d, len);
      if (size) {
        if (extended && (size.w !== width || size.h !== height))
          throw corrupt(
            'WebP',
            `the canvas is ${width}×${height} but its image is ${size.w}×${size.h}`,
          );
        if (!extended) {
          width = size.w;
          height = size.h;
        }
        image = true;
      }
    }
    at = d + len + (len & 1);
  }
  if (!frames && !image) throw corrupt('WebP', 'it holds no image');
  return {
    width,
    height,
    frames: Math.max(1, frames),
    largestFrameSide: Math.max(largest, width, height),
  };
}

/**
 * JPEG: every marker segment and scan to EOI; the frame size from SOF, the count of scans.
 * Stops at scan `maxScans + 1` with ERR_MEDIA_LIMITS: walking a quarter of a million tiny
 * scans of an 8 MiB scan bomb to the end would hold the event loop for ~130 ms.
 */
export function readJpeg(b: Buffer, maxScans = Infinity): HeaderInfo {
  let at = 2;
  let width = 0;
  let height = 0;
  let scans = 0;
  let progressive = false;
  let sof = false;
  for (;;) {
    if (at + 2 > b.length)
      throw corrupt('JPEG', 'it ends before its end-of-image marker (truncated)');
    if (b[at] !== 0xff) throw corrupt('JPEG', `expected a marker at byte ${at}`);
    const m = b[at + 1]!;
    if (m === 0xff) {
      at++;
      continue;
    } // fill byte
    if (m === 0xd9) break;
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      at += 2;
      continue;
    }
    if (at + 4 > b.length) throw corrupt('JPEG', 'a segment header is cut off (truncated)');
    const len = b.readUInt16BE(at + 2);
    if (len < 2 || at + 2 + len > b.length)
      throw corrupt('JPEG', `the segment at byte ${at} runs past the end of the file (truncated)`);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (sof) throw corrupt('JPEG', 'it has more than one frame header');
      if (len < 8) throw corrupt('JPEG', 'the frame header is too short');
      sof = true;
      height = b.readUInt16BE(at + 5);
      width = b.readUInt16BE(at + 7);
      progressive = m === 0xc2 || m === 0xc6 || m === 0xca || m === 0xce;
    }
    at += 2 + len;
    if (m === 0xda) {
      if (!sof) throw corrupt('JPEG', 'a scan comes before the frame header');
      scans++;
      if (scans > maxScans) {
        throw new ApiError(
          'ERR_MEDIA_LIMITS',
          `the JPEG has more than ${maxScans} scans; at most ${maxScans} (encoders write about 10)`,
        );
      }
      // Entropy-coded data runs to the next marker that is neither a stuffed 0xFF00 nor a restart.
      for (;;) {
        const i = b.indexOf(0xff, at);
        if (i < 0 || i + 1 >= b.length)
          throw corrupt('JPEG', `scan ${scans} is cut off (truncated)`);
        const n = b[i + 1]!;
        if (n === 0x00 || (n >= 0xd0 && n <= 0xd7) || n === 0xff) {
          at = i + (n === 0xff ? 1 : 2);
          continue;
        }
        at = i;
        break;
      }
    }
  }
  if (!sof || !scans) throw corrupt('JPEG', 'it has no frame header or no scan');
  return {
    width,
    height,
    frames: 1,
    largestFrameSide: Math.max(width, height),
    scans,
    progressive,
  };
}
