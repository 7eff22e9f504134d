/**
 * Budget fitting's arithmetic, unit by unit: where each next try goes given the sizes
 * measured so far. (fit.test.ts runs the whole search on real footage.)
 */
import { describe, expect, it } from 'vitest';
import { aimQuality, fillScale, nextFps, recalibrate, scaleFor, scaled } from '../src/fit-steps';

describe('fitting steps', () => {
  it('scales a shape, never up and never below 1 px', () => {
    const base = { width: 480, height: 270, fps: 12 };
    expect(scaled(base, 1.2, 10)).toEqual({ width: 480, height: 270, fps: 10 });
    expect(scaled(base, 0.5, 12)).toEqual({ width: 240, height: 135, fps: 12 });
    expect(scaled(base, 0.001, 12)).toEqual({ width: 1, height: 1, fps: 12 });
  });

  it('forecasts the scale at which the noted bytes meet a budget', () => {
    const notes = { bytesAt: (q: number) => (q === 50 ? 400_000 : 0) };
    // 100 000 of 400 000 bytes with bytes ∝ scale²: half the scale.
    expect(scaleFor(notes, 1, 50, 100_000, 2)).toBeCloseTo(0.5, 12);
    expect(scaleFor(notes, 0.8, 50, 100_000, 2)).toBeCloseTo(0.4, 12);
    // Already under the budget: no growth.
    expect(scaleFor(notes, 1, 50, 800_000, 2)).toBe(1);
    // A forecast of nothing counts as 1 byte, never a division by zero.
    expect(scaleFor(notes, 1, 10, 100, 1)).toBe(1);
  });

  it('recalibrates how bytes follow scale from two tries, within 1–3', () => {
    expect(recalibrate({ s: 1, bytes: 400 }, { s: 0.5, bytes: 100 }, 1.8)).toBeCloseTo(2, 12);
    expect(recalibrate({ s: 1, bytes: 400 }, { s: 0.5, bytes: 390 }, 1.8)).toBe(1);
    expect(recalibrate({ s: 1, bytes: 4000 }, { s: 0.5, bytes: 10 }, 1.8)).toBe(3);
    // Same scale: nothing learnt, the last exponent stays.
    expect(recalibrate({ s: 0.5, bytes: 400 }, { s: 0.5, bytes: 100 }, 1.8)).toBe(1.8);
  });

  it('aims the quality search inside the bracket, by the log-size line or by a step', () => {
    // Line through (40, 50 000) and (80, 200 000): 100 000 bytes sit at quality 60.
    expect(aimQuality({ q: 40, size: 50_000 }, 80, 200_000, 100_000, 1, 60)).toBe(60);
    // The line aims outside (very flat sizes): kept one inside either end.
    expect(aimQuality({ q: 40, size: 50_000 }, 80, 100_001, 100_000, 1.2, 60)).toBe(79);
    expect(aimQuality({ q: 40, size: 99_000 }, 80, 10_000_000, 50_000, 1, 60)).toBe(41);
    // Only the fitting side known: the usual growth rate, at most halfway up.
    expect(aimQuality({ q: 40, size: 90_000 }, 80, undefined, 100_000, 1, 60)).toBe(46);
    expect(aimQuality({ q: 40, size: 10_000 }, 80, undefined, 100_000, 1, 60)).toBe(60);
    // A top that fitted (its size under the budget) is no line end either.
    expect(aimQuality({ q: 40, size: 90_000 }, 80, 95_000, 100_000, 1, 60)).toBe(46);
  });

  it('lowers the frame rate by 0.7 steps, skipping rates that cannot fit', () => {
    expect(nextFps(12, 4, 10_000, 100_000)).toBe(8);
    expect(nextFps(8, 4, 10_000, 100_000)).toBe(5);
    expect(nextFps(5, 4, 10_000, 100_000)).toBe(4);
    // 100 000 bytes at 24 fps at the smallest size: 16 fps would need 66 667 > 55 000.
    expect(nextFps(24, 4, 100_000, 50_000)).toBe(11);
    expect(nextFps(24, 4, 10_000_000, 50_000)).toBe(4);
  });

  it('fills the budget by size between a fitting scale and a larger one over it', () => {
    // Sizes 25 000 at 0.5 and 100 000 at 1 (bytes ∝ scale²); 97.5 % of 60 000 is at 0.7649.
    const s = fillScale(0.5, 25_000, { scale: 1, estimate: 100_000 }, 60_000)!;
    expect(s).toBeCloseTo(0.5 * Math.sqrt(58_500 / 25_000), 12);
    // Never closer to the larger scale than a tenth of the gap.
    expect(fillScale(0.5, 25_000, { scale: 0.6, estimate: 36_000 }, 60_000)).toBeCloseTo(0.59, 12);
    // Sizes that barely grow with scale make no usable law.
    expect(fillScale(0.5, 25_000, { scale: 1, estimate: 26_000 }, 60_000)).toBeUndefined();
  });
});
