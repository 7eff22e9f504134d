/**
 * Warming the GIF encoder up: small encodes of a synthetic clip that get its hot loops
 * optimised by V8 before real frames come.
 */
import type { RgbaImage } from '../types';
import { yieldForIo } from '../writer';
import { encodeGif } from './encode';

/** A small synthetic clip: a moving gradient with a little noise, then a few flat colours. */
function warmUpClip(w: number, h: number, count: number): RgbaImage[] {
  const frames: RgbaImage[] = [];
  let seed = 1;
  for (let k = 0; k < count; k++) {
    const data = new Uint8ClampedArray(w * h * 4);
    const flat = k >= count - 2; // a few colours only
    for (let i = 0; i < w * h; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const x = i % w;
      const y = (i / w) | 0;
      // Changed and unchanged areas, many colours.
      const moving = x > w / 10 + k * (w / 24) && x < w / 2.4 + k * (w / 24);
      data[i * 4] = flat ? ((x >> 4) & 1) * 255 : ((moving ? x * 3 : x) + (seed >>> 29)) & 255;
      data[i * 4 + 1] = flat ? ((y >> 3) & 1) * 200 : (y * 2 + (moving ? k * 7 : 0)) & 255;
      data[i * 4 + 2] = flat ? 40 : (x + y + (seed >>> 30)) & 255;
      data[i * 4 + 3] = 255;
    }
    frames.push({ width: w, height: h, data });
  }
  return frames;
}

/** Rounds of small encodes `warmUpGif` makes at most while it waits. */
const WARM_ROUNDS = 24;

/**
 * Gets the encoder's hot loops optimised by V8 before real frames come: a fresh process's
 * first try would otherwise spend its first frames in the interpreter and baseline code,
 * at about 1.5 times the cost. It uses time the thread would spend waiting anyway (a
 * decoder seeking to the first frame): small encodes of a few milliseconds each, until
 * `until` settles (or after `WARM_ROUNDS` of them). Measured with `clipchat clip` on film: the
 * whole run 20–35 ms shorter (median of 9); warming while the video was being opened made
 * it longer (its ffmpeg starts more slowly beside it).
 */
export async function warmUpGif(until: PromiseLike<unknown>): Promise<void> {
  let settled = false;
  until.then(
    () => (settled = true),
    () => (settled = true),
  );
  const frames = warmUpClip(32, 18, 5);
  const delaysMs = frames.map(() => 100);
  for (let round = 0; round < WARM_ROUNDS; round++) {
    // Whatever the caller waits for gets its I/O in before each round.
    await yieldForIo();
    if (settled) return;
    await encodeGif(frames, { delaysMs, quality: [80, 75, 50][round % 3] });
  }
}
