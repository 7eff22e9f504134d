import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bmpEncoder,
  encodeBmp,
  encodePng,
  gifStillEncoder,
  sharpStillEncoders,
  type RgbaImage,
  type StillEncoder,
} from '../src/node';

const dir = mkdtempSync(join(tmpdir(), 'clipchat-still-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A photo-like test card: smooth gradients, a hard edge, and optionally a soft alpha ramp. */
function card(width: number, height: number, alpha: boolean): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = (x * 255) / (width - 1);
      data[i + 1] = (y * 255) / (height - 1);
      data[i + 2] = x < width / 2 ? 40 : 200;
      data[i + 3] = alpha ? Math.round((x * 255) / (width - 1)) : 255;
    }
  }
  return { width, height, data };
}

async function sharpRgba(
  bytes: Uint8Array,
): Promise<{ data: Buffer; width: number; height: number; format?: string }> {
  const meta = await sharp(bytes).metadata();
  const { data, info } = await sharp(bytes)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, format: meta.format };
}

/** Decodes any still with ffmpeg (a decoder nobody here wrote), as RGBA. */
function ffmpegRgba(bytes: Uint8Array, ext: string): Buffer {
  const p = join(dir, `in.${ext}`);
  writeFileSync(p, bytes);
  return execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', p, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'],
    { maxBuffer: 1 << 28 },
  );
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, channels = 3): number {
  let sum = 0,
    n = 0;
  for (let i = 0; i < a.length; i += 4)
    for (let c = 0; c < channels; c++) {
      sum += Math.abs(a[i + c]! - b[i + c]!);
      n++;
    }
  return sum / n;
}

describe('still encoders', () => {
  it('writes lossless PNG, RGB when opaque and RGBA otherwise, read back exactly by sharp and ffmpeg', async () => {
    for (const alpha of [false, true]) {
      const img = card(97, 61, alpha); // odd sizes exercise row filters and padding
      const png = encodePng(img);
      const back = await sharpRgba(png);
      expect(back.format).toBe('png');
      expect([back.width, back.height]).toEqual([97, 61]);
      expect(Buffer.compare(back.data, Buffer.from(img.data.buffer))).toBe(0);
      expect(Buffer.compare(ffmpegRgba(png, 'png'), Buffer.from(img.data.buffer))).toBe(0);
      const meta = await sharp(png).metadata();
      expect(meta.channels).toBe(alpha ? 4 : 3);
    }
  });

  it('writes BMP that ffmpeg reads back exactly, alpha included', () => {
    for (const alpha of [false, true]) {
      const img = card(33, 17, alpha);
      const bmp = encodeBmp(img);
      expect(String.fromCharCode(bmp[0]!, bmp[1]!)).toBe('BM');
      expect(new DataView(bmp.buffer).getUint32(2, true)).toBe(bmp.length);
      const back = ffmpegRgba(bmp, 'bmp');
      if (alpha) expect(Buffer.compare(back, Buffer.from(img.data.buffer))).toBe(0);
      else expect(meanAbsDiff(back, img.data, 4)).toBe(0);
    }
    expect(bmpEncoder.mime).toBe('image/bmp');
  });

  it('converts to GIF, JPEG, WebP, AVIF and TIFF that decode as the right format and look like the capture', async () => {
    const img = card(160, 90, false);
    const encoders: StillEncoder[] = [gifStillEncoder, ...sharpStillEncoders];
    const expected: Record<string, [string, number]> = {
      gif: ['gif', 6],
      jpeg: ['jpeg', 4],
      webp: ['webp', 4],
      avif: ['heif', 5],
      tiff: ['tiff', 0],
    };
    for (const enc of encoders) {
      const bytes = await enc.encode(img, { quality: 90 });
      const back = await sharpRgba(bytes);
      const [fmt, tol] = expected[enc.format]!;
      expect(back.format, enc.format).toBe(fmt);
      expect([back.width, back.height]).toEqual([160, 90]);
      const err = meanAbsDiff(back.data, img.data);
      expect(err, `${enc.format} mean abs error`).toBeLessThanOrEqual(tol);
    }
  });

  it('spends fewer bytes at lower quality in lossy formats', async () => {
    const img = card(160, 90, false);
    for (const enc of sharpStillEncoders.filter((e) => e.lossy)) {
      const hi = await enc.encode(img, { quality: 95 });
      const lo = await enc.encode(img, { quality: 20 });
      expect(lo.length, enc.format).toBeLessThan(hi.length);
    }
  });
});
