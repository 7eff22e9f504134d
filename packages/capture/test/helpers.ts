/**
 * Test helpers shared by Clipchat's capture tests: reading back the frame number drawn
 * by scripts/fixtures.mjs, and ground-truth frame times from ffprobe (a decoder nobody
 * here wrote).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
// @ts-expect-error — plain ESM script without type declarations.
import { ensureFixtures as ensure, FIXTURE_FACTS as FACTS } from '../../../scripts/fixtures.mjs';

export type FixtureName =
  | 'h264'
  | 'vp9'
  | 'h264film'
  | 'offset'
  | 'vfr'
  | 'rotated'
  | 'ts'
  | 'noise'
  | 'noiseLong'
  | 'flat'
  | 'text'
  | 'empty'
  | 'truncated'
  | 'garbled';

/** Paths of the generated fixtures (generated on first use, cached in .fixtures/). */
export const ensureFixtures = ensure as () => Promise<Record<FixtureName, string>>;

/** Known facts of each frame-numbered fixture. */
export const FIXTURE_FACTS = FACTS as Record<
  string,
  { width: number; height: number; frames: number; fps?: number; codec: string; rotation?: number }
>;

/** Big Buck Bunny, 480p, 30 s, shared by the machine. */
export const BIG_BUCK_BUNNY = new URL(
  '../../../../shared/media/big-buck-bunny-480p-30s.mp4',
  import.meta.url,
).pathname;

/**
 * True when the footage is not there (a clone without ../shared): the tests that need it
 * skip, and the test setup says once where to put it.
 */
export const NO_FOOTAGE = !existsSync(BIG_BUCK_BUNNY);

/**
 * Reads the frame index drawn by the fixture script: 12 vertical stripes (MSB left,
 * white = 1) in the top half and their complement in the bottom half. Works on any
 * scaled copy of the frame, and on crops keeping the full width and part of both halves
 * around the middle. Returns -1 when the picture does not hold a clear number (e.g. a
 * blend of two frames, or the wrong orientation).
 */
export function readFrameNumber(rgba: ArrayLike<number>, width: number, height: number): number {
  const luma = (x0: number, x1: number, y0: number, y1: number) => {
    let sum = 0,
      n = 0;
    for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
      for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
        const i = (y * width + x) * 4;
        sum += 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
        n++;
      }
    }
    return n ? sum / n : NaN;
  };
  let value = 0;
  for (let b = 0; b < 12; b++) {
    const x0 = ((b + 0.3) * width) / 12,
      x1 = ((b + 0.7) * width) / 12;
    const top = luma(x0, x1, height * 0.12, height * 0.38);
    const bottom = luma(x0, x1, height * 0.62, height * 0.88);
    const bit = top > 128 ? 1 : 0;
    // A clean read is near black/white, and the bottom half says the opposite.
    if (Math.abs(top - 128) < 70 || Math.abs(bottom - 128) < 70 || (bottom > 128 ? 1 : 0) === bit)
      return -1;
    value = value * 2 + bit;
  }
  return value;
}

/**
 * Presentation times of every frame of the first video stream, in player time (seconds
 * from the first presented frame), ascending, computed exactly from integer pts.
 */
export function probeFrameTimes(path: string): number[] {
  const out = execFileSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=time_base:frame=pts,best_effort_timestamp',
      '-of',
      'json',
      path,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const j = JSON.parse(out) as {
    streams: Array<{ time_base: string }>;
    frames: Array<{ pts?: number; best_effort_timestamp?: number }>;
  };
  const [num, den] = j.streams[0]!.time_base.split('/').map(Number) as [number, number];
  const pts = j.frames.map((f) => f.best_effort_timestamp ?? f.pts!).sort((a, b) => a - b);
  return pts.map((p) => ((p - pts[0]!) * num) / den);
}

/** Index of the frame on screen at t: the last frame whose time is ≤ t. */
export function frameIndexAt(times: readonly number[], t: number): number {
  let lo = 0,
    hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    // A time within 1 µs of a frame's start is that frame's time carrying float error
    // (1 + 1/12 vs 26/24): the engine's documented tolerance.
    if (times[mid]! <= t + 1e-6) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A pseudo-random generator (xorshift), so tests are repeatable. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
