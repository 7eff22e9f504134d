/**
 * The units of budget fitting one by one: the search state (`fit-session.ts`), the quality
 * search, paced tries, the shrink step and the final pick. Where a unit encodes, its output
 * is decoded with ffmpeg and compared with the frames it was made from; the arithmetic is
 * checked directly.
 */
import { describe, expect, it } from 'vitest';
import { BudgetError } from '../src/errors';
import type { FitFrames } from '../src/fit';
import { pacedSearch } from '../src/fit-paced';
import { adaptations, pickBetter } from '../src/fit-pick';
import { afterQualityTry, nextQualityTry, searchQuality, type Bracket } from '../src/fit-quality';
import { FitSession, fitLimits } from '../src/fit-session';
import { growToFill, shrink } from '../src/fit-shrink';
import type { FitShape } from '../src/fit-steps';
import { gifWriter } from '../src/gif/index';
import type { RgbaImage } from '../src/types';
import type { StickerWriter, TryNotes } from '../src/writer';
import { ffmpegFrames, ssimPsnr } from './gif-helpers';
import { rng } from './helpers';

/** A drifting two-colour gradient under a few moving squares and some grain, at any shape. */
function clipFrames(shape: FitShape, seconds = 1): FitFrames {
  const { width: w, height: h, fps } = shape;
  const n = Math.round(seconds * fps);
  const frames: RgbaImage[] = [];
  for (let k = 0; k < n; k++) {
    const r = rng(1000 + k);
    const data = new Uint8ClampedArray(w * h * 4);
    const t = k / fps;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const u = x / w + t * 0.3;
        const v = y / h;
        const inSquare = Math.floor((x / w) * 4 + t) % 2 === 0 && Math.floor(v * 3) % 2 === 0;
        const g = (r() - 0.5) * 6;
        const o = (y * w + x) * 4;
        data[o] = (inSquare ? 230 : 40 + 180 * (u % 1)) + g;
        data[o + 1] = (inSquare ? 60 : 90 + 120 * v) + g;
        data[o + 2] = (inSquare ? 40 : 200 - 150 * (u % 1)) + g;
        data[o + 3] = 255;
      }
    frames.push({ width: w, height: h, data });
  }
  return { frames, delaysMs: frames.map(() => 1000 / fps) };
}

const BASE: FitShape = { width: 160, height: 90, fps: 8 };

/** A session over `clipFrames`, counting which shapes were asked for. */
function session(maxBytes: number, writer: StickerWriter = gifWriter, base = BASE) {
  const asked: FitShape[] = [];
  const fit = new FitSession({
    writer,
    maxBytes,
    quality: 80,
    shape: base,
    frames: (shape) => {
      asked.push(shape);
      return Promise.resolve(clipFrames(shape));
    },
  });
  return { fit, asked };
}

/** ffmpeg's SSIM between the decoded GIF and the frames it was made from. */
function decodedSsim(bytes: Uint8Array, f: FitFrames): number {
  const { width: w, height: h } = f.frames[0]!;
  const shown = ffmpegFrames(bytes, w, h);
  expect(shown.length).toBe(f.frames.length);
  return ssimPsnr(
    shown,
    f.frames.map((x) => x.data),
    w,
    h,
  ).ssim;
}

const enc = (q: number, f: FitFrames) => gifWriter.encode(f.frames, f.delaysMs, { quality: q });

describe('the search state', () => {
  it('clamps the limits it keeps to', () => {
    expect(fitLimits({ quality: 250, minQuality: 0, floorQuality: 90 }, BASE)).toEqual({
      qMax: 100,
      qMin: 1,
      qFloor: 1,
      minScale: 64 / 160,
      minFps: 4,
    });
    expect(
      fitLimits({ quality: 30, minQuality: 35, minSide: 500, minFps: 10 }, { ...BASE, fps: 6 }),
    ).toEqual({ qMax: 30, qMin: 30, qFloor: 1, minScale: 1, minFps: 6 });
  });

  it('counts tries, keeps the asked frames and the latest others, and estimates a stopped try', async () => {
    const { fit, asked } = session(1 << 30);
    const full = await enc(80, clipFrames(BASE));
    const a = await fit.attempt(80, BASE, Infinity);
    expect(a.bytes).toEqual(full);
    expect(a).toMatchObject({ size: full.length, complete: true, estimate: full.length });
    // Stopped at a third of its size: the estimate is near its real size.
    const b = await fit.attempt(80, BASE, Math.round(full.length / 3));
    expect(b.bytes).toBeUndefined();
    expect(b.complete).toBe(false);
    expect(b.size).toBeLessThan(full.length / 2);
    expect(b.estimate).toBeGreaterThan(full.length * 0.6);
    expect(b.estimate).toBeLessThan(full.length * 1.6);
    const small = { width: 80, height: 45, fps: 8 };
    const tiny = { width: 40, height: 22, fps: 8 };
    await fit.attempt(80, small, Infinity);
    await fit.attempt(80, tiny, Infinity);
    await fit.attempt(80, BASE, Infinity);
    expect(fit.tries).toBe(5);
    expect(asked).toEqual([BASE, small, tiny]);
    expect(fit.cached(small)).toBeUndefined();
    expect(fit.cached(tiny)).toBeDefined();
  });
});

describe('the quality search', () => {
  const best = (q: number, size: number) => ({ q, bytes: new Uint8Array(size) });

  it('ends when a try is near the budget and the sizes say no quality far above fits', () => {
    const trend = { failedInRow: 0, flat: false };
    // 97 % of the budget, the failing end 3 % over: the line aims 1–2 steps up.
    expect(nextQualityTry({ best: best(50, 970), top: 60, topSize: 1030 }, trend, 1000)).toBe(
      undefined,
    );
    // 97 % but sizes flat up to a far top: keep going.
    const q = nextQualityTry({ best: best(20, 970), top: 90, topSize: 1001 }, trend, 1000);
    expect(q).toBeGreaterThanOrEqual(25);
    // Closed bracket.
    expect(nextQualityTry({ best: best(50, 500), top: 51 }, trend, 1000)).toBe(undefined);
  });

  it('halves the bracket after two tries in a row fail by over 5 %, or after a flat one', () => {
    const b: Bracket = { best: best(30, 600), top: 90, topSize: 2000 };
    const line = nextQualityTry(b, { failedInRow: 0, flat: false }, 1000)!;
    expect(line).not.toBe(60);
    expect(nextQualityTry(b, { failedInRow: 2, flat: false }, 1000)).toBe(60);
    expect(nextQualityTry(b, { failedInRow: 0, flat: true }, 1000)).toBe(60);
    // A failing try 10 % over counts; one 3 % over does not.
    const t0 = { failedInRow: 1, flat: false };
    expect(afterQualityTry(b, { ...b, top: 80, topSize: 1100 }, t0, 1000).failedInRow).toBe(2);
    expect(afterQualityTry(b, { ...b, top: 80, topSize: 1030 }, t0, 1000).failedInRow).toBe(0);
    // A fitting try that grew 1 % is flat; one that grew 10 % is not.
    expect(afterQualityTry(b, { ...b, best: best(50, 606) }, t0, 1000)).toEqual({
      failedInRow: 0,
      flat: true,
    });
    expect(afterQualityTry(b, { ...b, best: best(50, 660) }, t0, 1000).flat).toBe(false);
  });

  it('finds a quality that fits and is the highest or near the budget, decoded as the frames', async () => {
    const f = clipFrames(BASE);
    const lo = await enc(5, f);
    const hi = await enc(80, f);
    const budget = Math.round((lo.length + hi.length) / 2);
    const { fit } = session(budget);
    const r = await searchQuality(fit, BASE, 5, lo, 79, hi.length);
    expect(r.bytes.length).toBeLessThanOrEqual(budget);
    expect(r.q).toBeGreaterThan(5);
    expect(r.q).toBeLessThan(80);
    // The output is that quality's whole-clip encode.
    expect(r.bytes).toEqual(await enc(r.q, f));
    // Either it fills the budget or one step up does not fit.
    if (r.bytes.length < budget * 0.95)
      expect((await enc(r.q + 1, f)).length).toBeGreaterThan(budget);
    expect(decodedSsim(r.bytes, f)).toBeGreaterThan(0.8);
  });
});

describe('paced tries', () => {
  it('land within the budget from a first try’s notes, decoded as the frames', async () => {
    const f = clipFrames(BASE);
    const full = await enc(80, f);
    const budget = Math.round(full.length * 0.92);
    const { fit } = session(budget);
    const noted: { of?: TryNotes } = {};
    const first = await fit.attempt(80, BASE, budget * 2, gifWriter, {
      pace: 'ahead',
      notes: (n) => (noted.of = n),
    });
    const fitted = fit.fits(first)
      ? { q: fit.qualityOf(noted.of!), bytes: first.bytes! }
      : undefined;
    const r = await pacedSearch(fit, BASE, noted.of!, fitted, full.length);
    expect(r).toBeDefined();
    expect(r!.bytes.length).toBeLessThanOrEqual(budget);
    expect(r!.bytes.length).toBeGreaterThan(budget * 0.85);
    expect(r!.q).toBeLessThanOrEqual(80);
    expect(decodedSsim(r!.bytes, f)).toBeGreaterThan(0.85);
  });

  it('hand back what they were given when the writer does not pace', async () => {
    const { fit } = session(1000, { ...gifWriter, paces: undefined });
    const given = { q: 40, bytes: new Uint8Array(10) };
    const notes: TryNotes = { frames: 1, quality: 40, qualityFor: () => 50, bytesAt: () => 10 };
    expect(await pacedSearch(fit, BASE, notes, given)).toBe(given);
    expect(fit.tries).toBe(0);
  });
});

describe('the shrink step', () => {
  it('shrinks the frame until the lowest usual quality fits, then raises quality there', async () => {
    const f = clipFrames(BASE);
    const floor = await enc(35, f);
    const budget = Math.round(floor.length * 0.4);
    const { fit } = session(budget);
    const r = await shrink(fit, { size: floor.length, complete: true, estimate: floor.length });
    expect(r.bytes.length).toBeLessThanOrEqual(budget);
    expect(r.shape.width).toBeLessThan(BASE.width);
    expect(r.shape.width).toBeGreaterThanOrEqual(64);
    expect(r.q).toBeGreaterThanOrEqual(35);
    expect(decodedSsim(r.bytes, clipFrames(r.shape))).toBeGreaterThan(0.8);
  });

  it('grows the frame at the same quality to fill a budget left short at the top of the bracket', async () => {
    const shape = { width: 100, height: 56, fps: 8 };
    const f = clipFrames(shape);
    const small = await enc(40, f);
    const budget = Math.round(small.length / 0.8);
    const { fit } = session(budget);
    const r = await growToFill(fit, { q: 40, bytes: small, shape }, 100 / 160, 1.8);
    expect(r.q).toBe(40);
    expect(r.bytes.length).toBeLessThanOrEqual(budget);
    expect(r.bytes.length).toBeGreaterThanOrEqual(budget * 0.95);
    expect(r.shape.width).toBeGreaterThan(100);
    expect(r.shape.fps).toBe(8);
    expect(fit.tries).toBeLessThanOrEqual(2);
    // The kept output is that quality's encode of the frames at its shape, and shows them.
    const at = clipFrames(r.shape);
    expect(r.bytes).toEqual(await enc(40, at));
    expect(decodedSsim(r.bytes, at)).toBeGreaterThan(0.8);
  });

  it('says how many bytes the smallest output needs when nothing fits', async () => {
    const { fit } = session(300);
    const floor = await enc(35, clipFrames(BASE));
    const e = await shrink(fit, {
      size: floor.length,
      complete: true,
      estimate: floor.length,
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BudgetError);
    const need = (e as BudgetError).minBytes!;
    // That many bytes is what the smallest shape at the lowest rate and quality takes.
    const smallest = clipFrames({ width: 64, height: 36, fps: 4 });
    expect(need).toBe((await enc(1, smallest)).length);
  });
});

describe('the final pick', () => {
  const full = { q: 10, bytes: new Uint8Array([1]) };
  const small = { q: 60, bytes: new Uint8Array([2]), shape: { width: 80, height: 45, fps: 8 } };
  const scored = (score: (b: Uint8Array) => number) =>
    session(1000, { ...gifWriter, score: (b) => score(b) }).fit;

  it('keeps the better-scoring of a full-size and a smaller output, full size on a tie', async () => {
    expect(
      await pickBetter(
        scored((b) => (b[0] === 1 ? 0.9 : 0.8)),
        full,
        small,
      ),
    ).toEqual({
      ...full,
      shape: BASE,
    });
    expect(
      await pickBetter(
        scored(() => 0.9),
        full,
        small,
      ),
    ).toEqual({ ...full, shape: BASE });
    expect(
      await pickBetter(
        scored((b) => (b[0] === 2 ? 0.9 : 0.8)),
        full,
        small,
      ),
    ).toBe(small);
    expect(
      await pickBetter(
        scored(() => 1),
        undefined,
        small,
      ),
    ).toBe(small);
    expect(
      await pickBetter(
        scored(() => 1),
        full,
        undefined,
      ),
    ).toEqual({ ...full, shape: BASE });
  });

  it('reports every change from the request, with the writer’s knobs it moved', () => {
    expect(adaptations(gifWriter, 80, 80, BASE, BASE)).toEqual({});
    const a = adaptations(gifWriter, 80, 20, BASE, { width: 100, height: 56, fps: 6 });
    expect(a.quality).toEqual({ from: 80, to: 20 });
    expect(a.width).toEqual({ from: 160, to: 100 });
    expect(a.height).toEqual({ from: 90, to: 56 });
    expect(a.fps).toEqual({ from: 8, to: 6 });
    // The GIF writer's tuning at 20 has fewer colours and some lossiness, same dithering.
    expect(a.colors).toEqual({ from: 256, to: gifWriter.describe(20).colors });
    expect(a.lossy).toEqual({ from: 0, to: gifWriter.describe(20).lossy });
    expect(a.dither).toBeUndefined();
  });
});
