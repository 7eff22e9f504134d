/**
 * The arithmetic of budget fitting (`fit.ts`), as small pure functions: each step's guess
 * from the sizes measured so far. `fitSticker` owns the tries and their order; these say
 * where the next try goes.
 */
import type { TryNotes } from './writer';

/** Frame size and rate of a try. */
export interface FitShape {
  width: number;
  height: number;
  fps: number;
}

/** Scales `base` by `s` (keeps at least 1 px a side); `s ≥ 1` is `base` itself. */
export function scaled(base: FitShape, s: number, fps: number): FitShape {
  if (s >= 1) return { width: base.width, height: base.height, fps };
  return {
    width: Math.max(1, Math.round(base.width * s)),
    height: Math.max(1, Math.round(base.height * s)),
    fps,
  };
}

/**
 * The forecast: the scale at which frames noted (by `notes`, at scale `at`) take `bytes`
 * at quality `q`, when bytes go as the scale to the power `exponent`.
 */
export function scaleFor(
  notes: Pick<TryNotes, 'bytesAt'>,
  at: number,
  q: number,
  bytes: number,
  exponent: number,
): number {
  return at * Math.min(1, bytes / Math.max(1, notes.bytesAt(q))) ** (1 / exponent);
}

/**
 * How bytes follow scale, from two tries at different scales: the exponent of the power
 * law through them, kept within 1–3; `exponent` (the last one) when they say nothing.
 */
export function recalibrate(
  a: { s: number; bytes: number },
  b: { s: number; bytes: number },
  exponent: number,
): number {
  const e = Math.log(a.bytes / b.bytes) / Math.log(a.s / b.s);
  return Number.isFinite(e) ? Math.max(1, Math.min(3, e)) : exponent;
}

/**
 * The quality search's next guess: the quality expected to give `share` of `maxBytes`.
 * Interpolates log(size) between the best fitting try and the failing one above it (`top`,
 * `topSize`) when that one is known to be over the budget, else steps up by the usual
 * growth rate (`qualityPerEfold`), at most halfway. Always strictly between the two.
 */
export function aimQuality(
  best: { q: number; size: number },
  top: number,
  topSize: number | undefined,
  maxBytes: number,
  share: number,
  qualityPerEfold: number,
): number {
  let q: number;
  if (topSize !== undefined && topSize > maxBytes) {
    const x = Math.log(best.size);
    const y = Math.log(topSize);
    const f = (Math.log(maxBytes * share) - x) / Math.max(1e-9, y - x);
    q = Math.round(best.q + f * (top - best.q));
  } else {
    const step = qualityPerEfold * Math.log((maxBytes * share) / best.size);
    q = Math.min(Math.floor((best.q + top) / 2), Math.round(best.q + Math.max(1, step)));
  }
  return Math.max(best.q + 1, Math.min(top - 1, q));
}

/**
 * The shrink step's next frame rate: 0.7 of `fps` (whole, at least `minFps`), skipping the
 * rates at which even the smallest size (`smallest` bytes at `fps`) cannot fit.
 */
export function nextFps(fps: number, minFps: number, smallest: number, maxBytes: number): number {
  let next = fps;
  do next = Math.max(minFps, Math.floor(next * 0.7));
  while (next > minFps && (smallest * next) / fps > maxBytes * 1.1);
  return next;
}

/**
 * Filling the budget by size: a try fits at scale `s` with `size` bytes and a larger
 * `bigger.scale` is known (or estimated) at `bigger.estimate` over it; the scale the
 * power law through the two puts at 97.5 % of `maxBytes`, kept a tenth of the gap below
 * `bigger.scale`. Undefined when the two do not make a usable law.
 */
export function fillScale(
  s: number,
  size: number,
  bigger: { scale: number; estimate: number },
  maxBytes: number,
): number | undefined {
  const e = Math.log(bigger.estimate / size) / Math.log(bigger.scale / s);
  if (!(e > 0.5) || !Number.isFinite(e)) return undefined;
  return Math.min(
    bigger.scale - (bigger.scale - s) * 0.1,
    s * ((maxBytes * 0.975) / size) ** (1 / e),
  );
}
