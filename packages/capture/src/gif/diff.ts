/**
 * Frame-differencing stage. The decoder's screen (`canvas`) keeps what earlier frames
 * drew (disposal "do not dispose"). A pixel of the next frame may stay as it is ("keep")
 * when the source barely changed since the canvas pixel was drawn, or when the canvas
 * already shows the new colour closely enough. Kept pixels can be written transparent;
 * the frame is cropped to the rectangle holding every pixel that must change.
 */
import type { Palette } from './color';
import { colorDistance } from './color';
import type { Area } from './dither';

/** What the decoder shows, and the source colours each shown pixel was drawn from. */
export class Canvas {
  readonly width: number;
  readonly height: number;
  /** Displayed R,G,B per pixel. */
  readonly shown: Uint8Array;
  /** Source R,G,B the displayed pixel was encoded from. */
  readonly source: Uint8Array;

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.shown = new Uint8Array(width * height * 3);
    this.source = new Uint8Array(width * height * 3);
  }

  /**
   * Records what a frame drew: `chosen` indices over `area` (transparent ones leave the
   * canvas as it was); `data` is the frame's RGBA source.
   */
  draw(
    area: Area,
    chosen: Uint8Array,
    transparent: number,
    palette: Palette,
    data: Uint8ClampedArray,
  ): void {
    const rgb = palette.rgb;
    const shown = this.shown;
    const source = this.source;
    let i = 0;
    for (let y = 0; y < area.height; y++) {
      let p = (area.y + y) * this.width + area.x;
      for (let x = 0; x < area.width; x++, i++, p++) {
        const c = chosen[i];
        if (c === transparent) continue;
        shown[p * 3] = rgb[c * 3];
        shown[p * 3 + 1] = rgb[c * 3 + 1];
        shown[p * 3 + 2] = rgb[c * 3 + 2];
        source[p * 3] = data[p * 4];
        source[p * 3 + 1] = data[p * 4 + 1];
        source[p * 3 + 2] = data[p * 4 + 2];
      }
    }
  }
}

/** Bins of `diffFrame`'s change histogram: squared distances 0, 1, … `CHANGE_BINS` − 1, and the rest. */
export const CHANGE_BINS = 64;

/**
 * Marks in `keep` (one byte a pixel, whole frame) the pixels that may stay as they are,
 * with `threshold` the largest perceptual distance (8-bit units) tolerated. Returns the
 * rectangle of pixels that must change, or null when none must (a duplicate frame).
 * With `changes` (`CHANGE_BINS` + 1 counters, added to), every pixel that differs at all
 * is counted under its squared distance (rounded down; the last bin takes the rest), so
 * the pixels a larger threshold would keep can be counted without differencing again.
 */
export function diffFrame(
  canvas: Canvas,
  data: Uint8ClampedArray,
  threshold: number,
  keep: Uint8Array,
  chromaWeight: number,
  changes?: Uint32Array,
): Area | null {
  const { width: w, height: h, shown, source } = canvas;
  const t2 = threshold * threshold;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  let p = 0;
  for (let y = 0; y < h; y++) {
    // First and last pixel of the row that must change.
    let first = -1;
    let last = -1;
    for (let x = 0; x < w; x++, p++) {
      const o = p * 4;
      const s = p * 3;
      const r = data[o];
      const g = data[o + 1];
      const b = data[o + 2];
      const sr = source[s];
      const sg = source[s + 1];
      const sb = source[s + 2];
      let k = sr === r && sg === g && sb === b;
      if (!k && changes) {
        const d = Math.min(
          colorDistance(sr, sg, sb, r, g, b, chromaWeight),
          colorDistance(shown[s], shown[s + 1], shown[s + 2], r, g, b, chromaWeight),
        );
        changes[d < CHANGE_BINS ? Math.floor(d) : CHANGE_BINS]++;
        k = t2 > 0 && d <= t2;
      } else if (!k && t2 > 0) {
        k =
          colorDistance(sr, sg, sb, r, g, b, chromaWeight) <= t2 ||
          colorDistance(shown[s], shown[s + 1], shown[s + 2], r, g, b, chromaWeight) <= t2;
      }
      if (k) keep[p] = 1;
      else {
        keep[p] = 0;
        if (first < 0) first = x;
        last = x;
      }
    }
    if (last >= 0) {
      if (first < x0) x0 = first;
      if (last > x1) x1 = last;
      if (y0 === h) y0 = y;
      y1 = y;
    }
  }
  if (x1 < 0) return null;
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}
