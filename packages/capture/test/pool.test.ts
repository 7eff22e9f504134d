/**
 * GIF tries on worker threads: the same bytes as the in-thread writer, two tries at once,
 * an over-budget try stopped with its estimate, cancellation, and fitting through the pool
 * landing on the same answer as without it.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../src/errors';
import { fitSticker } from '../src/fit';
import { gifWriter } from '../src/gif/index';
import { GifWorkerPool } from '../src/gif/pool.node.ts';
import type { RgbaImage } from '../src/types';
import { OverBudgetError } from '../src/writer';
import { BIG_BUCK_BUNNY, NO_FOOTAGE } from './helpers';

const W = 320;
const H = 180;
const FPS = 12;
let frames: RgbaImage[] = [];
let delays: number[] = [];
const pool = new GifWorkerPool(2);

beforeAll(() => {
  if (NO_FOOTAGE) return;
  const raw = execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-ss',
      '20',
      '-t',
      '2',
      '-i',
      BIG_BUCK_BUNNY,
      '-vf',
      `fps=${FPS},scale=${W}:${H}:flags=lanczos`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      '-',
    ],
    { maxBuffer: 1 << 28 },
  );
  const size = W * H * 4;
  for (let k = 0; k < 24; k++)
    frames.push({
      width: W,
      height: H,
      data: new Uint8ClampedArray(raw.buffer, raw.byteOffset + k * size, size),
    });
  delays = frames.map(() => 1000 / FPS);
});
afterAll(() => pool.close());

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

describe.skipIf(NO_FOOTAGE)('GifWorkerPool', () => {
  it('writes exactly the bytes of the in-thread encoder, two tries at once', async () => {
    const [a, b] = await Promise.all([
      pool.encode(frames, delays, { quality: 80 }),
      pool.encode(frames, delays, { quality: 40 }),
    ]);
    expect(same(a, await gifWriter.encode(frames, delays, { quality: 80 }))).toBe(true);
    expect(same(b, await gifWriter.encode(frames, delays, { quality: 40 }))).toBe(true);
    expect(b.length).toBeLessThan(a.length);
    // A third try waits for a free worker instead of failing.
    const three = await Promise.all(
      [70, 60, 50].map((q) => pool.encode(frames, delays, { quality: q })),
    );
    for (const [i, q] of [70, 60, 50].entries())
      expect(same(three[i]!, await gifWriter.encode(frames, delays, { quality: q }))).toBe(true);
  }, 120_000);

  it('stops an over-budget try early and says how far it got', async () => {
    const full = (await gifWriter.encode(frames, delays, { quality: 90 })).length;
    let done = 0;
    const err = await pool
      .encode(frames, delays, {
        quality: 90,
        maxBytes: Math.floor(full / 3),
        onProgress: (f) => {
          done = f;
        },
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OverBudgetError);
    expect((err as OverBudgetError).written).toBeGreaterThan(full / 3);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(1);
  }, 60_000);

  it('takes frames as they arrive, two tries on one growing frame set, and fails when one never comes', async () => {
    const arriving = (failAt = -1) => {
      const got: RgbaImage[] = [];
      let error: Error | undefined;
      const waiters: Array<() => void> = [];
      void (async () => {
        for (let k = 0; k < frames.length; k++) {
          await new Promise((r) => setTimeout(r, 3));
          if (k === failAt) error = new Error(`frame ${k} is corrupt`);
          else got.push(frames[k]!);
          for (const w of waiters.splice(0)) w();
          if (error) return;
        }
      })();
      const frameReady = async (k: number): Promise<void> => {
        while (k >= got.length) {
          if (error) throw error;
          await new Promise<void>((r) => waiters.push(r));
        }
      };
      return { got, frameReady };
    };
    const a = arriving();
    const [x, y] = await Promise.all([
      pool.encode(a.got, delays, { quality: 80, frameReady: a.frameReady }),
      pool.encode(a.got, delays, { quality: 60, frameReady: a.frameReady }),
    ]);
    expect(same(x, await gifWriter.encode(frames, delays, { quality: 80 }))).toBe(true);
    expect(same(y, await gifWriter.encode(frames, delays, { quality: 60 }))).toBe(true);
    const b = arriving(7);
    await expect(
      pool.encode(b.got, delays, { quality: 80, frameReady: b.frameReady }),
    ).rejects.toThrow('frame 7 is corrupt');
  }, 60_000);

  it('cancels a running try through its signal', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await expect(
      pool.encode(frames, delays, { quality: 90, signal: ac.signal }),
    ).rejects.toBeInstanceOf(CancelledError);
    // The worker is free again afterwards.
    expect(
      same(
        await pool.encode(frames, delays, { quality: 30 }),
        await gifWriter.encode(frames, delays, { quality: 30 }),
      ),
    ).toBe(true);
  }, 60_000);

  it('lets fitting try two qualities at once and land where fitting alone lands', async () => {
    const req = {
      maxBytes: 160 * 1024,
      quality: 90,
      shape: { width: W, height: H, fps: FPS },
      frames: async () => ({ frames, delaysMs: delays }),
    };
    const alone = await fitSticker({ ...req, writer: gifWriter });
    const paired = await fitSticker({ ...req, writer: gifWriter, parallel: pool });
    expect(paired.bytes.length).toBeLessThanOrEqual(160 * 1024);
    // The answer is what the in-thread encoder writes at that quality.
    expect(
      same(await gifWriter.encode(frames, delays, { quality: paired.quality }), paired.bytes),
    ).toBe(true);
    // The search stopped for a reason: it uses nearly all of the budget, or one quality more does not fit.
    if (paired.bytes.length < 0.95 * 160 * 1024)
      expect(
        (await gifWriter.encode(frames, delays, { quality: paired.quality + 1 })).length,
      ).toBeGreaterThan(160 * 1024);
    // Both end in the same band of quality (fitting alone paces each frame's quality,
    // and reports their mean; the pool searches one quality for all frames).
    expect(alone.bytes.length).toBeLessThanOrEqual(160 * 1024);
    expect(Math.abs(paired.quality - alone.quality)).toBeLessThanOrEqual(4);
  }, 120_000);
});
