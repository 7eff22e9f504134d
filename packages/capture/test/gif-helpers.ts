/**
 * Helpers of the GIF tests: reference frames of Big Buck Bunny, decoding with ffmpeg, and
 * ffmpeg's SSIM/PSNR between what a GIF shows and its source.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { RgbaImage } from '../src/types';
import { BIG_BUCK_BUNNY } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'clipchat-gif-helpers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;

/** Writes bytes to a fresh file in the helpers' folder. */
function save(bytes: Uint8Array, ext: string): string {
  const f = join(dir, `t${seq++}.${ext}`);
  writeFileSync(f, bytes);
  return f;
}

/** Every frame ffmpeg decodes from a GIF (composited, RGBA), without resampling. */
export function ffmpegFrames(bytes: Uint8Array, w: number, h: number): Uint8Array[] {
  const raw = execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      save(bytes, 'gif'),
      '-fps_mode',
      'passthrough',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      '-',
    ],
    { maxBuffer: 1 << 30 },
  );
  const out: Uint8Array[] = [];
  for (let o = 0; o + w * h * 4 <= raw.length; o += w * h * 4)
    out.push(raw.subarray(o, o + w * h * 4));
  return out;
}

/** BBB 20–23 s at 12 fps, 320 px wide, lanczos: the reference frames of docs/benchmarks.md. */
export function bbbFrames(
  from = 20,
  seconds = 3,
  fps = 12,
  width = 320,
  height = 180,
): RgbaImage[] {
  const raw = execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-ss',
      String(from),
      '-t',
      String(seconds),
      '-i',
      BIG_BUCK_BUNNY,
      '-vf',
      `fps=${fps},scale=${width}:${height}:flags=lanczos`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      '-',
    ],
    { maxBuffer: 1 << 30 },
  );
  const size = width * height * 4;
  const out: RgbaImage[] = [];
  for (let o = 0; o + size <= raw.length && out.length < Math.round(seconds * fps); o += size)
    out.push({ width, height, data: new Uint8ClampedArray(raw.buffer, raw.byteOffset + o, size) });
  return out;
}

/** ffmpeg's SSIM (All, yuv444p) and PSNR between two equal-length RGBA sequences. */
export function ssimPsnr(
  a: ArrayLike<number>[],
  b: ArrayLike<number>[],
  w: number,
  h: number,
): { ssim: number; psnr: number } {
  const cat = (fr: ArrayLike<number>[]) =>
    Buffer.concat(fr.map((f) => Buffer.from(f as Uint8Array)));
  const fa = save(cat(a), 'rgba');
  const fb = save(cat(b), 'rgba');
  const inp = (f: string) => ['-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${w}x${h}`, '-i', f];
  const r = spawnSync('ffmpeg', [
    '-nostats',
    ...inp(fa),
    ...inp(fb),
    '-lavfi',
    '[0]format=yuv444p,split[a1][a2];[1]format=yuv444p,split[b1][b2];[a1][b1]ssim;[a2][b2]psnr',
    '-f',
    'null',
    '-',
  ]);
  const e = r.stderr.toString();
  return {
    ssim: Number(/SSIM .*All:([\d.]+)/.exec(e)?.[1]),
    psnr: Number(/PSNR .*average:([\d.]+|inf)/.exec(e)?.[1].replace('inf', 'Infinity')),
  };
}

/**
 * What a GIF shows at each of `n` samples taken at `fps`, each looked at in the middle of
 * its interval: written frames (`decoded`) mapped back through their delays.
 */
export function shownAtSamples<T>(
  decoded: readonly T[],
  delaysCs: readonly number[],
  n: number,
  fps: number,
): T[] {
  const shown: T[] = [];
  let j = 0;
  let end = delaysCs[0];
  for (let k = 0; k < n; k++) {
    const t = ((k + 0.5) * 100) / fps;
    while (t >= end && j + 1 < decoded.length) end += delaysCs[++j];
    shown.push(decoded[j]);
  }
  return shown;
}
