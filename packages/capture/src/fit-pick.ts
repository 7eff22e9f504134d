/**
 * The end of budget fitting: which of two fitting outputs to keep, and what the kept one
 * changed from the request.
 */
import type { Adaptations } from './fit';
import type { FitShape } from './fit-steps';
import type { FitSession, Fitted, FittedAt } from './fit-session';

/**
 * The better of a full-size output at a low quality and a smaller frame's (either may be
 * missing, not both): by the writer's own score against the asked shape's frames when it
 * scores, else the smaller frame. Pixel art and noise can look better at full size.
 */
export async function pickBetter(
  fit: FitSession,
  fullSize: Fitted | undefined,
  smaller: FittedAt | undefined,
): Promise<FittedAt> {
  const writer = fit.writer;
  if (fullSize && smaller && writer.score) {
    const ref = await fit.framesAt(fit.base);
    const a = writer.score(fullSize.bytes, ref.frames, ref.delaysMs);
    const b = writer.score(smaller.bytes, ref.frames, ref.delaysMs);
    if (a >= b) smaller = undefined;
  }
  return smaller ?? { ...fullSize!, shape: fit.base };
}

/**
 * What an output at quality `q` and `shape` changed from the asked quality `qMax` and
 * shape `base`: quality, the writer's knobs it moved (by `writer.describe`, rounded to a
 * tenth), width, height and rate.
 */
export function adaptations(
  writer: { describe?(quality: number): object },
  qMax: number,
  q: number,
  base: FitShape,
  shape: FitShape,
): Adaptations {
  const adapted: Adaptations = {};
  if (q !== qMax) {
    adapted.quality = { from: qMax, to: q };
    const a = writer.describe?.(qMax) as Record<string, unknown> | undefined;
    const b = writer.describe?.(q) as Record<string, unknown> | undefined;
    if (a && b) {
      for (const k of ['colors', 'dither', 'lossy'] as const) {
        if (a[k] !== undefined && a[k] !== b[k]) {
          const from = typeof a[k] === 'number' ? Math.round(a[k] * 10) / 10 : a[k];
          const to = typeof b[k] === 'number' ? Math.round(b[k] * 10) / 10 : b[k];
          (adapted as Record<string, unknown>)[k] = { from, to };
        }
      }
    }
  }
  if (shape.width !== base.width) adapted.width = { from: base.width, to: shape.width };
  if (shape.height !== base.height) adapted.height = { from: base.height, to: shape.height };
  if (shape.fps !== base.fps) adapted.fps = { from: base.fps, to: shape.fps };
  return adapted;
}
