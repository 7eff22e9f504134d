/**
 * A video's frame timeline: the exact presentation timestamp of every frame, built from
 * the packet list of the first video stream (ffmpeg's `framecrc` of a stream copy), and
 * the stream facts ffmpeg prints about its input. Pure parsing, no I/O.
 *
 * Knowing every pts up front is what makes grabs frame-exact: "the frame at t" is found
 * here by timestamp, and the decoder is then asked for exactly that pts.
 */

/** Presentation timestamps of one video stream, in its time base, ascending. */
export interface Timeline {
  /** Time base of `pts`, as a fraction: seconds = pts * num / den. */
  readonly num: number;
  readonly den: number;
  /** Presentation timestamp of each frame, ascending (presentation order). */
  readonly pts: readonly number[];
  /** Indices into `pts` of the frames that start a decodable run (keyframes). */
  readonly keyframes: readonly number[];
  /** Presentation end of the last frame (its pts plus its duration). */
  readonly endPts: number;
}

const NOPTS = '-9223372036854775808';

/**
 * Parses ffmpeg `-f framecrc` output of a stream copy of one video stream. Packets
 * flagged for discard (edit-list pre-roll) are left out. Returns null when there are no
 * packets with timestamps.
 */
export function parseFramecrc(text: string): Timeline | null {
  let num = 1,
    den = 1;
  const packets: Array<{ pts: number; dur: number; key: boolean }> = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#tb 0:')) {
      const m = /(\d+)\/(\d+)/.exec(line);
      if (m) {
        num = Number(m[1]);
        den = Number(m[2]);
      }
      continue;
    }
    if (!line || line[0] === '#') continue;
    const cols = line.split(',').map((c) => c.trim());
    if (cols.length < 6 || cols[0] !== '0') continue;
    const flagCol = cols.find((c) => c.startsWith('F='));
    // framecrc prints flags only when they differ from "key frame".
    const flags = flagCol ? parseInt(flagCol.slice(2), 16) : 1;
    if (flags & 4) continue; // AV_PKT_FLAG_DISCARD
    const ptsText = cols[2] !== NOPTS ? cols[2]! : cols[1]!;
    if (ptsText === NOPTS) continue;
    packets.push({ pts: Number(ptsText), dur: Number(cols[3]), key: (flags & 1) === 1 });
  }
  if (!packets.length) return null;
  packets.sort((a, b) => a.pts - b.pts);
  // Typical frame duration, for packets that do not state one.
  const gaps = packets
    .slice(1)
    .map((p, i) => p.pts - packets[i]!.pts)
    .filter((g) => g > 0)
    .sort((a, b) => a - b);
  const typical = gaps.length ? gaps[gaps.length >> 1]! : 0;
  const last = packets[packets.length - 1]!;
  const keyframes = packets.flatMap((p, i) => (p.key ? [i] : []));
  return {
    num,
    den,
    pts: packets.map((p) => p.pts),
    keyframes: keyframes.length ? keyframes : [0],
    endPts: last.pts + (last.dur > 0 ? last.dur : typical || 1),
  };
}

/** Player time (seconds from the first frame) of frame `i`. */
export function frameTime(tl: Timeline, i: number): number {
  return ((tl.pts[i]! - tl.pts[0]!) * tl.num) / tl.den;
}

/** Player-time duration: the last frame stays on screen until its end. */
export function timelineDuration(tl: Timeline): number {
  return ((tl.endPts - tl.pts[0]!) * tl.num) / tl.den;
}

/**
 * Timestamps are integers over a timescale; as seconds they carry float error, and sample
 * times `from + k/fps` land exactly on frame boundaries whenever the rates divide (12 fps
 * from 24 fps: every sample). 26/24 and 1 + 1/12 differ in the last bit, so "≤ t" is
 * checked with a tolerance far below any real frame interval or timescale step.
 */
const EPSILON = 1e-6;

/** Index of the frame on screen at player time t: the last frame whose time is ≤ t. */
export function frameIndexAt(tl: Timeline, t: number): number {
  let lo = 0,
    hi = tl.pts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (frameTime(tl, mid) <= t + EPSILON) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The keyframe at or before frame `i` (presentation order), as an index into `pts`. */
export function keyframeBefore(tl: Timeline, i: number): number {
  let best = tl.keyframes[0]!;
  for (const k of tl.keyframes) {
    if (k <= i) best = k;
    else break;
  }
  return best;
}

/** What ffmpeg says about the first video stream of its input (from its stderr). */
export interface StreamFacts {
  codec: string;
  /** Coded size, before rotation. */
  width: number;
  height: number;
  frameRate?: number;
  /** Clockwise rotation a player applies for display, 0/90/180/270. */
  rotation: number;
  /** The input file's start time in seconds (`start:` of the Duration line). */
  start: number;
}

/** Parses the "Input #0" part of ffmpeg's stderr. Null when it lists no video stream. */
export function parseStreamFacts(stderr: string): StreamFacts | null {
  const input = stderr.split(/\nOutput #0/)[0]!;
  const lines = input.split('\n');
  const at = lines.findIndex((l) => /Stream #0:\d+.*: Video: /.test(l));
  if (at < 0) return null;
  const head = lines[at]!;
  const m = /: Video: ([\w-]+).*?, (\d+)x(\d+)/.exec(head);
  if (!m) return null;
  const fps = /, ([\d.]+)(k?) fps/.exec(head) ?? /, ([\d.]+)(k?) tbr/.exec(head);
  // The stream's own metadata lines run until the next stream (or the end of the input).
  let rotation = 0;
  for (let i = at + 1; i < lines.length && !/^\s*Stream #/.test(lines[i]!); i++) {
    const l = lines[i]!;
    const dm = /displaymatrix: rotation of (-?[\d.]+) degrees/.exec(l);
    // The display matrix angle is counter-clockwise; the old `rotate` tag is clockwise.
    if (dm) {
      rotation = 360 - Number(dm[1]);
      break;
    }
    const tag = /^\s*rotate\s*:\s*(-?\d+)/.exec(l);
    if (tag) rotation = Number(tag[1]);
  }
  rotation = (((Math.round(rotation / 90) * 90) % 360) + 360) % 360;
  const start = /Duration: .*?, start: (-?[\d.]+)/.exec(input);
  return {
    codec: m[1]!,
    width: Number(m[2]),
    height: Number(m[3]),
    frameRate: fps ? Number(fps[1]) * (fps[2] ? 1000 : 1) : undefined,
    rotation,
    start: start ? Number(start[1]) : 0,
  };
}
