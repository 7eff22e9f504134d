/**
 * The shrink step of budget fitting: when the lowest usual quality does not fit at the
 * asked shape, a smaller frame, then a lower rate. {@link shrinkKeeps} says whether the
 * content survives a smaller frame; {@link fillByScale} fills the budget by size at the
 * lowest qualities; {@link shrink} walks sizes and rates down.
 */
import { formatByteSize } from './config';
import { BudgetError } from './errors';
import { fillScale, nextFps, scaled, type FitShape } from './fit-steps';
import { pacedSearch } from './fit-paced';
import { GOOD_ENOUGH, searchQuality } from './fit-quality';
import type { FitSession, FittedAt, Try } from './fit-session';
import { blockSsim, resizeBilinear } from './gif/score';
import type { TryNotes } from './writer';

/**
 * How well the frames survive shrinking to `s` (block SSIM of a few frames scaled down
 * and back up): pixel art, noise and small text do not, and there a full-size sticker at
 * a low quality may look better than a smaller one.
 */
export async function shrinkKeeps(fit: FitSession, s: number): Promise<number> {
  const base = fit.base;
  const f = await fit.framesAt(base);
  const w = Math.max(1, Math.round(base.width * s));
  const h = Math.max(1, Math.round(base.height * s));
  let sum = 0;
  const picks = [0, Math.floor(f.frames.length / 2)].filter(
    (k, i, a) => k < f.frames.length && a.indexOf(k) === i,
  );
  for (const k of picks) {
    const img = f.frames[k]!;
    sum += blockSsim(img, resizeBilinear(resizeBilinear(img, w, h), img.width, img.height));
  }
  return sum / picks.length;
}

/** A try with the notes its writer kept of it, if any. */
export interface NotedTry {
  shape: FitShape;
  r: Try;
  noted: { of?: TryNotes };
}

/**
 * A try at `qMin` that fits at scale `s` but short of `GOOD_ENOUGH` of the budget, with
 * a larger scale known not to fit (`bigger`, its size or estimate): one more try at the
 * scale the two sizes put at the budget (bytes follow a power of the scale), kept when
 * it fits and is larger. At the lowest qualities sizes barely move with quality, so the
 * frame's size is the knob that fills the budget.
 */
export async function fillByScale(
  fit: FitSession,
  fps: number,
  s: number,
  shape: FitShape,
  r: Try,
  bigger: { scale: number; estimate: number } | undefined,
  noted: { of?: TryNotes } = {},
): Promise<NotedTry> {
  const { writer, maxBytes } = fit;
  const kept = { shape, r, noted };
  if (!bigger || r.size >= maxBytes * GOOD_ENOUGH || !(bigger.estimate > maxBytes)) return kept;
  const s2 = fillScale(s, r.size, bigger, maxBytes);
  if (s2 === undefined) return kept;
  const shape2 = scaled(fit.base, s2, fps);
  if (shape2.width <= shape.width && shape2.height <= shape.height) return kept;
  const noted2: { of?: TryNotes } = {};
  const r2 = await fit.attempt(
    fit.qMin,
    shape2,
    maxBytes * 1.25,
    writer,
    writer.paces ? { notes: (n) => (noted2.of = n) } : undefined,
  );
  return fit.fits(r2) && r2.size > r.size ? { shape: shape2, r: r2, noted: noted2 } : kept;
}

/**
 * An output at whole-clip quality `fitted.q` and scale `s` that fits short of `GOOD_ENOUGH`
 * of the budget, with no higher quality left to spend at its size (the top of its
 * bracket): up to two tries at a larger frame at the same quality, the first at the scale
 * where bytes going as the scale to the power `exponent` reach 97.5 % of the budget, the
 * second, when the first was over, where the power law through the two sizes puts it.
 * Each is kept when it fits and is larger. (Measured on the dark and pan corpus requests:
 * a stop at the pacing floor left 82 % and 92 % of the budget unspent.)
 */
export async function growToFill(
  fit: FitSession,
  fitted: FittedAt,
  s: number,
  exponent: number,
): Promise<FittedAt> {
  const { maxBytes, base } = fit;
  let kept = fitted;
  let at = s;
  let bigger: { scale: number; estimate: number } | undefined;
  for (let i = 0; i < 2 && kept.bytes.length < maxBytes * GOOD_ENOUGH; i++) {
    const size = kept.bytes.length;
    const s2 = bigger
      ? fillScale(at, size, bigger, maxBytes)
      : Math.min(1, at * ((maxBytes * 0.975) / size) ** (1 / exponent));
    if (s2 === undefined) break;
    const shape = scaled(base, s2, kept.shape.fps);
    if (shape.width <= kept.shape.width && shape.height <= kept.shape.height) break;
    const r = await fit.attempt(kept.q, shape, maxBytes * 1.25);
    if (!fit.fits(r)) bigger = { scale: s2, estimate: r.estimate };
    else if (r.size > size) {
      kept = { q: kept.q, bytes: r.bytes!, shape };
      at = s2;
    } else break;
  }
  return kept;
}

/**
 * At each rate, the largest scale that fits at quality `qMin` (bytes grow about with
 * pixels and with frames; a stopped try gives a lower bound), then quality raised again
 * at that scale. `floorTry` is the try at `qMin` at the asked shape. Throws `BudgetError`
 * when even the smallest output does not fit.
 */
export async function shrink(
  fit: FitSession,
  floorTry: { size: number; complete: boolean; estimate: number },
): Promise<FittedAt> {
  const { writer, maxBytes, base, qMin, qMax, qFloor, minScale, minFps } = fit;
  let fps = base.fps;
  // Size at scale 1 for the current rate, measured or predicted.
  let full = { size: floorTry.size, complete: floorTry.complete, estimate: floorTry.estimate };
  for (;;) {
    let at = { scale: 1, size: full.size, estimate: full.estimate };
    // Bytes at the smallest size, at this rate: set when the loop below reaches it.
    let smallest: number;
    for (;;) {
      const s = Math.max(
        minScale,
        Math.min(at.scale * 0.95, at.scale * Math.sqrt(maxBytes / at.size) * 0.95),
      );
      const shape = scaled(base, s, fps);
      const noted: { of?: TryNotes } = {};
      const r0 = await fit.attempt(
        qMin,
        shape,
        maxBytes * 4,
        writer,
        writer.paces ? { notes: (n) => (noted.of = n) } : undefined,
      );
      if (fit.fits(r0)) {
        const f = await fillByScale(
          fit,
          fps,
          s,
          shape,
          r0,
          at.scale > s ? { scale: at.scale, estimate: at.estimate } : undefined,
          noted,
        );
        const r = f.r;
        // Quality raised again at this scale: paced from this try's notes when the
        // writer can, else whole-clip tries.
        const paced = f.noted.of
          ? await pacedSearch(fit, f.shape, f.noted.of, { q: qMin, bytes: r.bytes! })
          : undefined;
        const b =
          paced && paced.q > qMin ? paced : await searchQuality(fit, f.shape, qMin, r.bytes!, qMax);
        return { ...b, shape: f.shape };
      }
      const r = r0;
      at = { scale: s, size: r.size, estimate: r.estimate };
      if (s <= minScale) {
        smallest = r.size;
        break;
      }
    }
    if (fps <= minFps) {
      // Last resort at the smallest size and rate: quality below the usual floor.
      const shape = scaled(base, minScale, fps);
      const r = await fit.attempt(qFloor, shape, Infinity);
      if (fit.fits(r)) {
        const b = await searchQuality(fit, shape, qFloor, r.bytes!, qMin - 1);
        return { ...b, shape };
      }
      // Nothing sensible fits: say how many bytes the smallest output needs.
      const seconds = (await fit.framesAt(shape)).delaysMs.reduce((a, d) => a + d, 0) / 1000;
      const smallest = `even ${shape.width}×${shape.height} at ${shape.fps} fps and the lowest quality needs ${r.size} bytes for ${seconds.toFixed(2)} s (${writer.format})`;
      throw new BudgetError(
        `maxStickerBytes ${maxBytes} is too small: ${smallest}; allow at least ${r.size} bytes or shorten the range`,
        r.size,
        `A sticker size limit of ${formatByteSize(maxBytes)} is too small: ${smallest}; allow at least ${formatByteSize(r.size)} or shorten the range`,
      );
    }
    // Lower the rate; skip rates that cannot fit even at the smallest size.
    const next = nextFps(fps, minFps, smallest, maxBytes);
    full = {
      size: (full.size * next) / fps,
      complete: full.complete,
      estimate: (full.estimate * next) / fps,
    };
    fps = next;
  }
}
