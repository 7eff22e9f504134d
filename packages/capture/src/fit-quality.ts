/**
 * The quality search of budget fitting: whole-clip tries at one shape, bracketing the
 * highest quality that fits by the sizes each try reports. {@link nextQualityTry} and
 * {@link afterQualityTry} are its arithmetic; {@link searchQuality} makes the tries.
 */
import { aimQuality, type FitShape } from './fit-steps';
import type { FitSession, Fitted } from './fit-session';

/**
 * A fitting try that uses this share of the budget ends the quality search, unless the
 * sizes measured so far say a quality at least `FLAT_STEPS` higher would still fit.
 */
export const GOOD_ENOUGH = 0.95;
/**
 * Some content barely grows with quality (few colours: the palette is exact long before
 * quality 100), so a try near the budget can sit far below the best quality that fits.
 */
const FLAT_STEPS = 5;
/** Quality steps over which a writer's output grows about e-fold (a first guess only). */
export const QUALITY_PER_EFOLD = 60;

/**
 * What the quality search knows: the best fitting try, and the smallest quality known not
 * to fit (`top`), with its size measured or estimated (`topSize`) when known.
 */
export interface Bracket {
  best?: Fitted;
  top: number;
  topSize?: number;
}

/** How the last tries went: failing by more than 5 % in a row, and growing less than 2 %. */
export interface SearchTrend {
  failedInRow: number;
  flat: boolean;
}

/**
 * The quality of the next try in `b` (which has a best), or undefined when the search
 * ends: when the best uses `GOOD_ENOUGH` of the budget and the log-size line puts the
 * best fitting quality less than `FLAT_STEPS` above it, or when the bracket is closed.
 * Where sizes bend sharply (a jump at low qualities, then nearly flat), the line keeps
 * aiming just under the failing end and the bracket shrinks by a step a try: after two
 * tries in a row that failed by more than 5 %, the next one halves the bracket instead.
 * Likewise where sizes are flat (a step function of quality: few colours, where the
 * palette is exact long before the top): a fitting try that grew less than 2 % over the
 * best before it says the line undershoots, and the next try halves the bracket.
 */
export function nextQualityTry(
  b: Bracket,
  trend: SearchTrend,
  maxBytes: number,
): number | undefined {
  const best = b.best!;
  if (b.top - best.q <= 1) return undefined;
  const line = aimQuality(
    { q: best.q, size: best.bytes.length },
    b.top,
    b.topSize,
    maxBytes,
    0.985,
    QUALITY_PER_EFOLD,
  );
  if (best.bytes.length >= maxBytes * GOOD_ENOUGH && line < best.q + FLAT_STEPS) return undefined;
  return trend.failedInRow >= 2 || trend.flat ? Math.floor((best.q + b.top) / 2) : line;
}

/** The trend after a try turned bracket `before` into `after` (see {@link nextQualityTry}). */
export function afterQualityTry(
  before: Bracket,
  after: Bracket,
  trend: SearchTrend,
  maxBytes: number,
): SearchTrend {
  const best = before.best!;
  return {
    failedInRow:
      after.best === best && after.top < before.top && (after.topSize ?? Infinity) > maxBytes * 1.05
        ? trend.failedInRow + 1
        : 0,
    flat: after.best !== best && after.best!.bytes.length < best.bytes.length * 1.02,
  };
}

/** Tries quality `q` (in (best, top)) and narrows the bracket by what it gave. */
export async function tryQuality(
  fit: FitSession,
  shape: FitShape,
  q: number,
  limit: number,
  b: Bracket,
): Promise<Bracket> {
  const r = await fit.attempt(q, shape, limit);
  if (fit.fits(r)) return { ...b, best: { q, bytes: r.bytes! } };
  return { ...b, top: q, topSize: r.estimate };
}

/**
 * Highest quality in (lo, hi] that fits at `shape`, given that `lo` fits with `loBytes`.
 * `hiSize` is what `hi + 1` measured, or would have measured by the share it wrote
 * before it was stopped, when known. Interpolates log(size) between the nearest fitting
 * and failing tries (sizes grow about exponentially with quality), and stops early once
 * a fitting try uses nearly all of the budget (see {@link nextQualityTry}). Using a
 * stopped try's estimate (instead of a blind step) usually lands within the last 5 % of
 * the budget in one try.
 */
export async function searchQuality(
  fit: FitSession,
  shape: FitShape,
  lo: number,
  loBytes: Uint8Array,
  hi: number,
  hiSize?: number,
): Promise<Fitted> {
  const maxBytes = fit.maxBytes;
  let b: Bracket = { best: { q: lo, bytes: loBytes }, top: hi + 1, topSize: hiSize };
  let trend: SearchTrend = { failedInRow: 0, flat: false };
  for (;;) {
    const q = nextQualityTry(b, trend, maxBytes);
    if (q === undefined) break;
    const before = b;
    b = await tryQuality(fit, shape, q, maxBytes * 1.25, b);
    trend = afterQualityTry(before, b, trend, maxBytes);
  }
  return b.best!;
}
