import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelledError,
  InvalidSettingError,
  STILL_FORMATS,
  TimeOutOfRangeError,
  encodePng,
  grab,
  openVideo,
  validateSettings,
  type FrameSource,
  type StillFormat,
} from '../src/node';
import {
  BIG_BUCK_BUNNY,
  ensureFixtures,
  frameIndexAt,
  NO_FOOTAGE,
  probeFrameTimes,
  readFrameNumber,
  type FixtureName,
} from './helpers';

let fx: Record<FixtureName, string>;
let src: FrameSource;
let times: number[];
const dir = mkdtempSync(join(tmpdir(), 'clipchat-grab-'));
beforeAll(async () => {
  fx = await ensureFixtures();
  src = await openVideo(fx.h264);
  times = probeFrameTimes(fx.h264);
});
afterAll(async () => {
  await src.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Decodes a still with ffmpeg (BMP) or sharp (the rest): format name and RGBA pixels. */
async function decode(
  bytes: Uint8Array,
  format: StillFormat,
): Promise<{ format: string; width: number; height: number; data: Uint8Array }> {
  if (format === 'bmp') {
    const p = join(dir, 'still.bmp');
    writeFileSync(p, bytes);
    const probe = execFileSync(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', p],
      { encoding: 'utf8' },
    )
      .trim()
      .split(',');
    const data = execFileSync(
      'ffmpeg',
      ['-v', 'error', '-i', p, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'],
      { maxBuffer: 1 << 28 },
    );
    return { format: probe[0]!, width: Number(probe[1]), height: Number(probe[2]), data };
  }
  const meta = await sharp(bytes).metadata();
  const { data, info } = await sharp(bytes)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { format: meta.format, width: info.width, height: info.height, data };
}

const SHARP_NAME: Record<StillFormat, string> = {
  png: 'png',
  jpeg: 'jpeg',
  webp: 'webp',
  avif: 'heif',
  gif: 'gif',
  bmp: 'bmp',
  tiff: 'tiff',
};

describe('grab', () => {
  it('writes every still format as the right format holding the right frame', async () => {
    const at = [0, times[37]!, times[37]! - 1e-9, 3.5];
    for (const format of STILL_FORMATS) {
      const settings = validateSettings({ stillFormat: format, stillQuality: 85 });
      for (const t of at) {
        const still = await grab(src, { at: t, settings });
        const img = await decode(still.bytes, format);
        const want = frameIndexAt(times, t);
        expect({
          format,
          t,
          got: img.format,
          n: readFrameNumber(img.data, img.width, img.height),
        }).toEqual({ format, t, got: SHARP_NAME[format], n: want });
        expect(still).toMatchObject({
          format,
          width: 320,
          height: 240,
          frameIndex: want,
          passthrough: format === 'png',
        });
        expect(still.time).toBe(times[want]);
        expect(still.mime).toMatch(/^image\//);
        expect(still.timings.totalMs).toBeGreaterThanOrEqual(still.timings.decodeMs);
      }
    }
  });

  it('passes the capture through byte for byte when the format is PNG', async () => {
    const t = times[64]!;
    const still = await grab(src, { at: t });
    const frame = await src.frameAt(t);
    expect(still.passthrough).toBe(true);
    expect(Buffer.compare(Buffer.from(still.bytes), Buffer.from(encodePng(frame)))).toBe(0);
    const back = await sharp(still.bytes).raw().toBuffer();
    // Lossless: every pixel of the decoded frame comes back (RGB, the frame is opaque).
    const rgb = Buffer.alloc(320 * 240 * 3);
    for (let i = 0, j = 0; i < frame.data.length; i += 4, j += 3) {
      rgb[j] = frame.data[i]!;
      rgb[j + 1] = frame.data[i + 1]!;
      rgb[j + 2] = frame.data[i + 2]!;
    }
    expect(Buffer.compare(back, rgb)).toBe(0);
  });

  it('crops and scales, from the settings or per request', async () => {
    const crop = { x: 0, y: 60, width: 320, height: 120 };
    const a = await grab(src, { at: 2, settings: validateSettings({ crop }), width: 200 });
    expect([a.width, a.height]).toEqual([200, 75]);
    let img = await decode(a.bytes, 'png');
    expect(readFrameNumber(img.data, img.width, img.height)).toBe(frameIndexAt(times, 2));
    const b = await grab(src, {
      at: 2,
      settings: validateSettings({ crop, stillFormat: 'webp' }),
      crop: null,
      width: 64,
    });
    expect([b.width, b.height]).toEqual([64, 48]);
    img = await decode(b.bytes, 'webp');
    expect(readFrameNumber(img.data, img.width, img.height)).toBe(frameIndexAt(times, 2));
    await expect(
      grab(src, { at: 1, crop: { x: 10, y: 10, width: 320, height: 10 } }),
    ).rejects.toBeInstanceOf(InvalidSettingError);
    await expect(grab(src, { at: 1, width: 0 })).rejects.toThrow(
      'width must be a whole number of pixels 1–8192, got 0',
    );
    await expect(grab(src, { at: 1, width: 12.5 })).rejects.toThrow(InvalidSettingError);
  });

  it('reports progress, can be cancelled, and refuses times past the end', async () => {
    const stages: string[] = [];
    await grab(src, {
      at: 1,
      onProgress: (p) => {
        stages.push(p.stage);
      },
    });
    expect(stages).toEqual(['decode', 'encode', 'done']);
    await expect(
      grab(src, { at: 1, onProgress: (p) => p.stage !== 'encode' }),
    ).rejects.toBeInstanceOf(CancelledError);
    await expect(grab(src, { at: 1, signal: { aborted: true } })).rejects.toBeInstanceOf(
      CancelledError,
    );
    await expect(grab(src, { at: 4.1 })).rejects.toThrow(TimeOutOfRangeError);
    await expect(grab(src, { at: 4.1 })).rejects.toThrow(/duration 0:04\.004/);
    const core = await grab(src, {
      at: 1,
      settings: validateSettings({ stillFormat: 'tiff' }),
      encoders: {
        tiff: {
          format: 'tiff',
          mime: 'image/tiff',
          lossy: false,
          encode: async () => new Uint8Array([1, 2, 3]),
        },
      },
    });
    expect([...core.bytes]).toEqual([1, 2, 3]);
    // AVIF comes from the encoders the Node entry point registers.
    expect(
      (
        await grab(src, {
          at: 1,
          settings: validateSettings({ stillFormat: 'avif' }),
          encoders: {},
        })
      ).format,
    ).toBe('avif');
  });

  it('grabs a real film frame-exactly (Big Buck Bunny), fast enough to feel instant', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const bbb = await openVideo(BIG_BUCK_BUNNY);
    expect(bbb.info).toMatchObject({ codec: 'h264' });
    const t = 12.3;
    const still = await grab(bbb, { at: t, settings: validateSettings({ stillFormat: 'jpeg' }) });
    const bt = probeFrameTimes(BIG_BUCK_BUNNY);
    expect(still.frameIndex).toBe(frameIndexAt(bt, t));
    // Same pixels as ffmpeg's own accurate seek to that frame's time.
    const ref = execFileSync(
      'ffmpeg',
      [
        '-v',
        'error',
        '-i',
        BIG_BUCK_BUNNY,
        '-vf',
        `select=eq(n\\,${still.frameIndex})`,
        '-vsync',
        'passthrough',
        '-frames:v',
        '1',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgba',
        '-',
      ],
      { maxBuffer: 1 << 28 },
    );
    const png = await grab(bbb, { at: t });
    const ours = await sharp(png.bytes).ensureAlpha().raw().toBuffer();
    let diff = 0;
    for (let i = 0; i < ref.length; i++) diff += Math.abs(ref[i]! - ours[i]!);
    expect(diff / ref.length).toBeLessThan(1);
    expect(png.timings.totalMs).toBeLessThan(3000);
    await bbb.close();
  });
});
