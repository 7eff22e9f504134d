/**
 * Animated WebP stickers: the sharp writer, its budget fitting, and the pure-TS muxer.
 * Output is decoded by libwebp through sharp and by Chromium's ImageDecoder (ffmpeg up to
 * 7.0 cannot decode animated WebP, so it is not used here).
 */
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { BudgetError } from '../src/errors';
import type { RgbaImage } from '../src/types';
import { OverBudgetError, type StickerWriter } from '../src/writer';
import { fitSticker, type FitFrames, type FitShape } from '../src/fit';
import { MuxedWebpWriter, muxAnimatedWebp, parseWebpStill } from '../src/webp/mux';
import { SharpWebpWriter, roundDelays } from '../src/webp/sharp.node.ts';
import { BIG_BUCK_BUNNY, NO_FOOTAGE, readFrameNumber } from './helpers';

/** Frames of a stretch of video as ffmpeg decodes them (fps filter, lanczos), RGBA. */
function videoFrames(
  path: string,
  from: number,
  seconds: number,
  fps: number,
  width: number,
  height: number,
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
      path,
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
  for (let o = 0; o + size <= raw.length; o += size)
    out.push({ width, height, data: new Uint8ClampedArray(raw.buffer, raw.byteOffset + o, size) });
  return out;
}

/** Budget fitting as the sticker pipeline does it: frames decoded again at each shape. */
function fitFilm(
  writer: StickerWriter,
  from: number,
  seconds: number,
  shape: FitShape,
  maxBytes: number,
) {
  return fitSticker({
    writer,
    maxBytes,
    quality: 80,
    shape,
    frames: async (s): Promise<FitFrames> => {
      const frames = videoFrames(BIG_BUCK_BUNNY, from, seconds, s.fps, s.width, s.height);
      return { frames, delaysMs: frames.map(() => 1000 / s.fps) };
    },
  });
}

/** Numbered frames (the fixture script's stripes), optionally with a transparent border. */
function numberedFrames(n: number, width: number, height: number, alpha = false): RgbaImage[] {
  return Array.from({ length: n }, (_, k) => {
    const data = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = Math.floor(k / 2 ** (11 - Math.floor((x * 12) / width))) % 2;
        const v = (y < height / 2 ? bit : 1 - bit) * 255;
        const i = (y * width + x) * 4;
        data[i] = data[i + 1] = data[i + 2] = v;
        data[i + 3] = alpha && (y < 2 || y >= height - 2) ? 0 : 255;
      }
    }
    return { width, height, data };
  });
}

/** Decodes an animated WebP with libwebp (sharp): frames, delays, loop. */
async function decodeWithSharp(
  bytes: Uint8Array,
): Promise<{ frames: RgbaImage[]; delay: number[]; loop: number }> {
  const img = sharp(bytes, { pages: -1 });
  const meta = await img.metadata();
  const { data, info } = await img.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const h = meta.pageHeight!;
  const size = info.width * h * 4;
  const frames: RgbaImage[] = [];
  for (let o = 0; o < data.length; o += size)
    frames.push({
      width: info.width,
      height: h,
      data: new Uint8ClampedArray(data.buffer, data.byteOffset + o, size),
    });
  return { frames, delay: meta.delay ?? [], loop: meta.loop ?? -1 };
}

/** Mean absolute difference per channel (RGB) between two images of one size. */
function meanDiff(a: RgbaImage, b: RgbaImage): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i += 4)
    s +=
      Math.abs(a.data[i]! - b.data[i]!) +
      Math.abs(a.data[i + 1]! - b.data[i + 1]!) +
      Math.abs(a.data[i + 2]! - b.data[i + 2]!);
  return s / ((a.data.length / 4) * 3);
}

const stillWebp = async (f: RgbaImage, quality: number, lossless = false) =>
  new Uint8Array(
    await sharp(f.data, { raw: { width: f.width, height: f.height, channels: 4 } })
      .webp({ quality, lossless })
      .toBuffer(),
  );

describe('animated WebP through sharp', () => {
  const W = 320,
    H = 180,
    FPS = 12;
  const film = NO_FOOTAGE ? [] : videoFrames(BIG_BUCK_BUNNY, 20, 3, FPS, W, H);

  it('writes every frame, in order, with delays adding up to the range and an endless loop', async () => {
    const frames = numberedFrames(30, 192, 108);
    const d = frames.map(() => 1000 / 12);
    const bytes = await new SharpWebpWriter().encode(frames, d, { quality: 80 });
    const out = await decodeWithSharp(bytes);
    expect(out.loop).toBe(0);
    expect(out.frames.map((f) => readFrameNumber(f.data, f.width, f.height))).toEqual(
      frames.map((_, k) => k),
    );
    expect(out.delay.reduce((a, b) => a + b, 0)).toBe(2500);
    expect(out.delay).toEqual(roundDelays(d));
    expect(Math.max(...out.delay) - Math.min(...out.delay)).toBeLessThanOrEqual(1);
    // Two colours: the writer chose lossless frames, so every pixel comes back exactly.
    expect(
      out.frames.every((f, k) => Buffer.from(f.data).equals(Buffer.from(frames[k]!.data))),
    ).toBe(true);
  });

  it('fits every budget and reports what it changed; looks like the source', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    expect(film.length).toBe(36);
    const shape = { width: W, height: H, fps: FPS };
    for (const maxBytes of [1024 * 1024, 128 * 1024, 48 * 1024, 16 * 1024]) {
      const r = await fitFilm(new SharpWebpWriter(), 20, 3, shape, maxBytes);
      expect(r.bytes.length).toBeLessThanOrEqual(maxBytes);
      const out = await decodeWithSharp(r.bytes);
      expect(out.frames.length).toBe(r.frames.frames.length);
      expect(out.delay.reduce((a, b) => a + b, 0)).toBe(3000);
      expect(out.frames[0]!.width).toBe(r.shape.width);
      if (maxBytes === 1024 * 1024) expect(r.adapted).toEqual({});
      if (r.quality < 80) expect(r.adapted.quality).toEqual({ from: 80, to: r.quality });
      if (r.shape.width === W) {
        const diff =
          out.frames.reduce((s, f, i) => s + meanDiff(f, film[i]!), 0) / out.frames.length;
        expect(diff).toBeLessThan(maxBytes >= 128 * 1024 ? 6 : 12);
      } else {
        expect(r.adapted.width).toEqual({ from: W, to: r.shape.width });
        expect(r.adapted.height).toEqual({ from: H, to: r.shape.height });
      }
    }
    await expect(fitFilm(new SharpWebpWriter(), 20, 3, shape, 600)).rejects.toBeInstanceOf(
      BudgetError,
    );
  });
});

describe('animated WebP muxer', () => {
  it('muxes lossy, lossless and alpha frames from a still encoder into a file libwebp and Chromium play', async () => {
    const frames = numberedFrames(12, 96, 64, true);
    const stills = await Promise.all(frames.map((f, k) => stillWebp(f, 90, k % 3 === 0)));
    expect(parseWebpStill(stills[0]!)).toMatchObject({ width: 96, height: 64, hasAlpha: true });
    const bytes = muxAnimatedWebp(
      stills.map((webp, k) => ({ webp, delayMs: 40 + k })),
      { loop: 0 },
    );
    expect(bytes.length % 2).toBe(0);

    // libwebp's demuxer and decoder, through sharp.
    const out = await decodeWithSharp(bytes);
    expect(out.delay).toEqual(frames.map((_, k) => 40 + k));
    expect(out.loop).toBe(0);
    for (let k = 0; k < frames.length; k++) {
      const still = await sharp(stills[k]).ensureAlpha().raw().toBuffer();
      expect(Buffer.from(out.frames[k]!.data).equals(still)).toBe(true); // muxing re-encodes nothing
      expect(out.frames[k]!.data[3]).toBe(0); // transparent border survives
    }

    // Chromium's ImageDecoder (a secure context is needed: serve a page on localhost).
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox'],
    });
    try {
      const page = await browser.newPage();
      await page.route('http://localhost/**', (r) =>
        r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>mux</title>' }),
      );
      await page.goto('http://localhost/');
      const decoded = await page.evaluate(async (b64: string) => {
        // Browser globals, typed loosely: this project's tests compile without DOM typings.
        type Img = {
          displayWidth: number;
          displayHeight: number;
          duration: number | null;
          close(): void;
        };
        type Ctx = {
          drawImage(i: Img, x: number, y: number): void;
          getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
        };
        const web = globalThis as unknown as {
          ImageDecoder: new (init: { data: Uint8Array; type: string }) => {
            tracks: { ready: Promise<void>; selectedTrack: { frameCount: number } | null };
            decode(o: { frameIndex: number }): Promise<{ image: Img }>;
          };
          OffscreenCanvas: new (
            w: number,
            h: number,
          ) => { width: number; height: number; getContext(t: '2d'): Ctx | null };
        };
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dec = new web.ImageDecoder({ data, type: 'image/webp' });
        await dec.tracks.ready;
        const n = dec.tracks.selectedTrack!.frameCount;
        const res: { w: number; h: number; ms: number; px: number[] }[] = [];
        for (let i = 0; i < n; i++) {
          const { image } = await dec.decode({ frameIndex: i });
          const c = new web.OffscreenCanvas(image.displayWidth, image.displayHeight);
          const g = c.getContext('2d')!;
          g.drawImage(image, 0, 0);
          res.push({
            w: image.displayWidth,
            h: image.displayHeight,
            ms: (image.duration ?? 0) / 1000,
            px: Array.from(g.getImageData(0, 0, c.width, c.height).data),
          });
          image.close();
        }
        return res;
      }, Buffer.from(bytes).toString('base64'));
      expect(decoded.length).toBe(frames.length);
      expect(decoded.map((d) => d.ms)).toEqual(frames.map((_, k) => 40 + k));
      expect(decoded.map((d) => readFrameNumber(d.px, d.w, d.h))).toEqual(frames.map((_, k) => k));
    } finally {
      await browser.close();
    }
  });

  it('makes budget-fitted stickers over a still encoder, stopping a try once it is over budget', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const muxed = new MuxedWebpWriter((f, q) => stillWebp(f, q));
    let stopped = 0;
    const writer: StickerWriter = {
      format: muxed.format,
      mime: muxed.mime,
      encode: (frames, delays, options) =>
        muxed.encode(frames, delays, options).catch((e: unknown) => {
          if (e instanceof OverBudgetError) stopped++;
          throw e;
        }),
    };
    const r = await fitFilm(writer, 8, 1, { width: 240, height: 136, fps: 12 }, 40 * 1024);
    expect(r.bytes.length).toBeLessThanOrEqual(40 * 1024);
    const out = await decodeWithSharp(r.bytes);
    expect(out.frames.length).toBe(12);
    expect(stopped).toBeGreaterThan(0);
  });
});
