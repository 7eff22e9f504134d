/**
 * The sticker pipeline end to end over the ffmpeg frame source: the right frames (read
 * back from numbered clips), delays adding up to the range, size rules, budget, errors
 * that name the values, cancellation. Output is decoded by ffmpeg/ffprobe and sharp.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSticker, sampleDelaysMs, sampleTimes } from '../src/clip';
import { scoreGif } from '../src/gif/score';
import { DEFAULT_SETTINGS, type CaptureSettings } from '../src/config';
import { CancelledError, CaptureError } from '../src/errors';
import { openVideo } from '../src/source/ffmpeg.node.ts';
import type { FrameSource } from '../src/types';
import { SharpWebpWriter } from '../src/webp/sharp.node.ts';
import { FfmpegWebmWriter } from '../src/webm/ffmpeg.node.ts';
import {
  BIG_BUCK_BUNNY,
  ensureFixtures,
  type FixtureName,
  frameIndexAt,
  NO_FOOTAGE,
  probeFrameTimes,
  readFrameNumber,
} from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'clipchat-clip-test-'));
let files = {} as Record<FixtureName, string>;
const open: FrameSource[] = [];
beforeAll(async () => {
  files = await ensureFixtures();
});
afterAll(async () => {
  for (const s of open) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function source(path: string): Promise<FrameSource> {
  const s = await openVideo(path);
  open.push(s);
  return s;
}

function settings(over: Partial<CaptureSettings> = {}): CaptureSettings {
  return { ...DEFAULT_SETTINGS, ...over };
}

function save(bytes: Uint8Array): string {
  const f = join(dir, `s${Math.random().toString(36).slice(2)}.gif`);
  writeFileSync(f, bytes);
  return f;
}

describe('sampleTimes', () => {
  it('samples from + k/fps over [from, to) without drift', () => {
    expect(sampleTimes(0, 1, 12)).toHaveLength(12);
    const t = sampleTimes(20, 23, 12);
    expect(t).toHaveLength(36);
    expect(t[35]).toBeCloseTo(20 + 35 / 12, 12);
    expect(sampleTimes(0, 0.95, 10)).toHaveLength(10); // ceil(9.5)
    expect(sampleTimes(1, 1.001, 12)).toEqual([1]);
    const d = sampleDelaysMs(0, 0.95, 10);
    expect(d.reduce((a, b) => a + b, 0)).toBeCloseTo(950, 9);
    expect(d[9]).toBeCloseTo(50, 9);
  });
});

describe('makeSticker', () => {
  it('holds exactly the frames on screen at from + k/fps, with delays adding up to the range', async () => {
    const src = await source(files.h264);
    const [from, to, fps] = [1.2, 3.2, 12];
    const st = await makeSticker(src, {
      from,
      to,
      settings: settings({ fps, maxStickerBytes: 1 << 20 }),
    });
    expect(st).toMatchObject({
      format: 'gif',
      mime: 'image/gif',
      width: 320,
      height: 240,
      fps: 12,
      durationMs: 2000,
      frames: 24,
    });
    expect(st.bytes.length).toBeLessThanOrEqual(1 << 20);
    expect(st.delaysCs!.reduce((a, b) => a + b, 0)).toBe(200);
    // Which frames: decode with ffmpeg and read the drawn numbers.
    const times = probeFrameTimes(files.h264);
    const raw = execFileSync(
      'ffmpeg',
      [
        '-v',
        'error',
        '-i',
        save(st.bytes),
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
    const size = 320 * 240 * 4;
    expect(raw.length / size).toBe(24);
    const got: number[] = [];
    for (let k = 0; k < 24; k++)
      got.push(readFrameNumber(raw.subarray(k * size, (k + 1) * size), 320, 240));
    expect(got).toEqual(sampleTimes(from, to, fps).map((t) => frameIndexAt(times, t)));
    const meta = await sharp(Buffer.from(st.bytes), { animated: true }).metadata();
    expect(meta).toMatchObject({ format: 'gif', pages: 24, loop: 0 });
    // The delays the writer reported are the ones libvips reads from the file.
    expect(meta.delay).toEqual(st.delaysCs!.map((cs) => cs * 10));
    expect(st.timings.totalMs).toBeGreaterThanOrEqual(st.timings.encodeMs);
  });

  it('crops, honours a smaller width and keeps the longest side within maxSide', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const src = await source(BIG_BUCK_BUNNY);
    const a = await makeSticker(src, { from: 20, to: 21, settings: settings({ maxSide: 200 }) });
    expect([a.width, a.height]).toEqual([200, 112]);
    const b = await makeSticker(src, {
      from: 20,
      to: 21,
      settings: settings({ maxSide: 480 }),
      width: 120,
      crop: { x: 100, y: 40, width: 400, height: 400 },
    });
    expect([b.width, b.height]).toEqual([120, 120]);
    const meta = await sharp(Buffer.from(b.bytes), { animated: true }).metadata();
    expect([meta.width, meta.pageHeight]).toEqual([120, 120]);
  });

  it('fits Big Buck Bunny 20–23 s, 12 fps, 320 px into 256 KiB and 64 KiB, saying what it changed', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const src = await source(BIG_BUCK_BUNNY);
    for (const budget of [256 * 1024, 64 * 1024]) {
      const seen: Array<{ stage: string; fraction: number }> = [];
      const st = await makeSticker(src, {
        from: 20,
        to: 23,
        width: 320,
        settings: settings({ maxStickerBytes: budget, stickerQuality: 90 }),
        onProgress: (p) => {
          seen.push({ stage: p.stage, fraction: p.fraction });
        },
      });
      expect(st.bytes.length).toBeLessThanOrEqual(budget);
      // One bar for the job: decoding and fitting (which overlap) only ever move it forward, to the end.
      expect(seen.some((p) => p.stage === 'decode')).toBe(true);
      expect(seen.some((p) => p.stage === 'fit')).toBe(true);
      for (let i = 1; i < seen.length; i++)
        expect(seen[i]!.fraction).toBeGreaterThanOrEqual(seen[i - 1]!.fraction);
      expect(seen.at(-1)!.fraction).toBe(1);
      expect(st.delaysCs!.reduce((x, y) => x + y, 0)).toBe(300);
      expect(st.adapted.quality?.from).toBe(90);
      if (st.width !== 320) expect(st.adapted.width).toEqual({ from: 320, to: st.width });
    }
  }, 120_000);

  it('shrinks Big Buck Bunny 8–12 s, 15 fps, 480 px into 1 MiB in a few tries, filling the budget, and the GIF shows the source', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const src = await source(BIG_BUCK_BUNNY);
    const budget = 1024 * 1024;
    const tries = new Set<string>();
    const st = await makeSticker(src, {
      from: 8,
      to: 12,
      width: 480,
      settings: settings({ maxStickerBytes: budget, fps: 15, maxSide: 480 }),
      onProgress: (p) => {
        const m = /^try (\d+):/.exec(p.message ?? '');
        if (m) tries.add(m[1]!);
      },
    });
    expect(st.bytes.length).toBeLessThanOrEqual(budget);
    // Straight to a smaller frame (9 tries when the lowest qualities were explored at full size first).
    expect(st.width).toBeLessThan(480);
    expect(st.adapted.width).toEqual({ from: 480, to: st.width });
    expect(tries.size).toBeLessThanOrEqual(4);
    expect(st.bytes.length).toBeGreaterThanOrEqual(0.95 * budget);
    // Decoded and compared with the source frames at the asked size.
    const times = sampleTimes(8, 12, 15);
    const ref = [];
    for await (const f of src.framesAt(times, { width: 480, height: 270 })) ref.push(f);
    expect(scoreGif(st.bytes, ref, sampleDelaysMs(8, 12, 15))).toBeGreaterThan(0.9);
  }, 180_000);

  it('fits WebP and WebM writers through the same pipeline and budget', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const src = await source(BIG_BUCK_BUNNY);
    const writers = { webp: new SharpWebpWriter(), webm: new FfmpegWebmWriter() };
    const budget = 48 * 1024;
    const webp = await makeSticker(src, {
      from: 20,
      to: 22,
      settings: settings({ stickerFormat: 'webp', maxSide: 240, maxStickerBytes: budget }),
      writers,
    });
    expect(webp).toMatchObject({ format: 'webp', mime: 'image/webp' });
    expect(webp.bytes.length).toBeLessThanOrEqual(budget);
    const meta = await sharp(Buffer.from(webp.bytes), { animated: true }).metadata();
    expect(meta).toMatchObject({ format: 'webp', pages: 24 });
    const webm = await makeSticker(src, {
      from: 20,
      to: 22,
      settings: settings({ stickerFormat: 'webm', maxSide: 240, maxStickerBytes: budget }),
      writers,
    });
    expect(webm.bytes.length).toBeLessThanOrEqual(budget);
    const f = save(webm.bytes).replace(/\.gif$/, '.webm');
    writeFileSync(f, webm.bytes);
    const probe = execFileSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-select_streams',
        'v',
        '-show_entries',
        'stream=codec_name,width',
        '-of',
        'csv=p=0',
        f,
      ],
      { encoding: 'utf8' },
    ).trim();
    expect(probe).toBe(`vp9,${webm.width}`);
  }, 120_000);

  it('refuses bad requests with errors naming the values', async () => {
    const src = await source(files.h264);
    const dur = src.info.duration;
    const fail = async (req: Parameters<typeof makeSticker>[1], code: string, text: RegExp) => {
      const e = await makeSticker(src, req).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(CaptureError);
      expect((e as CaptureError).code).toBe(code);
      expect((e as Error).message).toMatch(text);
    };
    await fail(
      { from: 2, to: 2, settings: settings() },
      'ERR_INVALID_TIME',
      /to \(2 s\) must be after from \(2 s\)/,
    );
    await fail(
      { from: 0, to: 3.5, settings: settings({ maxClipSeconds: 3 }) },
      'ERR_TIME_OUT_OF_RANGE',
      /3\.5 s long.*at most 3 s/,
    );
    await fail(
      { from: dur - 1, to: dur + 1, settings: settings() },
      'ERR_TIME_OUT_OF_RANGE',
      new RegExp(`past the end.*${dur.toFixed(3)}`),
    );
    await fail(
      { from: 0, to: 1, settings: settings({ fps: 60 }) },
      'ERR_INVALID_SETTING',
      /fps must be 1–50 for GIF, got 60/,
    );
    await fail(
      { from: 0, to: 1, settings: settings(), crop: { x: 300, y: 0, width: 100, height: 100 } },
      'ERR_INVALID_SETTING',
      /crop 300,0,100,100 .*320×240/,
    );
    await fail(
      { from: 0, to: 1, settings: settings({ stickerFormat: 'webp' }) },
      'ERR_INVALID_SETTING',
      /no webp sticker writer/,
    );
  });

  it('stops when cancelled', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const src = await source(BIG_BUCK_BUNNY);
    const ac = new AbortController();
    const p = makeSticker(src, {
      from: 20,
      to: 23,
      settings: settings({ maxStickerBytes: 16 * 1024 }),
      signal: ac.signal,
      onProgress: (pr) => {
        if (pr.stage === 'fit') ac.abort();
      },
    });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
  });
});
