/**
 * Hostile uploads, built in memory from small real encodes (nothing large is committed):
 * the JPEG scan bomb, GIF/WebP animations that cost far more to decode than their bytes
 * suggest, a GIF whose frames lie outside its 1×1 screen, an 8K WebM, truncated files.
 * Shared by the server tests and `bench/hostile/media.ts`.
 */
import sharp from 'sharp';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Byte ranges of a JPEG's scans (SOS header plus entropy-coded data), found independently of the server's parser. */
function jpegScans(b: Buffer): { at: number; end: number; ss: number }[] {
  const out: { at: number; end: number; ss: number }[] = [];
  let i = 2;
  while (i < b.length && b[i + 1] !== 0xd9) {
    const len = b.readUInt16BE(i + 2);
    let end = i + 2 + len;
    if (b[i + 1] === 0xda) {
      while (!(
        b[end] === 0xff &&
        b[end + 1] !== 0 &&
        !(b[end + 1]! >= 0xd0 && b[end + 1]! <= 0xd7)
      ))
        end++;
      const ns = b[i + 4]!;
      out.push({ at: i, end, ss: b[i + 5 + ns * 2]! });
    }
    i = end;
  }
  return out;
}

/**
 * A progressive JPEG of `side`×`side` whose last AC scan (luma refinement) is repeated
 * `repeats` times: every copy makes a decoder walk the whole frame again, for a few dozen
 * bytes each. 10 000 repeats over 4096×4096 is the ~380 KB bomb of docs/benchmarks.md.
 */
export async function jpegScanBomb(repeats = 10_000, side = 4096): Promise<Buffer> {
  const img = await sharp({
    create: { width: side, height: side, channels: 3, background: { r: 120, g: 80, b: 200 } },
  })
    .jpeg({ progressive: true, quality: 80 })
    .toBuffer();
  const ac = jpegScans(img)
    .filter((s) => s.ss > 0)
    .at(-1)!;
  const scan = img.subarray(ac.at, ac.end);
  return Buffer.concat([
    img.subarray(0, ac.end),
    ...new Array<Buffer>(repeats).fill(scan),
    img.subarray(ac.end),
  ]);
}

/** The GIF image blocks (descriptor, local table, LZW data) of a one-frame GIF, and its header. */
function gifParts(b: Buffer): { head: Buffer; image: Buffer } {
  let at = 13;
  if (b[10]! & 0x80) at += 3 << ((b[10]! & 7) + 1);
  const head = b.subarray(0, at);
  while (b[at] === 0x21) {
    at += 2;
    while (b[at]! !== 0) at += 1 + b[at]!;
    at++;
  }
  const start = at;
  at += 10;
  if (b[start + 9]! & 0x80) at += 3 << ((b[start + 9]! & 7) + 1);
  at++;
  while (b[at]! !== 0) at += 1 + b[at]!;
  return { head, image: b.subarray(start, at + 1) };
}

/** Graphic control extension: `cs` centiseconds delay. */
const gce = (cs: number) => Buffer.from([0x21, 0xf9, 4, 0, cs & 255, cs >> 8, 0, 0]);
const loop = Buffer.from([0x21, 0xff, 11, ...Buffer.from('NETSCAPE2.0'), 3, 1, 0, 0, 0]);

/** An animated GIF of `frames` identical `w`×`h` frames (one real encode, repeated): cheap bytes, full decode work. */
export async function heavyGif(w: number, h: number, frames: number): Promise<Buffer> {
  const one = await sharp({
    create: { width: w, height: h, channels: 3, background: { r: 30, g: 160, b: 90 } },
  })
    .gif({ colours: 2, dither: 0 })
    .toBuffer();
  const { head, image } = gifParts(one);
  const frame = Buffer.concat([gce(4), image]);
  return Buffer.concat([head, loop, ...new Array<Buffer>(frames).fill(frame), Buffer.from([0x3b])]);
}

/**
 * The lying GIF: a 1×1 logical screen holding `frames` frames whose image descriptors
 * say `w`×`h` (each with an empty LZW stream). sharp reports 1×1; Chromium allocates w×h.
 */
export function wideGif(w = 8192, h = 4882, frames = 1000): Buffer {
  const head = Buffer.from([
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255,
  ]);
  const d = Buffer.from([
    0x2c,
    0,
    0,
    0,
    0,
    w & 255,
    w >> 8,
    h & 255,
    h >> 8,
    0,
    0x02,
    0x02,
    0x4c,
    0x01,
    0x00,
  ]);
  return Buffer.concat([
    head,
    loop,
    ...new Array<Buffer>(frames).fill(Buffer.concat([gce(4), d])),
    Buffer.from([0x3b]),
  ]);
}

const chunk = (type: string, data: Buffer) => {
  const h = Buffer.alloc(8);
  h.write(type, 0, 'latin1');
  h.writeUInt32LE(data.length, 4);
  return Buffer.concat([h, data, data.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
};
const u24 = (n: number) => Buffer.from([n & 255, (n >> 8) & 255, (n >> 16) & 255]);

/** An animated WebP of `frames` full-canvas `w`×`h` frames (one real lossy encode, repeated in ANMF chunks). */
export async function heavyWebp(w: number, h: number, frames: number): Promise<Buffer> {
  const one = await sharp({
    create: { width: w, height: h, channels: 3, background: { r: 30, g: 160, b: 90 } },
  })
    .webp({ quality: 50 })
    .toBuffer();
  // A simple lossy WebP: RIFF, WEBP, then one 'VP8 ' chunk.
  const vp8 = one.subarray(12, 20 + one.readUInt32LE(16) + (one.readUInt32LE(16) & 1));
  const anmf = chunk(
    'ANMF',
    Buffer.concat([u24(0), u24(0), u24(w - 1), u24(h - 1), u24(40), Buffer.from([0x02]), vp8]),
  );
  const vp8x = chunk('VP8X', Buffer.concat([Buffer.from([0x02, 0, 0, 0]), u24(w - 1), u24(h - 1)]));
  const anim = chunk('ANIM', Buffer.from([0, 0, 0, 0, 0, 0]));
  const body = Buffer.concat([
    Buffer.from('WEBP'),
    vp8x,
    anim,
    ...new Array<Buffer>(frames).fill(anmf),
  ]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

/** Runs ffmpeg into a temporary file and returns the bytes. */
export function ffmpegBytes(args: string[], ext: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'clipchat-hostile-'));
  try {
    const out = join(dir, `out.${ext}`);
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, out]);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An 8K (7680×4320) VP8 WebM of `frames` flat frames: small bytes, huge decode. */
export function webm8k(frames = 2): Buffer {
  return ffmpegBytes(
    [
      '-f',
      'lavfi',
      '-i',
      'color=c=gray:s=7680x4320:r=30',
      '-frames:v',
      String(frames),
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-cpu-used',
      '16',
      '-b:v',
      '200k',
    ],
    'webm',
  );
}

/** A 3 s, 10 fps 320×240 VP9 WebM and the same file cut at 45 % (12–13 of its 30 frames). */
export function webmAndTruncated(): { whole: Buffer; cut: Buffer } {
  const whole = ffmpegBytes(
    [
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=10',
      '-t',
      '3',
      '-c:v',
      'libvpx-vp9',
      '-b:v',
      '200k',
    ],
    'webm',
  );
  return { whole, cut: whole.subarray(0, Math.floor(whole.length * 0.45)) };
}

/** A PNG with its final IEND chunk removed (every pixel still there: decoders accept it). */
export async function pngWithoutIend(): Promise<Buffer> {
  const png = await sharp({
    create: { width: 64, height: 48, channels: 3, background: { r: 1, g: 2, b: 3 } },
  })
    .png()
    .toBuffer();
  return png.subarray(0, png.length - 12);
}
