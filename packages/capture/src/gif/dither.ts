/**
 * Remap stage: turns RGBA pixels of a rectangle into palette indices.
 * - `none`: nearest colour.
 * - `ordered`: a fixed 8×8 threshold pattern added to luma before the nearest colour.
 *   The same pixel of a still scene gets the same index in every frame, so frames stay
 *   temporally stable (no shimmer) and unchanged areas stay transparent.
 * - `diffusion`: Floyd–Steinberg, serpentine, with `strength` scaling the error and the
 *   error clamped so it never smears across edges. Best on a single still.
 */
import type { Palette } from './color';

export type DitherMode = 'none' | 'ordered' | 'diffusion';

/** An area of a frame: pixels x0 ≤ x < x0+w, y0 ≤ y < y0+h. */
export interface Area {
  x: number;
  y: number;
  width: number;
  height: number;
}

// 8×8 Bayer matrix centred on 0, values in (−0.5, 0.5): bit-reversed interleave of
// (x xor y, y).
const BAYER = (() => {
  const m = new Float64Array(64);
  for (let y = 0; y < 8; y++)
    for (let x = 0; x < 8; x++) {
      const xor = x ^ y;
      let v = 0;
      for (let bit = 0; bit < 3; bit++) {
        v |= ((xor >> bit) & 1) << (5 - 2 * bit);
        v |= ((y >> bit) & 1) << (4 - 2 * bit);
      }
      m[y * 8 + x] = (v + 0.5) / 64 - 0.5;
    }
  return m;
})();

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/**
 * Remaps `area` of `data` (RGBA, `stride` pixels a row) to palette indices in `out`
 * (area-sized, row after row). `strength` is 0..1: the pattern amplitude or the share of
 * the diffused error.
 */
export function remap(
  data: Uint8ClampedArray,
  stride: number,
  area: Area,
  palette: Palette,
  mode: DitherMode,
  strength: number,
  out: Uint8Array,
): void {
  const { x: x0, y: y0, width: w, height: h } = area;
  if (mode === 'none' || strength <= 0) {
    // A pixel in the same 6-bit cell as the one before gets the same entry (`nearest`
    // answers per cell): about half of them in film, each a cache lookup saved.
    let prevKey = -1;
    let prev = 0;
    for (let y = 0; y < h; y++) {
      let o = ((y0 + y) * stride + x0) * 4;
      const end = (y + 1) * w;
      for (let at = y * w; at < end; at++, o += 4) {
        const r = data[o];
        const g = data[o + 1];
        const b = data[o + 2];
        const key = ((r >> 2) << 12) | ((g >> 2) << 6) | (b >> 2);
        if (key !== prevKey) {
          // The pixel before's entry is a good start for the search (same answer).
          prev = palette.nearest(r, g, b, prev);
          prevKey = key;
        }
        out[at] = prev;
      }
    }
    return;
  }
  if (mode === 'ordered') {
    // Amplitude: about one step between neighbouring palette colours.
    const amp = (strength * 48) / Math.sqrt(Math.max(2, palette.size) / 4);
    for (let y = 0; y < h; y++) {
      const gy = y0 + y;
      let o = (gy * stride + x0) * 4;
      for (let x = 0; x < w; x++, o += 4) {
        const gx = x0 + x;
        const t = BAYER[(gy & 7) * 8 + (gx & 7)] * amp;
        out[y * w + x] = palette.nearest(
          clamp8(data[o] + t),
          clamp8(data[o + 1] + t),
          clamp8(data[o + 2] + t),
        );
      }
    }
    return;
  }
  // Floyd–Steinberg over two rows of error (R,G,B per pixel, with a pixel of margin).
  const rowLen = (w + 2) * 3;
  let cur = new Float64Array(rowLen);
  let next = new Float64Array(rowLen);
  const limit = 48;
  const rgb = palette.rgb;
  for (let y = 0; y < h; y++) {
    const ltr = (y & 1) === 0;
    next.fill(0);
    for (let i = 0; i < w; i++) {
      const x = ltr ? i : w - 1 - i;
      const o = ((y0 + y) * stride + x0 + x) * 4;
      const e = (x + 1) * 3;
      const r = data[o] + clampErr(cur[e], limit);
      const g = data[o + 1] + clampErr(cur[e + 1], limit);
      const b = data[o + 2] + clampErr(cur[e + 2], limit);
      const p = palette.nearest(clamp8(r), clamp8(g), clamp8(b));
      out[y * w + x] = p;
      const er = (r - rgb[p * 3]) * strength;
      const eg = (g - rgb[p * 3 + 1]) * strength;
      const eb = (b - rgb[p * 3 + 2]) * strength;
      const dir = ltr ? 3 : -3;
      spread(cur, e + dir, er, eg, eb, 7 / 16);
      spread(next, e - dir, er, eg, eb, 3 / 16);
      spread(next, e, er, eg, eb, 5 / 16);
      spread(next, e + dir, er, eg, eb, 1 / 16);
    }
    const t = cur;
    cur = next;
    next = t;
  }
}

function clampErr(v: number, lim: number): number {
  return v < -lim ? -lim : v > lim ? lim : v;
}

function spread(buf: Float64Array, at: number, r: number, g: number, b: number, f: number): void {
  buf[at] += r * f;
  buf[at + 1] += g * f;
  buf[at + 2] += b * f;
}
