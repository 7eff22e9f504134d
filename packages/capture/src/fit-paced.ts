/**
 * Paced tries of budget fitting: a writer that paces (`StickerWriter.paces`, the GIF
 * writer) chooses each frame's quality itself, guided by the notes of the try before, so
 * that the whole lands just under the budget, usually in one try.
 */
import type { FitShape } from './fit-steps';
import { GOOD_ENOUGH, searchQuality } from './fit-quality';
import type { FitSession, Fitted } from './fit-session';
import type { TryNotes } from './writer';

/** Paced tries made before fitting falls back to searching by whole-clip tries. */
const PACED_TRIES = 2;

/**
 * Paced tries at `shape` (up to `PACED_TRIES`), each guided by the notes of the one
 * before, starting from `notes`, while the notes forecast a quality the writer can pace
 * down to. `fitted` is a fitting output of these frames already made, if any. Returns the
 * best fitting output: one within `GOOD_ENOUGH` of the budget, or, when the paced tries
 * fall short, what whole-clip tries above their mean quality find; undefined when pacing
 * cannot reach the budget (fitting goes on without it).
 */
export async function pacedSearch(
  fit: FitSession,
  shape: FitShape,
  notes: TryNotes,
  fitted?: Fitted,
  topSize?: number,
): Promise<Fitted | undefined> {
  const { writer, maxBytes, qMax } = fit;
  if (!writer.paces) return fitted;
  let best = fitted;
  for (let i = 0; i < PACED_TRIES && notes.frames > 0; i++) {
    if (best && best.bytes.length >= maxBytes * GOOD_ENOUGH) break;
    if (notes.qualityFor(maxBytes * GOOD_ENOUGH) < writer.paces.minQuality) break;
    const next: { of?: TryNotes } = {};
    const r = await fit.attempt(qMax, shape, maxBytes, writer, {
      pace: notes,
      notes: (n) => (next.of = n),
    });
    if (!fit.fits(r) || !next.of) break;
    const q = fit.qualityOf(next.of);
    if (!best || r.size > best.bytes.length) best = { q, bytes: r.bytes! };
    notes = next.of;
  }
  if (best && best.bytes.length < maxBytes * GOOD_ENOUGH && best.q < qMax) {
    // Short of the budget: whole-clip tries above what the paced one averaged.
    return searchQuality(fit, shape, best.q, best.bytes, qMax - 1, topSize);
  }
  return best;
}
