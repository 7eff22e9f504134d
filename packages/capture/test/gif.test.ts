/**
 * Clipchat's GIF encoder, checked by decoders nobody here wrote: ffmpeg/ffprobe (pixels,
 * frame count, delays) and sharp (pages, delays, loop).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeGif,
  delaysToCentiseconds,
  encodeGif,
  encodeGifStill,
  readGifInfo,
  scoreGif,
} from '../src/gif/index';
import { Palette } from '../src/gif/color';
import { writeFrameHeader, writeHeader, writeTrailer } from '../src/gif/gif89a';
import { LzwEncoder } from '../src/gif/lzw';
import type { RgbaImage } from '../src/types';
import { CountingSink } from '../src/writer';
import { bbbFrames, ffmpegFrames, shownAtSamples, ssimPsnr } from './gif-helpers';
import { NO_FOOTAGE, rng } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'clipchat-gif-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;

function save(bytes: Uint8Array): string {
  const f = join(dir, `t${seq++}.gif`);
  writeFileSync(f, bytes);
  return f;
}

/** Per-frame durations in centiseconds, as ffprobe reads them. */
function ffprobeDurationsCs(bytes: Uint8Array): number[] {
  const out = execFileSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v',
      '-show_entries',
      'frame=duration_time,pkt_duration_time',
      '-of',
      'json',
      save(bytes),
    ],
    { encoding: 'utf8' },
  );
  const frames = (
    JSON.parse(out) as { frames: Array<{ duration_time?: string; pkt_duration_time?: string }> }
  ).frames;
  return frames.map((f) => Math.round(Number(f.duration_time ?? f.pkt_duration_time) * 100));
}

/** Frames whose pixels are drawn at random from `palette` (R,G,B triples). */
function paletteNoise(
  palette: Uint8Array,
  w: number,
  h: number,
  n: number,
  seed: number,
): RgbaImage[] {
  const r = rng(seed);
  const k = palette.length / 3;
  return Array.from({ length: n }, () => {
    const data = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      const c = Math.floor(r() * k);
      data.set([palette[c * 3], palette[c * 3 + 1], palette[c * 3 + 2], 255], i * 4);
    }
    return { width: w, height: h, data };
  });
}

function randomPalette(k: number, seed: number): Uint8Array {
  const r = rng(seed);
  const p = new Uint8Array(k * 3);
  // Distinct colours: spread indices over the cube, jittered.
  for (let i = 0; i < k; i++) {
    p[i * 3] = (i * 37 + Math.floor(r() * 8)) & 255;
    p[i * 3 + 1] = (i * 101 + 64) & 255;
    p[i * 3 + 2] = (i * 13) & 255;
  }
  return p;
}

describe('GIF encoder', () => {
  it('is lossless when the palette holds every colour: LZW code growth and clear codes decode in ffmpeg', async () => {
    // 2, 3, 16 and 255 colours exercise minimum code sizes 2..8; 160×120 noise at 255
    // colours fills the 4096-entry table many times (clear codes).
    for (const k of [2, 3, 16, 255]) {
      const pal = randomPalette(k, k);
      const frames = paletteNoise(pal, 160, 120, 3, 7 * k);
      const r = await encodeGif(frames, {
        delaysMs: [100, 100, 100],
        paletteRgb: pal,
        dither: 'none',
        lossy: 0,
        diffThreshold: 0,
      });
      const decoded = ffmpegFrames(r.bytes, 160, 120);
      expect(decoded.length, `${k} colours`).toBe(3);
      for (let f = 0; f < 3; f++)
        expect(
          Buffer.compare(Buffer.from(decoded[f]), Buffer.from(frames[f].data)),
          `${k} colours, frame ${f}`,
        ).toBe(0);
    }
  });

  it('writes 12 fps delays as 8,8,9 centiseconds adding up to the range, loops forever (ffprobe and sharp agree)', async () => {
    expect(delaysToCentiseconds(Array(6).fill(1000 / 12))).toEqual([8, 8, 9, 8, 8, 9]);
    expect(delaysToCentiseconds(Array(50).fill(20)).every((d) => d === 2)).toBe(true);
    const frames = paletteNoise(randomPalette(8, 1), 48, 32, 36, 3); // every frame differs
    const r = await encodeGif(frames, { delaysMs: frames.map(() => 1000 / 12), quality: 90 });
    const probe = ffprobeDurationsCs(r.bytes);
    expect(probe.length).toBe(36);
    expect(probe.slice(0, 6)).toEqual([8, 8, 9, 8, 8, 9]);
    expect(probe.reduce((a, b) => a + b, 0)).toBe(300);
    const meta = await sharp(Buffer.from(r.bytes), { animated: true }).metadata();
    expect(meta.format).toBe('gif');
    expect(meta.pages).toBe(36);
    expect(meta.loop).toBe(0);
    expect(meta.delay?.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(readGifInfo(r.bytes)).toMatchObject({ width: 48, height: 32, frames: 36, loop: 0 });
  });

  it('merges identical consecutive frames and adds their delays', async () => {
    const [a, b] = paletteNoise(randomPalette(16, 2), 40, 30, 2, 9);
    const r = await encodeGif([a, a, a, b, b], {
      delaysMs: [100, 100, 100, 100, 100],
      quality: 100,
    });
    expect(r.frames).toBe(2);
    expect(r.delaysCs).toEqual([30, 20]);
    expect(ffprobeDurationsCs(r.bytes)).toEqual([30, 20]);
    const decoded = ffmpegFrames(r.bytes, 40, 30);
    expect(decoded.length).toBe(2);
  });

  it('keeps Big Buck Bunny close to the source (SSIM ≥ 0.975) and decodes in ffmpeg and sharp', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const frames = bbbFrames();
    expect(frames.length).toBe(36);
    const r = await encodeGif(frames, { delaysMs: frames.map(() => 1000 / 12), quality: 80 });
    const decoded = ffmpegFrames(r.bytes, 320, 180);
    expect(decoded.length).toBe(r.frames);
    const shown = shownAtSamples(decoded, r.delaysCs, 36, 12);
    const q = ssimPsnr(
      frames.map((f) => f.data),
      shown,
      320,
      180,
    );
    expect(q.ssim).toBeGreaterThan(0.975);
    expect(q.psnr).toBeGreaterThan(42);
    const meta = await sharp(Buffer.from(r.bytes), { animated: true }).metadata();
    expect(meta.pages).toBe(r.frames);
    expect(meta.width).toBe(320);
    // Our own decoder (used to score fitting candidates) sees exactly what ffmpeg sees,
    // and its block SSIM tracks ffmpeg's within 0.01.
    const mine = decodeGif(r.bytes);
    expect(mine.frames.length).toBe(decoded.length);
    let mismatched = 0;
    mine.frames.forEach((f, i) => {
      for (let p = 0; p < f.data.length; p += 4)
        if (
          f.data[p] !== decoded[i][p] ||
          f.data[p + 1] !== decoded[i][p + 1] ||
          f.data[p + 2] !== decoded[i][p + 2]
        )
          mismatched++;
    });
    expect(mismatched).toBe(0);
    expect(
      Math.abs(
        scoreGif(
          r.bytes,
          frames,
          frames.map(() => 1000 / 12),
        ) - q.ssim,
      ),
    ).toBeLessThan(0.01);
  });

  it('handles edge cases: 1×1 frames, a single solid colour, identical frames only, odd sizes', async () => {
    const solid = (w: number, h: number, r: number, g: number, b: number): RgbaImage => {
      const data = new Uint8ClampedArray(w * h * 4);
      for (let i = 0; i < w * h; i++) data.set([r, g, b, 255], i * 4);
      return { width: w, height: h, data };
    };
    const one = await encodeGif([solid(1, 1, 200, 10, 10), solid(1, 1, 10, 200, 10)], {
      delaysMs: [500, 500],
    });
    expect(ffmpegFrames(one.bytes, 1, 1).map((f) => Array.from(f.subarray(0, 3)))).toEqual([
      [200, 10, 10],
      [10, 200, 10],
    ]);
    const same = await encodeGif(
      [solid(33, 17, 9, 99, 199), solid(33, 17, 9, 99, 199), solid(33, 17, 9, 99, 199)],
      { delaysMs: [100, 100, 100] },
    );
    expect(same.frames).toBe(1);
    expect(ffprobeDurationsCs(same.bytes)).toEqual([30]);
    const f = ffmpegFrames(same.bytes, 33, 17);
    expect(f.length).toBe(1);
    expect(Array.from(f[0].subarray(0, 4))).toEqual([9, 99, 199, 255]);
    const odd = paletteNoise(randomPalette(40, 5), 101, 7, 4, 11);
    const r = await encodeGif(odd, { delaysMs: [40, 40, 40, 40], quality: 60 });
    expect(ffmpegFrames(r.bytes, 101, 7).length).toBe(4);
    // A given palette of 256 colours leaves no index for transparency in an animation: a
    // clear error (it used to write a GIF with a 257-entry table), fine for a still.
    const full = new Uint8Array(256 * 3).map((_, i) => i % 256);
    await expect(encodeGif(odd, { delaysMs: [40, 40, 40, 40], paletteRgb: full })).rejects.toThrow(
      /at most 255 colours/,
    );
    const still = await encodeGif([odd[0]], { delaysMs: [0], paletteRgb: full });
    expect(ffmpegFrames(still.bytes, 101, 7).length).toBe(1);
  });

  it('writes a single-frame GIF for stills that sharp reads back close to the source', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const [frame] = bbbFrames(21, 0.1, 10, 320, 180);
    const bytes = await encodeGifStill(frame, { quality: 90 });
    const img = sharp(Buffer.from(bytes));
    const meta = await img.metadata();
    expect(meta).toMatchObject({ format: 'gif', width: 320, height: 180 });
    expect(meta.pages ?? 1).toBe(1);
    const { data } = await img.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    let err = 0;
    for (let i = 0; i < data.length; i += 4)
      for (let c = 0; c < 3; c++) err += Math.abs(data[i + c] - frame.data[i + c]);
    const mean = err / ((data.length / 4) * 3);
    expect(mean).toBeLessThan(6); // mean absolute error per channel, 8-bit units
  });
});

/**
 * A scrolling rule-110 automaton drawn in `palette` (k = 2 or 4 colours: a cell's state,
 * and with 4 its left neighbour's): every frame moves up a row, like the benchmark's clip.
 */
function automaton(palette: Uint8Array, w: number, h: number, n: number): RgbaImage[] {
  const k = palette.length / 3;
  const rows: Uint8Array[] = [];
  const r0 = rng(110);
  let row = new Uint8Array(w);
  for (let x = 0; x < w; x++) row[x] = r0() < 0.5 ? 1 : 0;
  for (let y = 0; y < h + n + 200; y++) {
    rows.push(row);
    const next = new Uint8Array(w);
    for (let x = 0; x < w; x++) {
      const p = ((row[(x + w - 1) % w] << 2) | (row[x] << 1) | row[(x + 1) % w]) & 7;
      next[x] = (110 >> p) & 1;
    }
    row = next;
  }
  return Array.from({ length: n }, (_, f) => {
    const data = new Uint8ClampedArray(w * h * 4);
    for (let y = 0; y < h; y++) {
      const r = rows[200 + f + y];
      for (let x = 0; x < w; x++) {
        const c = k === 2 ? r[x] : r[x] * 2 + r[(x + w - 1) % w];
        data.set([palette[c * 3], palette[c * 3 + 1], palette[c * 3 + 2], 255], (y * w + x) * 4);
      }
    }
    return { width: w, height: h, data };
  });
}

/** Per image: LZW minimum code size, transparent index (−1: none), local table entries. */
function frameLayout(
  bytes: Uint8Array,
): Array<{ codeSize: number; transparent: number; local: number }> {
  const out: Array<{ codeSize: number; transparent: number; local: number }> = [];
  let p = 13 + (bytes[10] & 0x80 ? 3 << ((bytes[10] & 7) + 1) : 0);
  let transparent = -1;
  const skip = (): void => {
    for (let n = bytes[p++]; n !== 0; n = bytes[p++]) p += n;
  };
  for (;;) {
    const b = bytes[p++];
    if (b === 0x3b) return out;
    if (b === 0x21) {
      const label = bytes[p++];
      if (label === 0xf9) transparent = bytes[p + 1] & 1 ? bytes[p + 4] : -1;
      skip();
    } else {
      const f = bytes[p + 8];
      p += 9;
      const local = f & 0x80 ? 1 << ((f & 7) + 1) : 0;
      p += 3 * local;
      out.push({ codeSize: bytes[p++], transparent, local });
      skip();
      transparent = -1;
    }
  }
}

/** Every frame decoded by ffmpeg and by our decoder equals its source exactly. */
function expectExact(bytes: Uint8Array, frames: RgbaImage[], what: string): void {
  const { width: w, height: h } = frames[0];
  const theirs = ffmpegFrames(bytes, w, h);
  const mine = decodeGif(bytes).frames;
  expect(theirs.length, what).toBe(frames.length);
  expect(mine.length, what).toBe(frames.length);
  for (let f = 0; f < frames.length; f++) {
    expect(
      Buffer.compare(
        Buffer.from(theirs[f]),
        Buffer.from(frames[f].data.buffer, frames[f].data.byteOffset, frames[f].data.byteLength),
      ),
      `${what}: ffmpeg, frame ${f}`,
    ).toBe(0);
    expect(
      Buffer.compare(
        Buffer.from(mine[f].data.buffer, mine[f].data.byteOffset, mine[f].data.byteLength),
        Buffer.from(theirs[f]),
      ),
      `${what}: ours, frame ${f}`,
    ).toBe(0);
  }
}

describe('GIF encoder on few colours', () => {
  const four = new Uint8Array([0, 0, 0, 40, 40, 40, 255, 255, 255, 220, 220, 220]);
  const exact = { dither: 'none', lossy: 0, diffThreshold: 0 } as const;

  it('writes a scrolling 4-colour picture without a transparent index, in fewer bytes, decoding exactly', async () => {
    const frames = automaton(four, 240, 135, 8);
    const delaysMs = frames.map(() => 100);
    const r = await encodeGif(frames, { ...exact, delaysMs, paletteRgb: four });
    // Every frame: no transparent index, 3-bit codes (4 colours + transparency need 4).
    expect(frameLayout(r.bytes)).toEqual(
      frames.map(() => ({ codeSize: 2, transparent: -1, local: 0 })),
    );
    expectExact(r.bytes, frames, 'shared palette');
    // With a transparent index in every frame (as before) this took 24,038 bytes.
    expect(r.bytes.length).toBeLessThan(24038 * 0.97);
    // Per-frame palettes: a pixel that stays is written as the local entry of the colour it shows.
    const local = await encodeGif(frames, { delaysMs, quality: 100 });
    expect(frameLayout(local.bytes).slice(1)).toEqual(
      frames.slice(1).map(() => ({ codeSize: 2, transparent: -1, local: 4 })),
    );
    expectExact(local.bytes, frames, 'local palettes');
    expect(local.bytes.length).toBeLessThan(24206 * 0.97); // was 24,206
  });

  it('keeps the transparent index where pixels that stay make long runs', async () => {
    // Two squares in opposite corners move over a still picture: the frames span it all,
    // and nearly every pixel stays.
    const [still] = automaton(four, 120, 90, 1);
    const frames = Array.from({ length: 5 }, (_, f) => {
      const data = new Uint8ClampedArray(still.data);
      for (let y = 2; y < 10; y++)
        for (let x = 2 + f * 3; x < 10 + f * 3; x++)
          data.set([255, 255, 255, 255], (y * 120 + x) * 4);
      for (let y = 80; y < 88; y++)
        for (let x = 100 - f * 3; x < 108 - f * 3; x++) data.set([0, 0, 0, 255], (y * 120 + x) * 4);
      return { width: 120, height: 90, data };
    });
    const r = await encodeGif(frames, {
      ...exact,
      delaysMs: frames.map(() => 100),
      paletteRgb: four,
    });
    expect(
      frameLayout(r.bytes)
        .slice(1)
        .map((l) => [l.transparent, l.codeSize]),
    ).toEqual(frames.slice(1).map(() => [4, 3]));
    expectExact(r.bytes, frames, 'moving squares');
  });

  it('makes near shades of a few colours cheaper with lossy tolerance, never dearer, within the tolerance', async () => {
    // Black and white cells, a third of them drawn in a close shade (like ringing around edges).
    const shades = new Uint8Array([0, 0, 0, 12, 12, 12, 255, 255, 255, 243, 243, 243]);
    const r0 = rng(5);
    const frames = automaton(new Uint8Array([0, 0, 0, 255, 255, 255]), 240, 135, 6).map((f) => {
      const data = new Uint8ClampedArray(f.data);
      for (let i = 0; i < data.length; i += 4)
        if (r0() < 0.33) data.fill(data[i] ? 243 : 12, i, i + 3);
      return { ...f, data };
    });
    const delaysMs = frames.map(() => 100);
    const sizes: number[] = [];
    for (const lossy of [0, 20, 40]) {
      const r = await encodeGif(frames, {
        delaysMs,
        paletteRgb: shades,
        dither: 'none',
        diffThreshold: 0,
        lossy,
      });
      sizes.push(r.bytes.length);
      // What ffmpeg shows is what our decoder shows, and within the tolerance of the source.
      const theirs = ffmpegFrames(r.bytes, 240, 135);
      const mine = decodeGif(r.bytes).frames;
      let worst = 0;
      for (let f = 0; f < frames.length; f++) {
        expect(
          Buffer.compare(
            Buffer.from(mine[f].data.buffer, mine[f].data.byteOffset, mine[f].data.byteLength),
            Buffer.from(theirs[f]),
          ),
          `lossy ${lossy}, frame ${f}`,
        ).toBe(0);
        for (let i = 0; i < theirs[f].length; i += 4)
          worst = Math.max(worst, Math.abs(theirs[f][i] - frames[f].data[i]));
      }
      expect(worst, `lossy ${lossy}`).toBeLessThanOrEqual(lossy === 0 ? 0 : 12);
    }
    expect(sizes[1]).toBeLessThanOrEqual(sizes[0]);
    expect(sizes[2]).toBeLessThanOrEqual(sizes[1]);
    // With a transparent index in every frame this took 54,688 / 42,998 / 28,102 bytes.
    [54688, 42998, 28102].forEach((before, i) => expect(sizes[i]).toBeLessThan(before * 0.93));
  });

  it('keeps a full LZW table instead of clearing when that is smaller; ffmpeg, sharp and our decoder read it', async () => {
    // 2 colours, 480×270: one frame fills the 4096-code table.
    const two = new Uint8Array([0, 0, 0, 255, 255, 255]);
    const frames = automaton(two, 480, 270, 2);
    const w = 480;
    const h = 270;
    const index = new Uint8Array(w * h);
    for (let i = 0; i < w * h; i++) index[i] = frames[0].data[i * 4] ? 1 : 0;
    const lzw = new LzwEncoder();
    const palette = new Palette(two);
    const chosen = new Uint8Array(w * h);
    const files: Uint8Array[] = [];
    for (const frozen of [false, true]) {
      const sink = new CountingSink();
      writeHeader(sink, w, h, two, false);
      writeFrameHeader(sink, { x: 0, y: 0, width: w, height: h, transparent: -1, disposal: 1 });
      lzw.encode(sink, 2, {
        index,
        length: w * h,
        transparent: -1,
        lossy: 0,
        palette,
        chosen,
        frozen,
      });
      expect(lzw.filled).toBe(true);
      writeTrailer(sink);
      files.push(sink.finish());
    }
    expect(files[1].length).toBeLessThan(files[0].length * 0.97);
    for (const bytes of files) expectExact(bytes, frames.slice(0, 1), 'one frame');
    const { data } = await sharp(Buffer.from(files[1]))
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(
      Buffer.compare(
        data,
        Buffer.from(frames[0].data.buffer, frames[0].data.byteOffset, frames[0].data.byteLength),
      ),
    ).toBe(0);
    // encodeGif takes the frozen table for such frames by itself.
    const r = await encodeGif(frames, { ...exact, delaysMs: [100, 100], paletteRgb: two });
    expectExact(r.bytes, frames, 'encodeGif');
    expect(r.bytes.length).toBeLessThan(20943 * 0.97); // was 20,943
  });
});
