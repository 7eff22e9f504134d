/**
 * Palette stage: builds an N-colour palette for a set of frames. A weighted colour
 * histogram (5 bits a channel, with exact means per cell) is split by variance cuts in the
 * perceptual space (each cut at the point that removes the most squared error), then
 * refined by k-means (Lloyd) iterations. Deterministic: same pixels, same palette.
 */
import type { RgbaImage } from '../types';
import { CHROMA_WEIGHT, NearestSearch, Palette, toPerceptual } from './color';

/** Colour histogram: one cell per 15-bit colour with its weight and RGB sums. */
export class Histogram {
  /** Adds the pixels of `area` of `img` whose `keep` flag (whole-frame mask) is 0. */
  addArea(img: RgbaImage, area: { x: number; y: number; width: number; height: number }, keep: Uint8Array): void {
    const d = img.data;
    for (let y = area.y; y < area.y + area.height; y++) {
      for (let x = area.x; x < area.x + area.width; x++) {
        const i = y * img.width + x;
        if (keep[i]) continue;
        const o = i * 4;
        const k = ((d[o] >> 3) << 10) | ((d[o + 1] >> 3) << 5) | (d[o + 2] >> 3);
        this.weight[k] += 1;
        this.sum[k * 3] += d[o];
        this.sum[k * 3 + 1] += d[o + 1];
        this.sum[k * 3 + 2] += d[o + 2];
      }
    }
  }

  readonly weight = new Float64Array(1 << 15);
  readonly sum = new Float64Array((1 << 15) * 3);

  /**
   * Adds every `step`-th pixel of `img` (all of them by default) with `weight`, optionally
   * only where `mask` is non-zero.
   */
  add(img: RgbaImage, weight = 1, step = 1, mask?: Uint8Array): void {
    const d = img.data;
    const n = img.width * img.height;
    for (let i = 0; i < n; i += step) {
      if (mask && !mask[i]) continue;
      const o = i * 4;
      const r = d[o];
      const g = d[o + 1];
      const b = d[o + 2];
      const k = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
      this.weight[k] += weight;
      this.sum[k * 3] += r * weight;
      this.sum[k * 3 + 1] += g * weight;
      this.sum[k * 3 + 2] += b * weight;
    }
  }
}

interface Cells {
  n: number;
  w: Float64Array;
  /** mean RGB */
  rgb: Float64Array;
  /** perceptual coordinates */
  pc: Float64Array;
}

function cellsOf(h: Histogram, chromaWeight: number): Cells {
  let n = 0;
  for (let k = 0; k < h.weight.length; k++) if (h.weight[k] > 0) n++;
  const w = new Float64Array(n);
  const rgb = new Float64Array(n * 3);
  const pc = new Float64Array(n * 3);
  let j = 0;
  for (let k = 0; k < h.weight.length; k++) {
    const wk = h.weight[k];
    if (!(wk > 0)) continue;
    w[j] = wk;
    rgb[j * 3] = h.sum[k * 3] / wk;
    rgb[j * 3 + 1] = h.sum[k * 3 + 1] / wk;
    rgb[j * 3 + 2] = h.sum[k * 3 + 2] / wk;
    toPerceptual(rgb[j * 3], rgb[j * 3 + 1], rgb[j * 3 + 2], pc, j * 3, chromaWeight);
    j++;
  }
  return { n, w, rgb, pc };
}

interface Box {
  idx: Int32Array;
  sse: number;
}

function boxSse(c: Cells, idx: Int32Array): number {
  let w = 0;
  const s = [0, 0, 0];
  let q = 0;
  for (let t = 0; t < idx.length; t++) {
    const i = idx[t];
    const wi = c.w[i];
    w += wi;
    for (let a = 0; a < 3; a++) {
      const v = c.pc[i * 3 + a];
      s[a] += wi * v;
      q += wi * v * v;
    }
  }
  if (w <= 0) return 0;
  return q - (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]) / w;
}

/** Splits a box along the axis and position that remove the most squared error. */
function splitBox(c: Cells, box: Box): [Box, Box] | null {
  const idx = box.idx;
  if (idx.length < 2) return null;
  let best: { gain: number; axis: number; at: number; order: Int32Array } | null = null;
  // Cut along the axis with the largest weighted variance.
  let axis = 0;
  {
    let w = 0;
    const m = [0, 0, 0];
    const q = [0, 0, 0];
    for (let t = 0; t < idx.length; t++) {
      const i = idx[t];
      w += c.w[i];
      for (let a = 0; a < 3; a++) {
        const v = c.pc[i * 3 + a];
        m[a] += c.w[i] * v;
        q[a] += c.w[i] * v * v;
      }
    }
    let bv = -1;
    for (let a = 0; a < 3; a++) {
      const v = q[a] - (m[a] * m[a]) / w;
      if (v > bv) {
        bv = v;
        axis = a;
      }
    }
  }
  {
    // Sort by the axis through packed numeric keys (coordinate in 1/64 steps, then the
    // cell number): a native numeric sort, far faster than a comparator, same order.
    const keys = new Float64Array(idx.length);
    for (let t = 0; t < idx.length; t++) {
      const i = idx[t];
      keys[t] = Math.round((c.pc[i * 3 + axis] + 512) * 64) * 32768 + i;
    }
    keys.sort();
    const order = new Int32Array(idx.length);
    for (let t = 0; t < idx.length; t++) order[t] = keys[t] % 32768;
    // Prefix sums of weight and of weighted coordinates over all three axes.
    let wl = 0;
    const sl = [0, 0, 0];
    let wt = 0;
    const st = [0, 0, 0];
    for (let t = 0; t < order.length; t++) {
      const i = order[t];
      wt += c.w[i];
      for (let a = 0; a < 3; a++) st[a] += c.w[i] * c.pc[i * 3 + a];
    }
    for (let t = 0; t < order.length - 1; t++) {
      const i = order[t];
      wl += c.w[i];
      for (let a = 0; a < 3; a++) sl[a] += c.w[i] * c.pc[i * 3 + a];
      const wr = wt - wl;
      if (wr <= 0) break;
      // SSE removed by the split = |sl|²/wl + |sr|²/wr − |st|²/wt.
      let gain = -(st[0] * st[0] + st[1] * st[1] + st[2] * st[2]) / wt;
      gain += (sl[0] * sl[0] + sl[1] * sl[1] + sl[2] * sl[2]) / wl;
      const r0 = st[0] - sl[0];
      const r1 = st[1] - sl[1];
      const r2 = st[2] - sl[2];
      gain += (r0 * r0 + r1 * r1 + r2 * r2) / wr;
      if (!best || gain > best.gain) best = { gain, axis, at: t + 1, order };
    }
  }
  if (!best) return null;
  const a = best.order.slice(0, best.at);
  const b = best.order.slice(best.at);
  return [
    { idx: a, sse: boxSse(c, a) },
    { idx: b, sse: boxSse(c, b) },
  ];
}

/** Options of palette building. */
export interface PaletteOptions {
  /** Number of colours wanted, 2–256. */
  colors: number;
  /** k-means refinement passes (default 6). */
  kmeansIterations?: number;
  /** Chroma weight of the perceptual space (default `CHROMA_WEIGHT`). */
  chromaWeight?: number;
}

/** Builds a palette of at most `colors` entries for the colours in `hist`. */
export function buildPalette(hist: Histogram, opts: PaletteOptions): Palette {
  const cw = opts.chromaWeight ?? CHROMA_WEIGHT;
  const c = cellsOf(hist, cw);
  const want = Math.max(1, Math.min(256, Math.floor(opts.colors)));
  if (c.n === 0) return new Palette(new Uint8Array(3), cw);
  const all = new Int32Array(c.n);
  for (let i = 0; i < c.n; i++) all[i] = i;
  const boxes: Box[] = [{ idx: all, sse: boxSse(c, all) }];
  while (boxes.length < want) {
    let bi = -1;
    for (let i = 0; i < boxes.length; i++) if (boxes[i].idx.length > 1 && (bi < 0 || boxes[i].sse > boxes[bi].sse)) bi = i;
    if (bi < 0 || boxes[bi].sse <= 0) break;
    const parts = splitBox(c, boxes[bi]);
    if (!parts) break;
    boxes.splice(bi, 1, parts[0], parts[1]);
  }
  // Centroids in RGB (weighted means of the cells).
  const k = boxes.length;
  const cent = new Float64Array(k * 3);
  for (let b = 0; b < k; b++) {
    let w = 0;
    for (const i of boxes[b].idx) {
      w += c.w[i];
      for (let a = 0; a < 3; a++) cent[b * 3 + a] += c.w[i] * c.rgb[i * 3 + a];
    }
    for (let a = 0; a < 3; a++) cent[b * 3 + a] /= w;
  }
  kmeans(c, cent, k, opts.kmeansIterations ?? 6, cw);
  const rgb = new Uint8Array(k * 3);
  for (let i = 0; i < k * 3; i++) rgb[i] = Math.max(0, Math.min(255, Math.round(cent[i])));
  return new Palette(rgb, cw);
}

/** Lloyd iterations over the histogram cells, in the perceptual space. */
function kmeans(c: Cells, cent: Float64Array, k: number, iterations: number, chromaWeight: number): void {
  const cpc = new Float64Array(k * 3);
  const acc = new Float64Array(k * 4);
  for (let it = 0; it < iterations; it++) {
    for (let j = 0; j < k; j++) toPerceptual(cent[j * 3], cent[j * 3 + 1], cent[j * 3 + 2], cpc, j * 3, chromaWeight);
    acc.fill(0);
    const search = new NearestSearch(cpc, k);
    for (let i = 0; i < c.n; i++) {
      const best = search.nearest(c.pc[i * 3], c.pc[i * 3 + 1], c.pc[i * 3 + 2]);
      const w = c.w[i];
      acc[best * 4] += w;
      acc[best * 4 + 1] += w * c.rgb[i * 3];
      acc[best * 4 + 2] += w * c.rgb[i * 3 + 1];
      acc[best * 4 + 3] += w * c.rgb[i * 3 + 2];
    }
    for (let j = 0; j < k; j++) {
      const w = acc[j * 4];
      if (w > 0) for (let a = 0; a < 3; a++) cent[j * 3 + a] = acc[j * 4 + 1 + a] / w;
    }
  }
}
