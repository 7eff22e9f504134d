/**
 * VP9 WebM stickers: every file is probed and decoded by ffmpeg/ffprobe and compared with
 * the frames it was made from.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BudgetError, CancelledError } from '../src/errors';
import type { RgbaImage } from '../src/types';
import { FfmpegWebmWriter } from '../src/webm/ffmpeg.node.ts';
import { fitSticker, type FitFrames, type FitShape } from '../src/fit';
import type { CancelSignal } from '../src/writer';
import { makeSticker } from '../src/clip';
import { validateSettings } from '../src/config';
import { openVideo } from '../src/node';
import { SharpWebpWriter } from '../src/webp/sharp.node.ts';
import { BIG_BUCK_BUNNY, NO_FOOTAGE, readFrameNumber } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'clipchat-webm-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Frames of a video as ffmpeg decodes them (fps filter, lanczos scale), RGBA. */
function decodeFrames(path: string, args: string[], width: number, height: number): RgbaImage[] {
  const raw = execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      ...args.slice(0, -1),
      '-i',
      path,
      '-vf',
      `${args.at(-1)},scale=${width}:${height}:flags=lanczos`,
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
  for (let o = 0; o + size <= raw.length; o += size)
    out.push({ width, height, data: new Uint8ClampedArray(raw.buffer, raw.byteOffset + o, size) });
  return out;
}

/** Budget fitting as the sticker pipeline does it: frames of 20–23 s decoded again at each shape. */
function fitFilm(shape: FitShape, maxBytes: number, signal?: CancelSignal) {
  return fitSticker({
    writer: new FfmpegWebmWriter(),
    maxBytes,
    quality: 80,
    shape,
    signal,
    frames: async (s): Promise<FitFrames> => {
      const frames = decodeFrames(
        BIG_BUCK_BUNNY,
        ['-ss', '20', '-t', '3', `fps=${s.fps}`],
        s.width,
        s.height,
      );
      return { frames, delaysMs: frames.map(() => 1000 / s.fps) };
    },
  });
}

/** Every frame of a WebM as ffmpeg decodes it, RGBA, in order (no resampling). */
function decodeWebm(bytes: Uint8Array, width: number, height: number): RgbaImage[] {
  const file = join(dir, `d${Math.random().toString(36).slice(2)}.webm`);
  writeFileSync(file, bytes);
  const raw = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'],
    { maxBuffer: 1 << 30 },
  );
  const size = width * height * 4;
  const out: RgbaImage[] = [];
  for (let o = 0; o + size <= raw.length; o += size)
    out.push({ width, height, data: new Uint8ClampedArray(raw.buffer, raw.byteOffset + o, size) });
  return out;
}

/** ffmpeg's SSIM (All, on yuv444p) between two equal-length RGBA sequences. */
function ssim(a: readonly RgbaImage[], b: readonly RgbaImage[]): number {
  const { width, height } = a[0]!;
  const fa = join(dir, 'a.raw');
  const fb = join(dir, 'b.raw');
  writeFileSync(
    fa,
    Buffer.concat(a.map((f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.length))),
  );
  writeFileSync(
    fb,
    Buffer.concat(b.map((f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.length))),
  );
  const raw = ['-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${width}x${height}`, '-r', '12'];
  const err = spawnSync(
    'ffmpeg',
    [
      '-hide_banner',
      ...raw,
      '-i',
      fa,
      ...raw,
      '-i',
      fb,
      '-lavfi',
      '[0]format=yuv444p[a];[1]format=yuv444p[b];[a][b]ssim',
      '-f',
      'null',
      '-',
    ],
    { encoding: 'utf8' },
  ).stderr;
  const m = /All:([\d.]+)/.exec(err);
  if (!m) throw new Error(`no SSIM in ffmpeg output: ${err.slice(-500)}`);
  return Number(m[1]);
}

function probe(bytes: Uint8Array): {
  codec: string;
  format: string;
  frames: number;
  duration: number;
  width: number;
  height: number;
  audio: number;
} {
  const file = join(dir, `p${Math.random().toString(36).slice(2)}.webm`);
  writeFileSync(file, bytes);
  const j = JSON.parse(
    execFileSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-count_frames',
        '-show_entries',
        'stream=codec_type,codec_name,width,height,nb_read_frames:format=format_name,duration',
        '-of',
        'json',
        file,
      ],
      { encoding: 'utf8' },
    ),
  ) as {
    streams: Array<{
      codec_type: string;
      codec_name: string;
      width: number;
      height: number;
      nb_read_frames: string;
    }>;
    format: { format_name: string; duration: string };
  };
  const v = j.streams.find((s) => s.codec_type === 'video')!;
  return {
    codec: v.codec_name,
    format: j.format.format_name,
    frames: Number(v.nb_read_frames),
    duration: Number(j.format.duration),
    width: v.width,
    height: v.height,
    audio: j.streams.filter((s) => s.codec_type === 'audio').length,
  };
}

/** Frames carrying their index as the fixture script's stripes (readFrameNumber reads them). */
function numberedFrames(n: number, width: number, height: number): RgbaImage[] {
  return Array.from({ length: n }, (_, k) => {
    const data = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = Math.floor(k / 2 ** (11 - Math.floor((x * 12) / width))) % 2;
        const v = (y < height / 2 ? bit : 1 - bit) * 255;
        const i = (y * width + x) * 4;
        data[i] = data[i + 1] = data[i + 2] = v;
        data[i + 3] = 255;
      }
    }
    return { width, height, data };
  });
}

describe('WebM (VP9) stickers', () => {
  const W = 320,
    H = 180,
    FPS = 12;
  const film = NO_FOOTAGE
    ? []
    : decodeFrames(BIG_BUCK_BUNNY, ['-ss', '20', '-t', '3', `fps=${FPS}`], W, H);
  const shape = { width: W, height: H, fps: FPS };

  it('fits every budget, stays VP9/WebM with the right frames and duration, and looks like the source', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    expect(film.length).toBe(36);
    let prevSsim = 1;
    for (const maxBytes of [256 * 1024, 64 * 1024, 24 * 1024]) {
      const r = await fitFilm(shape, maxBytes);
      const { width, height } = r.shape;
      expect(r.bytes.length).toBeLessThanOrEqual(maxBytes);
      const p = probe(r.bytes);
      expect(p).toMatchObject({ codec: 'vp9', audio: 0, width, height });
      expect(p.format).toContain('webm');
      expect(p.frames).toBe(r.frames.frames.length);
      expect(p.duration).toBeCloseTo(3, 1);
      const decoded = decodeWebm(r.bytes, width, height);
      expect(decoded.length).toBe(r.frames.frames.length);
      if (width === W) {
        const s = ssim(film, decoded);
        expect(s).toBeGreaterThan(maxBytes >= 64 * 1024 ? 0.9 : 0.8);
        expect(s).toBeLessThanOrEqual(prevSsim + 1e-3); // less budget never looks better
        prevSsim = s;
      }
    }
  });

  it('keeps frame order exactly (numbered frames read back after decoding)', async () => {
    const frames = numberedFrames(24, 192, 108);
    const bytes = await new FfmpegWebmWriter().encode(
      frames,
      frames.map(() => 1000 / 24),
      { quality: 80 },
    );
    const decoded = decodeWebm(bytes, 192, 108);
    expect(decoded.map((f) => readFrameNumber(f.data, f.width, f.height))).toEqual(
      frames.map((_, k) => k),
    );
    expect(probe(bytes).duration).toBeCloseTo(1, 2);
  });

  it('fits a tiny budget, reports a changed shape, and fails with what would fit when nothing does', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const r = await fitFilm(shape, 6000);
    expect(r.bytes.length).toBeLessThanOrEqual(6000);
    expect(probe(r.bytes)).toMatchObject({ codec: 'vp9', width: r.shape.width });
    if (r.shape.width !== W) expect(r.adapted.width).toEqual({ from: W, to: r.shape.width });
    if (r.shape.fps !== FPS) expect(r.adapted.fps).toEqual({ from: FPS, to: r.shape.fps });
    await expect(fitFilm(shape, 400)).rejects.toBeInstanceOf(BudgetError);
  });

  it('plugs into the sticker pipeline (makeSticker) for WebM and WebP, within budget', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const source = await openVideo(BIG_BUCK_BUNNY);
    try {
      for (const stickerFormat of ['webm', 'webp'] as const) {
        const settings = validateSettings({
          stickerFormat,
          maxStickerBytes: 96 * 1024,
          fps: 12,
          maxSide: 320,
        });
        const s = await makeSticker(source, {
          from: 20,
          to: 23,
          settings,
          writers: {
            webm: new FfmpegWebmWriter({ targetBytes: 96 * 1024 }),
            webp: new SharpWebpWriter(),
          },
        });
        expect(s.bytes.length).toBeLessThanOrEqual(96 * 1024);
        expect(s.mime).toBe(stickerFormat === 'webm' ? 'video/webm' : 'image/webp');
        if (stickerFormat === 'webm')
          expect(probe(s.bytes)).toMatchObject({ codec: 'vp9', frames: 36 });
      }
    } finally {
      await source.close();
    }
  });

  it('stops on cancel', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const ac = new AbortController();
    const p = fitFilm(shape, 20_000, ac.signal);
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
  });
});
