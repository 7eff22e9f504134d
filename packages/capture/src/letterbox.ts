/**
 * Square `contain` stickers: any writer's output placed on a transparent square. Budget
 * fitting works on the picture alone (its frames, its size, its rate); this writer puts
 * the picture on the square as it writes, so every try it measures is the real file.
 * GIF is letterboxed in its container (see `gif/letterbox.ts`: bars cost almost nothing);
 * other formats get frames with transparent bars (WebP keeps them as alpha).
 */
import type { StickerGeometry } from './frame-size';
import { letterboxAllowance, letterboxGif } from './gif/letterbox';
import type { RgbaImage } from './types';
import { OverBudgetError, type StickerEncodeOptions, type StickerWriter } from './writer';

/** `frame` on a transparent `g.canvasWidth`×`g.canvasHeight` image at (`g.x`, `g.y`). */
export function padFrame(
  frame: RgbaImage,
  g: Pick<StickerGeometry, 'canvasWidth' | 'canvasHeight' | 'x' | 'y'>,
): RgbaImage {
  const W = g.canvasWidth,
    H = g.canvasHeight;
  const data = new Uint8ClampedArray(W * H * 4); // all 0: transparent
  const row = frame.width * 4;
  for (let r = 0; r < frame.height; r++) {
    data.set(frame.data.subarray(r * row, r * row + row), ((r + g.y) * W + g.x) * 4);
  }
  return { width: W, height: H, data };
}

/**
 * `writer` writing onto the square of `g`; `writer` itself when the picture fills the
 * canvas. Its output never exceeds a try's `maxBytes` (the bars' bytes are counted).
 */
export function letterboxWriter<W extends StickerWriter>(
  writer: W,
  g: StickerGeometry,
): StickerWriter {
  if (g.canvasWidth === g.width && g.canvasHeight === g.height) return writer;
  const gif = writer.format === 'gif';
  const reserve = gif ? letterboxAllowance(g.width, g.height, g.canvasWidth, g.canvasHeight) : 0;
  // The same frames come back for every try at a shape: pad them once.
  let padded: { of: readonly RgbaImage[]; frames: RgbaImage[] } | undefined;
  const framesFor = (frames: readonly RgbaImage[]): RgbaImage[] => {
    if (padded?.of !== frames || padded.frames.length !== frames.length)
      padded = { of: frames, frames: frames.map((f) => padFrame(f, g)) };
    return padded.frames;
  };
  const less = (n: number | undefined): number | undefined =>
    n === undefined ? undefined : Math.max(1, n - reserve);
  const out: StickerWriter & { describe?(q: number): object } = {
    format: writer.format,
    mime: writer.mime,
    maxFps: writer.maxFps,
    sequential: gif ? writer.sequential : undefined,
    paces: gif ? writer.paces : undefined,
    async encode(frames, delaysMs, options: StickerEncodeOptions): Promise<Uint8Array> {
      if (!gif) return writer.encode(framesFor(frames), delaysMs, options);
      let inner: Uint8Array;
      try {
        inner = await writer.encode(frames, delaysMs, {
          ...options,
          maxBytes: less(options.maxBytes),
          targetBytes: less(options.targetBytes),
        });
      } catch (e) {
        if (e instanceof OverBudgetError && options.maxBytes !== undefined) {
          throw new OverBudgetError(
            e.written + reserve,
            options.maxBytes,
            e.estimate === undefined ? undefined : e.estimate + reserve,
          );
        }
        throw e;
      }
      const bytes = letterboxGif(inner, g.canvasWidth, g.canvasHeight, g.x, g.y);
      if (options.maxBytes !== undefined && bytes.length > options.maxBytes)
        throw new OverBudgetError(bytes.length, options.maxBytes);
      return bytes;
    },
  };
  const describe = (writer as { describe?: (q: number) => object }).describe;
  if (describe) out.describe = (q) => describe.call(writer, q);
  return out;
}
