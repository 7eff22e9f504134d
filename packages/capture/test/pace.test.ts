/**
 * The paced GIF pass: guided by the notes of a first try, or by a look at all the frames
 * before the first is written, it lands just under its budget in one go at an even
 * quality, looks as good for its bytes as whole-clip tries (checked on ffmpeg's decoding
 * of both), never passes the hard limit, and refuses notes of other frames. Fitting film
 * then takes one try where it took three.
 */
import { describe, expect, it } from 'vitest';
import { fitSticker } from '../src/fit';
import { encodeGif, gifWriter, GifNotes } from '../src/gif/index';
import type { RgbaImage } from '../src/types';
import type { TryNotes } from '../src/writer';
import { OverBudgetError } from '../src/writer';
import { bbbFrames, ffmpegFrames, shownAtSamples, ssimPsnr } from './gif-helpers';
import { NO_FOOTAGE } from './helpers';

const KiB = 1024;

/** A first try at quality 80 and its notes. */
async function firstTry(
  frames: RgbaImage[],
  delaysMs: number[],
): Promise<{ bytes: Uint8Array; notes: GifNotes }> {
  const got: { notes?: TryNotes } = {};
  const bytes = await gifWriter.encode(frames, delaysMs, {
    quality: 80,
    notes: (n) => (got.notes = n),
  });
  expect(got.notes).toBeInstanceOf(GifNotes);
  return { bytes, notes: got.notes as GifNotes };
}

/** ffmpeg's SSIM of a GIF against its 12 fps source frames. */
function ssimOf(bytes: Uint8Array, frames: RgbaImage[], fps: number): number {
  const { width: w, height: h } = frames[0]!;
  const decoded = ffmpegFrames(bytes, w, h);
  const info = decodeDelays(bytes);
  expect(decoded.length).toBe(info.length);
  return ssimPsnr(
    frames.map((f) => f.data),
    shownAtSamples(decoded, info, frames.length, fps),
    w,
    h,
  ).ssim;
}

/** Delays (cs) of a GIF's frames, read from its graphic control extensions. */
function decodeDelays(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 5 < bytes.length; i++)
    if (bytes[i] === 0x21 && bytes[i + 1] === 0xf9 && bytes[i + 2] === 4)
      out.push(bytes[i + 4]! | (bytes[i + 5]! << 8));
  return out;
}

describe('paced GIF pass', () => {
  it('lands within 95–100 % of the budget in one pass, at an even quality, as good for its bytes as whole-clip tries', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const frames = bbbFrames(20, 3, 12, 320, 180);
    const delaysMs = frames.map(() => 1000 / 12);
    const { bytes: first, notes } = await firstTry(frames, delaysMs);
    for (const budget of [160 * KiB, 256 * KiB]) {
      expect(first.length).toBeGreaterThan(budget); // the first try does not fit: pacing has work to do
      const got: { notes?: TryNotes } = {};
      const paced = await gifWriter.encode(frames, delaysMs, {
        quality: 80,
        maxBytes: budget,
        targetBytes: budget,
        pace: notes,
        notes: (n) => (got.notes = n),
      });
      expect(paced.length, `${budget}`).toBeLessThanOrEqual(budget);
      expect(paced.length, `${budget}`).toBeGreaterThanOrEqual(budget * 0.95);
      // Even quality: all but the last few frames within a few steps of each other.
      const qs = (got.notes as GifNotes).written.map((f) => f.quality);
      const body = qs.slice(0, -4);
      expect(
        Math.max(...body) - Math.min(...body),
        `${budget}: ${qs.map((q) => q.toFixed(0)).join(' ')}`,
      ).toBeLessThanOrEqual(6);
      // As good as a whole-clip quality of no more bytes (searched as fitting would).
      let q = Math.round(got.notes!.quality) + 3;
      let whole = await encodeGif(frames, { delaysMs, quality: q });
      while (whole.bytes.length > paced.length && q > 1)
        whole = await encodeGif(frames, { delaysMs, quality: --q });
      const a = ssimOf(paced, frames, 12);
      const b = ssimOf(whole.bytes, frames, 12);
      expect(
        a,
        `${budget}: paced ${paced.length} B vs quality ${q} ${whole.bytes.length} B`,
      ).toBeGreaterThanOrEqual(b - 0.0005);
    }
  }, 60_000);

  it('never passes its hard limit when the forecast is far off: it writes the frame again at the lowest quality, or stops', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    // A still shot whose last frame brings a new top half (another scene), which the notes
    // below hide: the pass meets that frame's real cost only when it writes it.
    const [still] = bbbFrames(20, 1, 12, 320, 180);
    const [other] = bbbFrames(5, 1, 12, 320, 180);
    const last = new Uint8ClampedArray(still!.data);
    last.set(other!.data.subarray(0, 90 * 320 * 4));
    const frames: RgbaImage[] = [...Array(11).fill(still), { width: 320, height: 180, data: last }];
    const delaysMs = frames.map(() => 1000 / 12);
    const { notes } = await firstTry(frames, delaysMs);
    const misled = new GifNotes(notes.count, { threshold: (q) => (100 - q) * 0.1, lossless: 60 });
    misled.width = notes.width;
    misled.height = notes.height;
    notes.written.forEach((f, k) =>
      misled.add(k, k < 11 ? f : { ...f, bytes: Math.round(f.bytes / 50) }),
    );
    // A target far above any size: the pass gives every frame quality 80, and only the
    // hard limit can stop it. Unlimited, it writes the last frame at 80.
    const paced = async (maxBytes: number) => {
      const got: { notes?: TryNotes } = {};
      const bytes = await gifWriter.encode(frames, delaysMs, {
        quality: 80,
        maxBytes,
        targetBytes: 1e9,
        pace: misled,
        notes: (n) => (got.notes = n),
      });
      return { bytes, notes: got.notes as GifNotes };
    };
    const free = await paced(1e9);
    expect(free.notes.written.every((f) => f.quality === 80)).toBe(true);
    const lastBytes = free.notes.written[11]!.bytes;
    const before = free.bytes.length - 1 - lastBytes; // header and the first eleven frames

    // One byte short of that: the last frame is written again at quality 40, and fits.
    const tight = await paced(free.bytes.length - 1);
    expect(tight.bytes.length).toBeLessThan(free.bytes.length);
    expect(tight.notes.written[11]!.quality).toBe(40);
    expect(ffmpegFrames(tight.bytes, 320, 180)).toHaveLength(2);
    // Room for no last frame at all: the pass stops at its limit instead of passing it.
    await expect(paced(before + 8)).rejects.toThrow(OverBudgetError);
    await expect(paced(before + 8)).rejects.toMatchObject({ limit: before + 8 });
  }, 60_000);

  it('refuses notes of other frames, and a pace below the qualities that have per-frame palettes', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const frames = bbbFrames(20, 1, 12, 160, 90);
    const delaysMs = frames.map(() => 1000 / 12);
    const { notes } = await firstTry(frames, delaysMs);
    const small = frames.map((f) => ({
      width: 80,
      height: 45,
      data: f.data.subarray(0, 80 * 45 * 4),
    }));
    await expect(
      gifWriter.encode(small, delaysMs, {
        quality: 80,
        maxBytes: 1e6,
        targetBytes: 1e5,
        pace: notes,
      }),
    ).rejects.toThrow(/notes of frames of its own size, 80×45; got notes of 160×90/);
    await expect(
      gifWriter.encode(frames.slice(1), delaysMs.slice(1), {
        quality: 80,
        maxBytes: 1e6,
        targetBytes: 1e5,
        pace: notes,
      }),
    ).rejects.toThrow(/notes of the same 11 frames; got .* notes of 12 frames/);
    await expect(
      encodeGif(frames, {
        delaysMs,
        quality: 80,
        maxBytes: 1e6,
        pace: { notes, budget: 1e5, minQuality: 20 },
      }),
    ).rejects.toThrow(/minQuality of at least 40/);
  });

  it('paces a first try from a look at all the frames: film lands within 95–100 % at an even quality, as well as two passes do', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const frames = bbbFrames(20, 3, 12, 320, 180);
    const delaysMs = frames.map(() => 1000 / 12);
    for (const budget of [192 * KiB, 256 * KiB]) {
      const got: { notes?: TryNotes } = {};
      const ahead = await gifWriter.encode(frames, delaysMs, {
        quality: 80,
        maxBytes: budget * 2,
        targetBytes: budget,
        pace: 'ahead',
        notes: (n) => (got.notes = n),
      });
      expect(ahead.length, `${budget}`).toBeLessThanOrEqual(budget);
      expect(ahead.length, `${budget}`).toBeGreaterThanOrEqual(budget * 0.95);
      // The first frame is written at the top quality before the preview is made; the rest
      // settle within a few steps once the first few frames have shown how far off it was.
      const qs = (got.notes as GifNotes).written.map((f) => f.quality);
      const settled = qs.slice(12);
      expect(
        Math.max(...settled) - Math.min(...settled),
        `${budget}: ${qs.map((q) => q.toFixed(0)).join(' ')}`,
      ).toBeLessThanOrEqual(6);
      // As good as a second pass paced by the notes of a whole first try.
      const { notes } = await firstTry(frames, delaysMs);
      const twice = await gifWriter.encode(frames, delaysMs, {
        quality: 80,
        maxBytes: budget,
        targetBytes: budget,
        pace: notes,
      });
      expect(ssimOf(ahead, frames, 12), `${budget}`).toBeGreaterThanOrEqual(
        ssimOf(twice, frames, 12) - 0.001,
      );
    }
  }, 60_000);

  it('stops a look-ahead try after its first frame when even the lowest quality is forecast far over budget, saying about how big it would be', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const frames = bbbFrames(20, 3, 12, 320, 180);
    const delaysMs = frames.map(() => 1000 / 12);
    const whole = (await encodeGif(frames, { delaysMs, quality: 80 })).bytes.length;
    const budget = 48 * KiB;
    const got: { notes?: TryNotes } = {};
    const err = await gifWriter
      .encode(frames, delaysMs, {
        quality: 80,
        maxBytes: budget * 2,
        targetBytes: budget,
        pace: 'ahead',
        notes: (n) => (got.notes = n),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OverBudgetError);
    const e = err as OverBudgetError;
    expect(got.notes!.frames).toBe(1); // only the first frame was written
    expect(e.written).toBeLessThan(budget);
    // Its estimate of the whole at quality 80 is of the right order (the forecast is rough).
    expect(e.estimate!).toBeGreaterThan(whole / 2);
    expect(e.estimate!).toBeLessThan(whole * 2);
  }, 60_000);

  it('lets fitting land Big Buck Bunny in one try', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const frames = bbbFrames(20, 3, 12, 320, 180);
    const delaysMs = frames.map(() => 1000 / 12);
    for (const budget of [192 * KiB, 256 * KiB]) {
      const r = await fitSticker({
        writer: gifWriter,
        maxBytes: budget,
        quality: 80,
        shape: { width: 320, height: 180, fps: 12 },
        frames: async () => ({ frames, delaysMs }),
      });
      expect(r.bytes.length).toBeLessThanOrEqual(budget);
      expect(r.bytes.length).toBeGreaterThanOrEqual(budget * 0.95);
      expect(r.tries, `${budget}`).toBe(1);
      expect(r.adapted.quality?.from).toBe(80);
      expect(r.adapted.quality?.to).toBeLessThan(80);
      expect(r.adapted.width).toBeUndefined();
    }
  }, 60_000);
});
