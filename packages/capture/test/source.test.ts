import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancelledError,
  InvalidSettingError,
  SourceError,
  TimeOutOfRangeError,
  openVideo,
  resetFfmpegPath,
  type FrameSource,
} from '../src/node';
import {
  FIXTURE_FACTS,
  ensureFixtures,
  frameIndexAt,
  probeFrameTimes,
  readFrameNumber,
  type FixtureName,
} from './helpers';

let fx: Record<FixtureName, string>;
beforeAll(async () => {
  fx = await ensureFixtures();
});

const NUMBERED = ['h264', 'vp9', 'offset', 'vfr', 'rotated', 'ts'] as const;

/**
 * Scales a lossless H.264 ramp of neutral greys (chroma exactly 128) and checks every pixel
 * comes out grey: the fast YUV→RGBA path of swscale tints greys (245,245,245 → 245,243,246).
 */
async function expectNeutralGreys(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'clipchat-grey-'));
  try {
    const file = join(dir, 'ramp.mp4');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      "color=c=black:s=64x48:d=0.2,format=yuv420p,geq=lum='16+X*3':cb=128:cr=128",
      '-c:v',
      'libx264',
      '-crf',
      '0',
      '-pix_fmt',
      'yuv420p',
      file,
    ]);
    const src = await openVideo(file);
    try {
      const f = await src.frameAt(0, { width: 32 });
      expect([f.width, f.height]).toEqual([32, 24]);
      const tinted: number[] = [];
      for (let i = 0; i < f.width * f.height; i++)
        if (f.data[i * 4] !== f.data[i * 4 + 1] || f.data[i * 4 + 2] !== f.data[i * 4 + 1])
          tinted.push(i);
      expect(tinted.length).toBe(0);
      // The ramp survives scaling: dark on the left, light on the right.
      expect(f.data[12 * 32 * 4 + 31 * 4]! - f.data[12 * 32 * 4]!).toBeGreaterThan(150);
    } finally {
      await src.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Boundary times of every frame: just before it (0.1 ms), exactly at it, and halfway to the next. */
function boundaryTimes(times: number[], duration: number): number[] {
  const out: number[] = [];
  times.forEach((t, k) => {
    if (k > 0) out.push(t - 1e-4);
    out.push(t);
    out.push((t + (times[k + 1] ?? duration)) / 2);
  });
  out.push(duration - 1e-4);
  return out;
}

async function expectExact(
  src: FrameSource,
  path: string,
  sample: (times: number[], d: number) => number[],
) {
  const times = probeFrameTimes(path);
  const want = sample(times, src.info.duration);
  let i = 0;
  for await (const f of src.framesAt(want)) {
    const exp = frameIndexAt(times, want[i]!);
    expect({ t: want[i], n: readFrameNumber(f.data, f.width, f.height), index: f.index }).toEqual({
      t: want[i],
      n: exp,
      index: exp,
    });
    expect(f.time).toBe(times[exp]);
    i++;
  }
  expect(i).toBe(want.length);
}

describe('ffmpeg frame source', () => {
  it('describes each clip as a player would show it', async () => {
    for (const k of NUMBERED) {
      const src = await openVideo(fx[k]);
      const facts = FIXTURE_FACTS[k]!;
      const times = probeFrameTimes(fx[k]);
      expect(src.info).toMatchObject({
        width: 320,
        height: 240,
        codec: facts.codec,
        name: fx[k].split('/').pop(),
      });
      expect(src.info.rotation).toBe(k === 'rotated' ? 270 : 0);
      // The last frame stays on screen until the end: one frame duration after it.
      expect(src.info.duration).toBeGreaterThan(times.at(-1)!);
      expect(src.info.duration).toBeLessThan(times.at(-1)! + 0.15);
      expect(times.length).toBe(facts.frames);
      await src.close();
    }
  });

  it.each(NUMBERED)(
    'returns exactly the frame on screen at every frame boundary of %s',
    async (k) => {
      const src = await openVideo(fx[k]);
      await expectExact(src, fx[k], boundaryTimes);
      await src.close();
    },
  );

  it('lands on the frame that starts exactly at a sample time, whatever the float error of from + k/fps', async () => {
    // 25 fps sampled at 5, 12.5 and 25 fps from 0.4 s: every sample time is a frame start
    // (frame 10 + k·25/fps). Integer arithmetic gives the expected frames.
    const src = await openVideo(fx.vp9);
    try {
      for (const fps of [5, 12.5, 25]) {
        const n = Math.ceil((3.6 - 0.4) * fps);
        const times = Array.from({ length: n }, (_, k) => 0.4 + k / fps);
        const got: number[] = [];
        for await (const f of src.framesAt(times))
          got.push(readFrameNumber(f.data, f.width, f.height));
        expect(got).toEqual(Array.from({ length: n }, (_, k) => 10 + (k * 25) / fps));
      }
    } finally {
      await src.close();
    }
  });

  it('seeks frame-exactly for single grabs anywhere, including the last frame', async () => {
    for (const k of NUMBERED) {
      const src = await openVideo(fx[k]);
      const times = probeFrameTimes(fx[k]);
      const d = src.info.duration;
      const picks = [
        0,
        times[1]!,
        times[1]! - 1e-9,
        d * 0.37,
        d * 0.5 + 1e-4,
        times[times.length - 2]!,
        times.at(-1)!,
        d - 1e-6,
      ];
      for (const t of picks) {
        const f = await src.frameAt(t);
        expect({ k, t, n: readFrameNumber(f.data, f.width, f.height) }).toEqual({
          k,
          t,
          n: frameIndexAt(times, t),
        });
      }
      await src.close();
    }
  });

  it('crops then scales inside ffmpeg', async () => {
    const src = await openVideo(fx.h264);
    const times = probeFrameTimes(fx.h264);
    const f = await src.frameAt(2, { crop: { x: 0, y: 60, width: 320, height: 120 }, width: 160 });
    expect([f.width, f.height, f.data.length]).toEqual([160, 60, 160 * 60 * 4]);
    expect(readFrameNumber(f.data, f.width, f.height)).toBe(frameIndexAt(times, 2));
    const g = await src.frameAt(1, { width: 97, height: 41 });
    expect([g.width, g.height]).toEqual([97, 41]);
    expect(readFrameNumber(g.data, g.width, g.height)).toBe(frameIndexAt(times, 1));
    // A crop of one bright stripe: frame 2048 is not in the clip, so stripe 0 is black, and
    // the right-most stripe alternates; check pixels straight from the cropped frame.
    const c = await src.frameAt(times[3]!, { crop: { x: 300, y: 10, width: 15, height: 20 } });
    expect([c.width, c.height]).toEqual([15, 20]);
    expect(c.data[0]).toBeGreaterThan(200); // frame 3: lowest bit set, top half white
    const outside = src.frameAt(1, { crop: { x: 300, y: 0, width: 40, height: 10 } });
    await expect(outside).rejects.toBeInstanceOf(InvalidSettingError);
    await expect(outside).rejects.toMatchObject({
      field: 'crop',
      message: 'crop 300,0,40,10 (x,y,width,height) must lie inside the 320x240 frame',
    });
    await src.close();
  });

  it('keeps greys grey when it scales', expectNeutralGreys);

  it('refuses times outside the video, naming the duration', async () => {
    const src = await openVideo(fx.vp9);
    await expect(src.frameAt(4)).rejects.toThrow(TimeOutOfRangeError);
    await expect(src.frameAt(4)).rejects.toThrow(
      /past the end of vp9-25\.webm \(duration 0:04; the last frame is at 0:03\.96\)/,
    );
    await expect(src.frameAt(-0.5)).rejects.toThrow(/before the start of the video \(0 to 0:04\)/);
    await expect(src.frameAt(Number.NaN)).rejects.toThrow(/must be a number/);
    await src.close();
  });

  it('says clearly what is wrong with files that are not usable videos', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['/nonexistent/clip.mp4', 'ERR_NOT_FOUND', /^no such file: \/nonexistent\/clip\.mp4$/],
      [fx.text, 'ERR_NOT_VIDEO', /^not-a-video\.mp4 is not a video ffmpeg can read \(.+\)$/],
      [fx.empty, 'ERR_EMPTY', /^empty\.mp4 is empty \(0 bytes\), not a video$/],
      [fx.truncated, 'ERR_TRUNCATED', /^truncated\.mp4 is truncated or incomplete/],
      [new URL('.', import.meta.url).pathname, 'ERR_NOT_VIDEO', /is a directory/],
    ];
    for (const [path, code, re] of cases) {
      const err = await openVideo(path).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, path).toBeInstanceOf(SourceError);
      expect((err as SourceError).code, path).toBe(code);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
    // The garbled clip has a valid index but its pictures are noise: refused when opened,
    // or (by a build of ffmpeg that lets the packets through) when decoded.
    const err = await openVideo(fx.garbled)
      .then((src) => src.frameAt(0.5).finally(() => src.close()))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('ERR_UNDECODABLE');
    expect((err as Error).message).toMatch(
      /^cannot decode the h264 video in garbled\.mp4 \(undecodable or encrypted stream/,
    );
  });

  it('stops decoding when cancelled', async () => {
    const src = await openVideo(fx.noise);
    const ctl = new AbortController();
    const times = Array.from({ length: 70 }, (_, i) => i / 25);
    let got = 0;
    const err = await (async () => {
      for await (const _f of src.framesAt(times, undefined, ctl.signal)) {
        if (++got === 3) ctl.abort();
      }
    })().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(got).toBe(3);
    const ctl2 = new AbortController();
    ctl2.abort();
    await expect(src.frameAt(1, undefined, ctl2.signal)).rejects.toBeInstanceOf(CancelledError);
    await expect(openVideo(fx.h264, { signal: ctl2.signal })).rejects.toBeInstanceOf(
      CancelledError,
    );
    await src.close();
  });

  describe('with the bundled ffmpeg 4.1', () => {
    const saved = process.env.CLIPCHAT_FFMPEG;
    beforeAll(() => {
      process.env.CLIPCHAT_FFMPEG = (
        createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }
      ).path;
      resetFfmpegPath();
    });
    afterAll(() => {
      if (saved === undefined) delete process.env.CLIPCHAT_FFMPEG;
      else process.env.CLIPCHAT_FFMPEG = saved;
      resetFfmpegPath();
    });
    it('is just as exact', async () => {
      for (const k of NUMBERED) {
        const src = await openVideo(fx[k]);
        expect(src.info.rotation).toBe(k === 'rotated' ? 270 : 0);
        await expectExact(src, fx[k], (times, d) =>
          boundaryTimes(times, d).filter((_, i) => i % 5 === 0),
        );
        const times = probeFrameTimes(fx[k]);
        const f = await src.frameAt(times.at(-1)!);
        expect(readFrameNumber(f.data, f.width, f.height)).toBe(times.length - 1);
        await src.close();
      }
    });
    it('keeps greys grey when it scales', expectNeutralGreys);
  });
});
