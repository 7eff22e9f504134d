/**
 * Shrinking ahead: below what pacing reaches at full size, on content that shrinks well
 * (film, fractals, cartoons), budget fitting goes straight to the frame size at which a
 * paced try lands near the budget, as forecast from the first try's notes, instead of
 * exploring the lowest qualities at full size first.
 */
import { recalibrate, scaleFor, scaled } from './fit-steps';
import { pacedSearch } from './fit-paced';
import { GOOD_ENOUGH, searchQuality } from './fit-quality';
import type { FitSession, FittedAt } from './fit-session';
import { fillByScale, growToFill, shrinkKeeps } from './fit-shrink';
import type { TryNotes } from './writer';

/** A paced writer's bytes go about as the scale to this power when the frame shrinks (a first guess; tries recalibrate it). */
const SCALE_EXPONENT = 1.8;
/** Quality steps above the pacing floor a shrunk frame aims at. */
const PACED_AIM = 5;
/** Block SSIM a few frames must keep when scaled down and back up for fitting to shrink straight away. */
export const SHRINKS_WELL = 0.95;
/** Paced tries at smaller sizes before fitting falls back to exploring qualities. */
const SHRINK_TRIES = 4;

/**
 * Paced tries at a smaller frame: the scale where `notes` (of a try at the asked shape)
 * forecast quality `PACED_AIM` above the pacing floor `paceFloor` to fit, then, while a try
 * misses, the scale its own notes forecast (the exponent recalibrated from the two sizes).
 * Undefined when the content does not shrink well or the scale would go below the
 * smallest size.
 */
export async function shrinkAhead(
  fit: FitSession,
  notes: TryNotes,
  paceFloor: number,
): Promise<FittedAt | undefined> {
  const { writer, maxBytes, base, qMin, qMax, minScale } = fit;
  const qAim = Math.min(qMax, paceFloor + PACED_AIM);
  let s = Math.min(0.97, scaleFor(notes, 1, qAim, maxBytes * 0.9, SCALE_EXPONENT));
  if (s < minScale) return undefined;
  if ((await shrinkKeeps(fit, s)) < SHRINKS_WELL) return undefined;
  let exponent = SCALE_EXPONENT;
  let prev = { s: 1, bytes: notes.bytesAt(qAim) };
  // Paced tries while the forecast holds; once pacing cannot reach the budget at a size,
  // whole-clip tries at `qMin` (below the pacing floor a shared palette saves each
  // frame's table, which small frames feel most).
  let paced = true;
  let floorPrev: { s: number; size: number } | undefined;
  for (let i = 0; i < SHRINK_TRIES; i++) {
    const shape = scaled(base, s, base.fps);
    if (!paced) {
      const r = await fit.attempt(qMin, shape, maxBytes * 4);
      if (fit.fits(r)) {
        const f = await fillByScale(
          fit,
          base.fps,
          s,
          shape,
          r,
          floorPrev && floorPrev.s > s
            ? { scale: floorPrev.s, estimate: floorPrev.size }
            : undefined,
        );
        const b = await searchQuality(fit, f.shape, qMin, f.r.bytes!, paceFloor);
        // At the top of the bracket and short of the budget: a larger frame fills it.
        if (b.q < paceFloor) return { ...b, shape: f.shape };
        return growToFill(fit, { ...b, shape: f.shape }, f.shape.width / base.width, exponent);
      }
      if (floorPrev && floorPrev.s !== s)
        exponent = recalibrate(
          { s: floorPrev.s, bytes: floorPrev.size },
          { s, bytes: r.estimate },
          exponent,
        );
      floorPrev = { s, size: r.estimate };
      const smaller = Math.min(s * 0.97, s * ((maxBytes * 0.95) / r.estimate) ** (1 / exponent));
      if (smaller < minScale) return undefined;
      s = smaller;
      continue;
    }
    const next: { of?: TryNotes } = {};
    const r = await fit.attempt(qMax, shape, maxBytes, writer, {
      pace: 'ahead',
      notes: (n) => (next.of = n),
    });
    const n = next.of;
    if (!n || n.frames === 0) return undefined;
    if (fit.fits(r)) {
      const q = fit.qualityOf(n);
      if (r.size >= maxBytes * GOOD_ENOUGH || q >= qMax) {
        if (r.size >= maxBytes * GOOD_ENOUGH) return { q, bytes: r.bytes!, shape };
        // Everything at the asked quality and still short: a larger frame fits.
        const grown = Math.min(1, s * ((maxBytes * 0.95) / r.size) ** (1 / exponent));
        if (grown <= s * 1.02) return { q, bytes: r.bytes!, shape };
        prev = { s, bytes: r.size };
        s = grown;
        continue;
      }
      const b = await pacedSearch(fit, shape, n, { q, bytes: r.bytes! });
      return b && { ...b, shape };
    }
    if (n.qualityFor(maxBytes * GOOD_ENOUGH) >= paceFloor) {
      const b = await pacedSearch(fit, shape, n);
      if (b) return { ...b, shape };
      paced = false;
      continue;
    }
    // Still too big: recalibrate how bytes follow scale, and shrink again.
    const here = n.bytesAt(qAim);
    if (prev.s !== s && here > 0 && prev.bytes > 0)
      exponent = recalibrate(prev, { s, bytes: here }, exponent);
    prev = { s, bytes: here };
    const smaller = Math.min(s * 0.95, scaleFor(n, s, qAim, maxBytes * 0.9, exponent));
    if (smaller < minScale) return undefined;
    s = smaller;
  }
  return undefined;
}
