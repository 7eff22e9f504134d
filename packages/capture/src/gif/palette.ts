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
  addArea(
    img: RgbaImage,
    area: { x: number; y: number; width: number; height: number },
    keep: Uint8Array,
  ): void {
    const d = img.data;
    const weight = this.weight;
    const sum = this.sum;
    for (let y = area.y; y < area.y + area.height; y++) {
      const end = y * img.width + area.x + area.width;
      for (let i = y * img.width + area.x; i < end; i++) {
        if (keep[i]) continue;
        const o = i * 4;
        const r = d[o];
        const g = d[o + 1];
        const b = d[o + 2];
        const k = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
        weight[k] += 1;
        sum[k * 3] += r;
        sum[k * 3 + 1] += g;
        sum[k * 3 + 2] += b;
      }
    }
  }

  readonly weight = new Float64Array(1 << 15);
  readonly sum = new Float64Array((1 << 15) * 3);

  /** Empties the histogram (cheaper than a new one: 1 MB less garbage a frame). */
  clear(): void {
    this.weight.fill(0);
    this.sum.fill(0);
  }

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
  /** 15-bit colour of each cell. */
  key: Int32Array;
  w: Float64Array;
  /** mean RGB */
  rgb: Float64Array;
  /** perceptual coordinates */
  pc: Float64Array;
}

function countCells(weight: Float64Array): number {
  let n = 0;
  for (let k = 0; k < weight.length; k++) if (weight[k] > 0) n++;
  return n;
}

// Counting and filling are separate functions: as one, V8 optimised the first loop on
// stack replacement and then threw the code away on reaching the second (no type
// feedback yet), once per palette.
function cellsOf(h: Histogram, chromaWeight: number): Cells {
  const n = countCells(h.weight);
  const w = new Float64Array(n);
  const rgb = new Float64Array(n * 3);
  const pc = new Float64Array(n * 3);
  const key = new Int32Array(n);
  fillCells(h.weight, h.sum, w, rgb, pc, key, chromaWeight);
  return { n, key, w, rgb, pc };
}

function fillCells(
  weight: Float64Array,
  sum: Float64Array,
  w: Float64Array,
  rgb: Float64Array,
  pc: Float64Array,
  key: Int32Array,
  chromaWeight: number,
): void {
  let j = 0;
  for (let k = 0; k < weight.length; k++) {
    const wk = weight[k];
    if (!(wk > 0)) continue;
    key[j] = k;
    w[j] = wk;
    rgb[j * 3] = sum[k * 3] / wk;
    rgb[j * 3 + 1] = sum[k * 3 + 1] / wk;
    rgb[j * 3 + 2] = sum[k * 3 + 2] / wk;
    toPerceptual(rgb[j * 3], rgb[j * 3 + 1], rgb[j * 3 + 2], pc, j * 3, chromaWeight);
    j++;
  }
}

interface Box {
  /**
   * The box's cells are `cells[start, start + n)`, in the order its sums run: the
   * parent's cut-axis order (its range of that axis's array, which stays as it is until
   * this box is cut), or cell order for the first box.
   */
  cells: Int32Array;
  n: number;
  sse: number;
  /** Where the box's cells lie in each of `Sorted`'s per-axis orders. */
  start: number;
  /** Axis of largest weighted variance: the one the box would be cut along. */
  axis: number;
}

/**
 * The cells in the order of each axis (coordinate in 1/64 steps, then cell number: the
 * order `splitBox` cuts in). Every box owns the same range [start, start + length) of all
 * three arrays and holds its own cells there, each array in its axis order: a cut along
 * one axis splits that range in two as it is, and a stable partition keeps the other two
 * sorted, so no box is ever sorted again.
 */
interface Sorted {
  axes: [Int32Array, Int32Array, Int32Array];
  /** Scratch: which side of a cut each cell went to. */
  side: Uint8Array;
  /** Scratch for the partition. */
  tmp: Int32Array;
}

/** Sort keys of `sortedCells`, grown as needed (one palette build at a time). */
let scratchKeys = new Float64Array(1 << 12);
/** Quantised coordinates of `radixOrder`, grown as needed. */
let scratchQ = new Int32Array(1 << 12);
const radixCount = new Int32Array(257);

function sortedCells(c: Cells): Sorted {
  const n = c.n;
  const pc = c.pc;
  const tmp = new Int32Array(n);
  const axes: Int32Array[] = [];
  for (let axis = 0; axis < 3; axis++) {
    const order = new Int32Array(n);
    if (!radixOrder(pc, n, axis, order, tmp)) keySortOrder(pc, n, axis, order);
    axes.push(order);
  }
  return { axes: axes as Sorted['axes'], side: new Uint8Array(n), tmp };
}

/**
 * The cells in order of their coordinate on `axis` in 1/64 steps, then of cell number,
 * into `order`: a two-pass (8 + 8 bit) radix sort of the quantised coordinates, stable,
 * from cell order. False (nothing sorted) when a coordinate is outside the 16 bits.
 */
function radixOrder(
  pc: Float64Array,
  n: number,
  axis: number,
  order: Int32Array,
  tmp: Int32Array,
): boolean {
  if (scratchQ.length < n) scratchQ = new Int32Array(Math.max(n, scratchQ.length * 2));
  const q = scratchQ;
  for (let i = 0; i < n; i++) {
    const v = Math.round((pc[i * 3 + axis] + 512) * 64);
    if (!(v >= 0 && v < 65536)) return false;
    q[i] = v;
  }
  const count = radixCount;
  count.fill(0);
  for (let i = 0; i < n; i++) count[(q[i] & 255) + 1]++;
  for (let b = 1; b <= 256; b++) count[b] += count[b - 1];
  for (let i = 0; i < n; i++) tmp[count[q[i] & 255]++] = i;
  count.fill(0);
  for (let i = 0; i < n; i++) count[(q[i] >> 8) + 1]++;
  for (let b = 1; b <= 256; b++) count[b] += count[b - 1];
  for (let t = 0; t < n; t++) {
    const i = tmp[t];
    order[count[q[i] >> 8]++] = i;
  }
  return true;
}

/** `radixOrder` for any coordinates: packed numeric keys (coordinate step, then cell number) and a native sort. */
function keySortOrder(pc: Float64Array, n: number, axis: number, order: Int32Array): void {
  if (scratchKeys.length < n) scratchKeys = new Float64Array(Math.max(n, scratchKeys.length * 2));
  const keys = scratchKeys.subarray(0, n);
  for (let i = 0; i < n; i++) keys[i] = Math.round((pc[i * 3 + axis] + 512) * 64) * 32768 + i;
  keys.sort();
  // The cell number is the key's low 15 bits: an integer mask, not a floating-point `%`
  // (keys are non-negative integers below 2⁵³, so the two agree).
  for (let t = 0; t < n; t++) {
    const key = keys[t];
    order[t] = key >= 0 ? key & 32767 : key % 32768;
  }
}

/** Weight, weighted coordinate sums, weighted square sum and per-axis square sums of a box (`boxSums`'s output). */
const sums = new Float64Array(8);

// The loop is alone in its function: V8 compiles a long first call's loop on stack
// replacement, and with arithmetic after the loop that code was thrown away (no type
// feedback yet) and entered again on every call.
function boxSums(c: Cells, cells: Int32Array, start: number, end: number): void {
  const cw = c.w;
  const pc = c.pc;
  let w = 0;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let q = 0;
  let q0 = 0;
  let q1 = 0;
  let q2 = 0;
  for (let t = start; t < end; t++) {
    const i = cells[t];
    const wi = cw[i];
    w += wi;
    const v0 = pc[i * 3];
    const v1 = pc[i * 3 + 1];
    const v2 = pc[i * 3 + 2];
    s0 += wi * v0;
    q += wi * v0 * v0;
    q0 += wi * v0 * v0;
    s1 += wi * v1;
    q += wi * v1 * v1;
    q1 += wi * v1 * v1;
    s2 += wi * v2;
    q += wi * v2 * v2;
    q2 += wi * v2 * v2;
  }
  sums[0] = w;
  sums[1] = s0;
  sums[2] = s1;
  sums[3] = s2;
  sums[4] = q;
  sums[5] = q0;
  sums[6] = q1;
  sums[7] = q2;
}

/** The box of `cells[start, start + n)` (at `start` in the sorted orders too), with its SSE and cut axis. */
function makeBox(c: Cells, cells: Int32Array, start: number, n: number): Box {
  boxSums(c, cells, start, start + n);
  const w = sums[0];
  const sse =
    w <= 0 ? 0 : sums[4] - (sums[1] * sums[1] + sums[2] * sums[2] + sums[3] * sums[3]) / w;
  // Cut along the axis with the largest weighted variance.
  const var0 = sums[5] - (sums[1] * sums[1]) / w;
  const var1 = sums[6] - (sums[2] * sums[2]) / w;
  const var2 = sums[7] - (sums[3] * sums[3]) / w;
  let axis = 0;
  let bv = -1;
  if (var0 > bv) {
    bv = var0;
    axis = 0;
  }
  if (var1 > bv) {
    bv = var1;
    axis = 1;
  }
  if (var2 > bv) axis = 2;
  return { cells, n, sse, start, axis };
}

/**
 * Splits a box along its axis at the position that removes the most squared error. Inner
 * loops keep their sums in locals (no arrays or objects per cell): palette building runs
 * for every frame of every fitting try.
 */
function splitBox(c: Cells, sorted: Sorted, box: Box): [Box, Box] | null {
  const n = box.n;
  if (n < 2) return null;
  const cw = c.w;
  const pc = c.pc;
  const axis = box.axis;
  const start = box.start;
  const order = sorted.axes[axis];
  const end = start + n;
  // Prefix sums of weight and of weighted coordinates over all three axes.
  let wt = 0;
  let st0 = 0;
  let st1 = 0;
  let st2 = 0;
  for (let t = start; t < end; t++) {
    const i = order[t];
    const wi = cw[i];
    wt += wi;
    st0 += wi * pc[i * 3];
    st1 += wi * pc[i * 3 + 1];
    st2 += wi * pc[i * 3 + 2];
  }
  const whole = -(st0 * st0 + st1 * st1 + st2 * st2) / wt;
  let wl = 0;
  let sl0 = 0;
  let sl1 = 0;
  let sl2 = 0;
  let bestGain = 0;
  let bestAt = -1;
  for (let t = start; t < end - 1; t++) {
    const i = order[t];
    const wi = cw[i];
    wl += wi;
    sl0 += wi * pc[i * 3];
    sl1 += wi * pc[i * 3 + 1];
    sl2 += wi * pc[i * 3 + 2];
    const wr = wt - wl;
    if (wr <= 0) break;
    // SSE removed by the split = |sl|²/wl + |sr|²/wr − |st|²/wt.
    let gain = whole;
    gain += (sl0 * sl0 + sl1 * sl1 + sl2 * sl2) / wl;
    const r0 = st0 - sl0;
    const r1 = st1 - sl1;
    const r2 = st2 - sl2;
    gain += (r0 * r0 + r1 * r1 + r2 * r2) / wr;
    if (bestAt < 0 || gain > bestGain) {
      bestGain = gain;
      bestAt = t + 1 - start;
    }
  }
  if (bestAt < 0) return null;
  // Keep the other two orders sorted within each part.
  const side = sorted.side;
  for (let t = 0; t < n; t++) side[order[start + t]] = t < bestAt ? 1 : 0;
  for (let b = 0; b < 3; b++) if (b !== axis) partition(sorted.axes[b], start, n, side, sorted.tmp);
  return [makeBox(c, order, start, bestAt), makeBox(c, order, start + bestAt, n - bestAt)];
}

/** Stable partition of `arr[start, start + n)`: cells with `side` 1 first. */
function partition(
  arr: Int32Array,
  start: number,
  n: number,
  side: Uint8Array,
  tmp: Int32Array,
): void {
  let l = start;
  let r = 0;
  for (let t = start; t < start + n; t++) {
    const i = arr[t];
    if (side[i] === 1) arr[l++] = i;
    else tmp[r++] = i;
  }
  for (let t = 0; t < r; t++) arr[l + t] = tmp[t];
}

/** Options of palette building. */
export interface PaletteOptions {
  /** Number of colours wanted, 2–256. */
  colors: number;
  /** k-means refinement passes (default 6). */
  kmeansIterations?: number;
  /** Chroma weight of the perceptual space (default `CHROMA_WEIGHT`). */
  chromaWeight?: number;
  /**
   * Stop adding colours once the mean squared error per pixel (perceptual units²) is at
   * most this: content with few colours gets a small palette, hence short LZW codes.
   */
  maxMse?: number;
}

/** Builds a palette of at most `colors` entries for the colours in `hist`. */
export function buildPalette(hist: Histogram, opts: PaletteOptions): Palette {
  const cw = opts.chromaWeight ?? CHROMA_WEIGHT;
  const c = cellsOf(hist, cw);
  const want = Math.max(1, Math.min(256, Math.floor(opts.colors)));
  if (c.n === 0) return new Palette(new Uint8Array(3), cw);
  const all = new Int32Array(c.n);
  for (let i = 0; i < c.n; i++) all[i] = i;
  const boxes: Box[] = [makeBox(c, all, 0, c.n)];
  const sorted = sortedCells(c);
  let total = 0;
  for (let i = 0; i < c.n; i++) total += c.w[i];
  let sse = boxes[0].sse;
  const stopAt = opts.maxMse !== undefined ? opts.maxMse * total : -1;
  // Each box's SSE and whether it has two cells or more, in list order (a scan of these
  // per cut instead of one over the box objects).
  const boxSse = new Float64Array(want + 1);
  const splittable = new Uint8Array(want + 1);
  boxSse[0] = boxes[0].sse;
  splittable[0] = c.n > 1 ? 1 : 0;
  while (boxes.length < want && sse > stopAt) {
    let bi = -1;
    let bs = 0;
    for (let i = 0; i < boxes.length; i++)
      if (splittable[i] === 1 && (bi < 0 || boxSse[i] > bs)) {
        bi = i;
        bs = boxSse[i];
      }
    if (bi < 0 || bs <= 0) break;
    const parts = splitBox(c, sorted, boxes[bi]);
    if (!parts) break;
    sse += parts[0].sse + parts[1].sse - bs;
    boxSse.copyWithin(bi + 2, bi + 1, boxes.length);
    splittable.copyWithin(bi + 2, bi + 1, boxes.length);
    boxes.splice(bi, 1, parts[0], parts[1]);
    for (let t = 0; t < 2; t++) {
      boxSse[bi + t] = parts[t].sse;
      splittable[bi + t] = parts[t].n > 1 ? 1 : 0;
    }
  }
  // Centroids in RGB (weighted means of the cells).
  const k = boxes.length;
  const cent = new Float64Array(k * 3);
  for (let b = 0; b < k; b++) {
    let w = 0;
    const { cells, start, n } = boxes[b];
    for (let t = start; t < start + n; t++) {
      const i = cells[t];
      w += c.w[i];
      for (let a = 0; a < 3; a++) cent[b * 3 + a] += c.w[i] * c.rgb[i * 3 + a];
    }
    for (let a = 0; a < 3; a++) cent[b * 3 + a] /= w;
  }
  const assigned = kmeans(c, cent, k, opts.kmeansIterations ?? 6, cw);
  const rgb = new Uint8Array(k * 3);
  for (let i = 0; i < k * 3; i++) rgb[i] = Math.max(0, Math.min(255, Math.round(cent[i])));
  const palette = new Palette(rgb, cw);
  // The entry each cell's pixels went to is where the exact search for them starts.
  const hints = new Int16Array(1 << 15).fill(-1);
  for (let i = 0; i < c.n; i++) hints[c.key[i]] = assigned[i];
  palette.hints = hints;
  return palette;
}

/**
 * Lloyd iterations over the histogram cells, in the perceptual space. After the first
 * passes most centroids stay exactly where they were (none of their cells changed). A
 * cell whose centroid stayed still kept its distance to it and to every other centroid
 * that stayed, so only the centroids that moved can take it: it is searched among those
 * alone, starting from its own centroid. Same assignments as a full search every pass.
 */
function kmeans(
  c: Cells,
  cent: Float64Array,
  k: number,
  iterations: number,
  chromaWeight: number,
): Int32Array {
  const pc = c.pc;
  const cpc = new Float64Array(k * 3);
  const prevCpc = new Float64Array(k * 3);
  const still = new Uint8Array(k);
  const movedIds = new Int32Array(k);
  const movedPc = new Float64Array(k * 3);
  const acc = new Float64Array(k * 4);
  const assigned = new Int32Array(c.n).fill(-1);
  for (let it = 0; it < iterations; it++) {
    for (let j = 0; j < k; j++)
      toPerceptual(cent[j * 3], cent[j * 3 + 1], cent[j * 3 + 2], cpc, j * 3, chromaWeight);
    let nMoved = 0;
    for (let j = 0; j < k; j++) {
      const o = j * 3;
      const s =
        it > 0 &&
        cpc[o] === prevCpc[o] &&
        cpc[o + 1] === prevCpc[o + 1] &&
        cpc[o + 2] === prevCpc[o + 2];
      still[j] = s ? 1 : 0;
      if (!s) {
        movedIds[nMoved] = j;
        movedPc[nMoved * 3] = cpc[o];
        movedPc[nMoved * 3 + 1] = cpc[o + 1];
        movedPc[nMoved * 3 + 2] = cpc[o + 2];
        nMoved++;
      }
    }
    prevCpc.set(cpc);
    acc.fill(0);
    const search = new NearestSearch(cpc, k);
    const movers = nMoved < k ? new NearestSearch(movedPc, nMoved, movedIds) : search;
    let moved = 0;
    for (let i = 0; i < c.n; i++) {
      const y = pc[i * 3];
      const u = pc[i * 3 + 1];
      const v = pc[i * 3 + 2];
      const a = assigned[i];
      let best: number;
      if (a >= 0 && still[a] === 1) {
        // Its distance to its centroid, computed as the search computes distances.
        const dy = cpc[a * 3] - y;
        const d0 = dy * dy;
        const du = cpc[a * 3 + 1] - u;
        const dv = cpc[a * 3 + 2] - v;
        const q = movers.query;
        q[0] = y;
        q[1] = u;
        q[2] = v;
        q[3] = d0 + du * du + dv * dv;
        best = movers.nearestBelowQuery(a);
      } else {
        const q = search.query;
        q[0] = y;
        q[1] = u;
        q[2] = v;
        best = search.nearestToQuery();
      }
      if (a !== best) {
        assigned[i] = best;
        moved++;
      }
      const w = c.w[i];
      acc[best * 4] += w;
      acc[best * 4 + 1] += w * c.rgb[i * 3];
      acc[best * 4 + 2] += w * c.rgb[i * 3 + 1];
      acc[best * 4 + 3] += w * c.rgb[i * 3 + 2];
    }
    // Same assignment as the pass before: the centroids below come out as they are, and
    // so would every further pass.
    if (moved === 0) break;
    for (let j = 0; j < k; j++) {
      const w = acc[j * 4];
      if (w > 0) for (let a = 0; a < 3; a++) cent[j * 3 + a] = acc[j * 4 + 1 + a] / w;
    }
  }
  return assigned;
}

// Runs every palette step once on four colours when the module loads. V8 optimises a
// long loop while it is still running (on-stack replacement); code after such a loop that
// has never run has no type feedback, so the optimised code was thrown away at the loop's
// end on every call, and a new process spent its first fitting tries in the interpreter.
{
  const h = new Histogram();
  h.add({
    width: 4,
    height: 1,
    data: new Uint8ClampedArray([0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 255, 0, 0, 255, 255]),
  });
  buildPalette(h, { colors: 3 });
}
