/**
 * The perceptual colour space the GIF stages measure in: full-range BT.601 Y'CbCr, the
 * space players and SSIM look at, with chroma weighted below luma. Distances are squared
 * and in 8-bit units. Everything is plain IEEE arithmetic (no Math.pow/cbrt) so Node and
 * browsers produce identical bytes.
 */

/**
 * Default weight of each chroma axis relative to luma in distances. SSIM on Y'CbCr counts
 * each plane alike, and natural video has little chroma detail, so errors there show:
 * weighting chroma up measured best on film. Content whose chroma is as busy as its luma
 * (noise) does better below 1 (see `chromaWeightFor`).
 */
export const CHROMA_WEIGHT = 2;
/** Chroma weight for noise-like content (measured on synthetic colour noise). */
const NOISE_CHROMA_WEIGHT = 0.7;

/**
 * Writes the weighted Y'CbCr coordinates of (r, g, b) into `out` at `o`; Euclidean distance
 * between such points is the perceptual distance used everywhere.
 */
export function toPerceptual(
  r: number,
  g: number,
  b: number,
  out: Float32Array | Float64Array,
  o: number,
  chromaWeight = CHROMA_WEIGHT,
): void {
  const CW = Math.sqrt(chromaWeight);
  out[o] = 0.299 * r + 0.587 * g + 0.114 * b;
  out[o + 1] = CW * (-0.168736 * r - 0.331264 * g + 0.5 * b);
  out[o + 2] = CW * (0.5 * r - 0.418688 * g - 0.081312 * b);
}

/** Squared perceptual distance between two sRGB colours. */
export function colorDistance(
  r1: number,
  g1: number,
  b1: number,
  r2: number,
  g2: number,
  b2: number,
  chromaWeight = CHROMA_WEIGHT,
): number {
  const dr = r1 - r2;
  const dg = g1 - g2;
  const db = b1 - b2;
  const y = 0.299 * dr + 0.587 * dg + 0.114 * db;
  const cb = -0.168736 * dr - 0.331264 * dg + 0.5 * db;
  const cr = 0.5 * dr - 0.418688 * dg - 0.081312 * db;
  return y * y + chromaWeight * (cb * cb + cr * cr);
}

/**
 * The chroma weight to use for some frames: `NOISE_CHROMA_WEIGHT` when their luma is noise-like (neighbouring
 * pixels differ about as much as any two pixels do), else `CHROMA_WEIGHT`. Deterministic.
 */
export function chromaWeightFor(img: {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}): number {
  const { width: w, height: h, data: d } = img;
  if (w < 2 || h < 1) return CHROMA_WEIGHT;
  let n = 0;
  let s = 0;
  let ss = 0;
  let g = 0;
  const step = Math.max(1, Math.floor((w * h) / 20000));
  for (let i = 0; i < w * h - 1; i += step) {
    if ((i + 1) % w === 0) continue;
    const a = 0.299 * d[i * 4] + 0.587 * d[i * 4 + 1] + 0.114 * d[i * 4 + 2];
    const b = 0.299 * d[i * 4 + 4] + 0.587 * d[i * 4 + 5] + 0.114 * d[i * 4 + 6];
    s += a;
    ss += a * a;
    g += (a - b) * (a - b);
    n++;
  }
  if (n === 0) return CHROMA_WEIGHT;
  const variance = ss / n - (s / n) * (s / n);
  // White noise: E[(a − b)²] = 2σ². Film and graphics are far below.
  return variance > 1 && g / n / (2 * variance) > 0.3 ? NOISE_CHROMA_WEIGHT : CHROMA_WEIGHT;
}

/**
 * Nearest-entry cache over 6 bits a channel (262 144 cells), shared by all palettes: a
 * cell holds `tag << 8 | entry`, the answer of the palette holding that tag. A new
 * palette per frame used to allocate and clear its own table; now it just takes a new
 * tag. Entries are exact answers, so sharing never changes a result, only which lookups
 * are cached. Tag and answer share 16 bits: the table is 512 KB and stays in cache
 * between frames.
 *
 * Tags run 1…255 within an epoch. When they run out the table is emptied and a new epoch
 * begins; a palette from an older epoch takes a new tag on its next lookup, so no two
 * palettes ever answer through the same tag.
 */
let cache: Uint16Array | undefined; // allocated by the first palette, not on import
let cacheEpoch = 0;
let lastTag = 0;

/** A palette: `colors` entries of packed RGB plus their perceptual coordinates. */
export class Palette {
  readonly size: number;
  /** R,G,B per entry. */
  readonly rgb: Uint8Array;
  /** Weighted Y'CbCr per entry (3 floats). */
  readonly pc: Float64Array;
  private readonly search: NearestSearch;
  /** Owner tag of this palette's entries in the shared nearest-entry cache (tag << 8)… */
  private tag = 0;
  /** …valid in this cache epoch. */
  private tagEpoch = -1;

  /** Chroma weight of the space the entries are measured in. */
  readonly chromaWeight: number;
  private readonly cw: number;
  private otherPc?: { w: number; pc: Float64Array };

  constructor(rgb: Uint8Array, chromaWeight = CHROMA_WEIGHT) {
    this.size = rgb.length / 3;
    this.rgb = rgb;
    this.chromaWeight = chromaWeight;
    this.cw = Math.sqrt(chromaWeight);
    this.pc = new Float64Array(this.size * 3);
    for (let i = 0; i < this.size; i++)
      toPerceptual(rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], this.pc, i * 3, chromaWeight);
    this.search = new NearestSearch(this.pc, this.size);
    this.claimTag();
  }

  private claimTag(): void {
    cache ??= new Uint16Array(1 << 18);
    if (lastTag === 255) {
      cache.fill(0);
      cacheEpoch++;
      lastTag = 0;
    }
    this.tag = ++lastTag << 8;
    this.tagEpoch = cacheEpoch;
  }

  /** The entries' coordinates in a space of another chroma weight (cached). */
  coordinates(chromaWeight: number): Float64Array {
    if (chromaWeight === this.chromaWeight) return this.pc;
    if (this.otherPc?.w !== chromaWeight) {
      const pc = new Float64Array(this.size * 3);
      for (let i = 0; i < this.size; i++)
        toPerceptual(
          this.rgb[i * 3],
          this.rgb[i * 3 + 1],
          this.rgb[i * 3 + 2],
          pc,
          i * 3,
          chromaWeight,
        );
      this.otherPc = { w: chromaWeight, pc };
    }
    return this.otherPc.pc;
  }

  /**
   * Per 15-bit colour cell (5 bits a channel), an entry likely to be nearest to its
   * colours (−1: no guess), such as the one palette building gave the cell. The exact
   * search starts from it: its distance bounds the scan from the first point, so far fewer
   * points are looked at. The answer is the same with or without it.
   */
  hints?: Int16Array;

  /**
   * Exact nearest entry to (r, g, b) in the perceptual space. The search starts from the
   * colour's entry in `hints`, or else from `fallbackHint` (any entry, −1 for none); the
   * answer does not depend on either.
   */
  nearestExact(r: number, g: number, b: number, fallbackHint = -1): number {
    const CW = this.cw;
    const q = this.search.query;
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    const u = CW * (-0.168736 * r - 0.331264 * g + 0.5 * b);
    const v = CW * (0.5 * r - 0.418688 * g - 0.081312 * b);
    q[0] = y;
    q[1] = u;
    q[2] = v;
    let hint = this.hints ? this.hints[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)] : -1;
    if (hint < 0) hint = fallbackHint < this.size ? fallbackHint : -1;
    if (hint < 0) return this.search.nearestToQuery();
    // The hint's distance, computed as the scan computes distances.
    const pc = this.pc;
    const dy = pc[hint * 3] - y;
    const d0 = dy * dy;
    const du = pc[hint * 3 + 1] - u;
    const dv = pc[hint * 3 + 2] - v;
    const d = d0 + du * du + dv * dv;
    // Within half the distance from the hint to its nearest other entry, no entry can be
    // as near as the hint (triangle inequality; squared, with a margin for rounding).
    if (d < (this.inner ??= innerRadii(pc, this.size))[hint]) {
      return hint;
    }
    q[3] = d;
    return this.search.nearestBelowQuery(hint);
  }

  /** Per entry, a squared distance within which it is the only nearest entry (see `innerRadii`). */
  private inner?: Float64Array;

  /** Nearest entry through the cache (colour rounded to 6 bits a channel first); `hint` as in `nearestExact`. */
  nearest(r: number, g: number, b: number, hint = -1): number {
    if (this.tagEpoch !== cacheEpoch) this.claimTag();
    const key = ((r >> 2) << 12) | ((g >> 2) << 6) | (b >> 2);
    const table = cache!; // claimTag allocated it
    const c = table[key];
    if ((c & 0xff00) === this.tag) return c & 0xff;
    const v = this.nearestExact((r & 0xfc) | 2, (g & 0xfc) | 2, (b & 0xfc) | 2, hint);
    table[key] = this.tag | (v & 0xff);
    return v;
  }
}

/**
 * Per point, just under a quarter of the squared distance to its nearest other point: a
 * query nearer than that to the point is nearer to it than to any other (by the triangle
 * inequality, strictly, so there is no tie to break; the margin covers rounding).
 */
function innerRadii(pts: Float64Array, n: number): Float64Array {
  const nn = new Float64Array(n).fill(Infinity);
  for (let i = 0; i < n; i++) {
    const y = pts[i * 3];
    const u = pts[i * 3 + 1];
    const v = pts[i * 3 + 2];
    let best = nn[i];
    for (let j = i + 1; j < n; j++) {
      const dy = pts[j * 3] - y;
      const du = pts[j * 3 + 1] - u;
      const dv = pts[j * 3 + 2] - v;
      const d = dy * dy + du * du + dv * dv;
      if (d < best) best = d;
      if (d < nn[j]) nn[j] = d;
    }
    nn[i] = best;
  }
  for (let i = 0; i < n; i++) nn[i] *= 0.249;
  return nn;
}

/** Sorted lumas of `lumaOrder`, grown as needed. */
let scratchLumas = new Float64Array(256);
let scratchTaken = new Int32Array(256);

/**
 * The points in order of luma, ties by index: a native numeric sort of the lumas, then
 * each point (in index order) takes the next free rank of its luma. A comparator sort
 * did the same with a call per comparison and a boxed number per result.
 */
function lumaOrder(pts: Float64Array, n: number): Int32Array {
  if (scratchLumas.length < n) {
    scratchLumas = new Float64Array(n);
    scratchTaken = new Int32Array(n);
  }
  const ys = scratchLumas.subarray(0, n);
  for (let i = 0; i < n; i++) ys[i] = pts[i * 3];
  ys.sort();
  const taken = scratchTaken;
  taken.fill(0, 0, n);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = pts[i * 3];
    // First rank whose luma is not below y (−0 and 0 alike, as the comparison treats them).
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ys[mid] < y) lo = mid + 1;
      else hi = mid;
    }
    order[lo + taken[lo]++] = i;
  }
  return order;
}

/**
 * Nearest point among `n` points (3 floats each, first coordinate luma) by scanning
 * outwards from the query's luma in luma order and stopping once the luma gap alone
 * exceeds the best distance: exact, and a few times faster than a full scan.
 */
export class NearestSearch {
  /** Point index at each rank of the luma order. */
  private readonly order: Int32Array;
  /** The points' coordinates in luma order (3 floats a rank): the scan reads them in sequence. */
  private readonly sorted: Float64Array;
  /**
   * `rankFrom[b]`: the first rank whose luma is ≥ b, for b = 0…256. A query's starting
   * rank lies between those of its luma's integer part and the next integer: a binary
   * search over the (usually zero to two) ranks in between instead of over all of them.
   */
  private readonly rankFrom: Int32Array;

  /**
   * `ids` (ascending), when given, names the points: searches answer `ids[i]` for point i
   * and break ties by it.
   */
  constructor(pts: Float64Array, n: number, ids?: Int32Array) {
    const order = lumaOrder(pts, n);
    const sorted = new Float64Array(n * 3);
    for (let j = 0; j < n; j++) {
      const i = order[j];
      sorted[j * 3] = pts[i * 3];
      sorted[j * 3 + 1] = pts[i * 3 + 1];
      sorted[j * 3 + 2] = pts[i * 3 + 2];
      if (ids) order[j] = ids[i];
    }
    this.order = order;
    this.sorted = sorted;
    const rankFrom = new Int32Array(257);
    let r = 0;
    for (let b = 0; b <= 256; b++) {
      while (r < n && sorted[r * 3] < b) r++;
      rankFrom[b] = r;
    }
    this.rankFrom = rankFrom;
  }

  /** The first rank whose luma is ≥ y. */
  private rankOf(y: number): number {
    const sorted = this.sorted;
    let lo = 0;
    let hi = this.order.length;
    if (y >= 0 && y < 256) {
      const b = y | 0;
      lo = this.rankFrom[b];
      hi = this.rankFrom[b + 1];
    }
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid * 3] < y) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The query of `nearestToQuery` and `nearestBelowQuery`: y, u, v (and the seed's
   * distance). Coordinates travel in this array rather than as arguments, which V8 boxes
   * into a heap number each when the call is not inlined: three allocations per search.
   */
  readonly query = new Float64Array(4);

  /** Index of the point nearest to (y, u, v); ties go to the lowest index. */
  nearest(y: number, u: number, v: number): number {
    const q = this.query;
    q[0] = y;
    q[1] = u;
    q[2] = v;
    return this.nearestToQuery();
  }

  /** `nearest` of the coordinates in `query`: `nearestBelowQuery` with no seed. */
  nearestToQuery(): number {
    this.query[3] = Infinity;
    return this.nearestBelowQuery(-1);
  }

  /**
   * The nearest point to (y, u, v) that beats a candidate `seed` (an id) at squared
   * distance `seedD` under the same rule (nearer, or as near with a lower id); `seed` when
   * none does. With `seedD` computed as the scan computes distances, this is the nearest
   * among the seed and these points.
   */
  nearestBelow(y: number, u: number, v: number, seed: number, seedD: number): number {
    const q = this.query;
    q[0] = y;
    q[1] = u;
    q[2] = v;
    q[3] = seedD;
    return this.nearestBelowQuery(seed);
  }

  /** `nearestBelow` of the coordinates and seed distance in `query`. */
  nearestBelowQuery(seed: number): number {
    const { order, sorted, query } = this;
    const y = query[0];
    const u = query[1];
    const v = query[2];
    const seedD = query[3];
    const n = order.length;
    const lo = this.rankOf(y);
    let best = seed;
    let bestD = seedD;
    let up = lo;
    let down = lo - 1;
    while (up < n || down >= 0) {
      if (up < n) {
        const o = up * 3;
        const dy = sorted[o] - y;
        const d0 = dy * dy;
        if (d0 > bestD) up = n;
        else {
          const du = sorted[o + 1] - u;
          const dv = sorted[o + 2] - v;
          const d = d0 + du * du + dv * dv;
          if (d <= bestD) {
            const i = order[up];
            if (d < bestD || i < best) {
              bestD = d;
              best = i;
            }
          }
          up++;
        }
      }
      if (down >= 0) {
        const o = down * 3;
        const dy = sorted[o] - y;
        const d0 = dy * dy;
        if (d0 > bestD) down = -1;
        else {
          const du = sorted[o + 1] - u;
          const dv = sorted[o + 2] - v;
          const d = d0 + du * du + dv * dv;
          if (d <= bestD) {
            const i = order[down];
            if (d < bestD || i < best) {
              bestD = d;
              best = i;
            }
          }
          down--;
        }
      }
    }
    return best;
  }
}
