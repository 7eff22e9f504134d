/**
 * Node frame source over ffmpeg: frame-exact frames of a video file as RGBA.
 *
 * Opening reads the packet list of the first video stream (a stream copy to ffmpeg's
 * `framecrc` muxer: no decoding) to learn every frame's exact presentation timestamp.
 * "The frame at t" is then picked by timestamp here, not by ffmpeg's `-ss` (which yields
 * the first frame at or after t): we seek to the keyframe before the wanted frame, decode
 * with original timestamps (`-copyts`, showinfo's pts on stderr, raw RGBA on stdout) and
 * keep the frame whose pts is the one we want. This is exact for B-frames, VP9, variable
 * frame rates and container start offsets alike.
 */
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  CancelledError,
  InvalidSettingError,
  InvalidTimeError,
  SourceError,
  TimeOutOfRangeError,
} from '../errors';
import { ffmpegErrorTail, runFfmpeg, spawnFfmpeg, type FfmpegChild } from '../ffmpeg.node.ts';
import { formatTime } from '../time';
import type { Frame, FrameShape, FrameSource, Rect, Seconds, VideoInfo } from '../types';
import {
  frameIndexAt,
  frameTime,
  keyframeBefore,
  parseFramecrc,
  parseStreamFacts,
  timelineDuration,
  type StreamFacts,
  type Timeline,
} from './timeline';

/** Options of {@link openVideo}. */
export interface OpenVideoOptions {
  /** Aborts probing (the ffmpeg child is killed). */
  signal?: AbortSignal;
}

/**
 * Opens a video file as a {@link FrameSource}. Reads the file's packet index (fast: no
 * decoding), so it costs one pass over the file's bytes.
 * @throws SourceError (`ERR_NOT_FOUND`, `ERR_NOT_VIDEO`, `ERR_EMPTY`, `ERR_TRUNCATED`)
 *   with a one-line message naming the file.
 */
export async function openVideo(
  path: string,
  options: OpenVideoOptions = {},
): Promise<FrameSource> {
  const name = basename(path);
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR')
      throw new SourceError(`no such file: ${path}`, 'ERR_NOT_FOUND');
    throw new SourceError(`cannot read ${path}: ${e.message}`, 'ERR_NOT_FOUND');
  });
  if (st.isDirectory())
    throw new SourceError(`${path} is a directory, not a video file`, 'ERR_NOT_VIDEO');
  if (st.size === 0) throw new SourceError(`${name} is empty (0 bytes), not a video`, 'ERR_EMPTY');

  const r = await runFfmpeg(
    ['-copyts', '-i', path, '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', '-'],
    options.signal,
  );
  const stderr = r.stderr;
  const facts = parseStreamFacts(stderr);
  const format = /Input #0, ([\w,-]+), from/.exec(stderr)?.[1] ?? '';
  if (!facts) {
    if (/moov atom not found/.test(stderr) && (await looksLikeMp4(path))) {
      throw new SourceError(
        `${name} is truncated or incomplete: its index (moov box) is missing`,
        'ERR_TRUNCATED',
      );
    }
    if (/matches no streams|does not contain any stream/.test(stderr) || format) {
      throw new SourceError(`${name} has no video stream`, 'ERR_NOT_VIDEO');
    }
    const why = ffmpegErrorTail(stderr, 1).split(`${path}: `).join('') || 'unknown format';
    throw new SourceError(`${name} is not a video ffmpeg can read (${why})`, 'ERR_NOT_VIDEO');
  }
  if (/^image2$|_pipe$/.test(format))
    throw new SourceError(
      `${name} is a still image (${facts.codec}), not a video`,
      'ERR_NOT_VIDEO',
    );
  const timeline = parseFramecrc(r.stdout.toString('latin1'));
  if (!timeline) {
    // The index lists frames but ffmpeg could not make sense of their contents.
    if (/Could not find codec parameters|unspecified pixel format/.test(stderr)) {
      throw new SourceError(
        `cannot decode the ${facts.codec} video in ${name} (undecodable or encrypted stream)`,
        'ERR_UNDECODABLE',
      );
    }
    throw new SourceError(`${name} has no video frames (empty or truncated)`, 'ERR_EMPTY');
  }
  // MPEG transport/program streams have no index: ffmpeg's seek there lands near, not before.
  const roughSeek = /^(mpegts|mpeg|mpegvideo|h264|hevc)$/.test(format) ? 1 : 0;
  return new FfmpegFrameSource(path, name, facts, timeline, roughSeek);
}

async function looksLikeMp4(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    return /^(ftyp|moov|mdat|free|wide|skip)$/.test(head.toString('latin1', 4, 8));
  } finally {
    await fh.close();
  }
}

/** Rejects a crop that does not lie inside the frame. */
export function checkCrop(crop: Rect, width: number, height: number): void {
  const { x, y, width: w, height: h } = crop;
  const ints = [x, y, w, h].every(Number.isInteger);
  if (!ints || x < 0 || y < 0 || w < 1 || h < 1 || x + w > width || y + h > height) {
    throw new InvalidSettingError(
      'crop',
      `crop ${x},${y},${w},${h} (x,y,width,height) must lie inside the ${width}x${height} frame`,
      `The crop ${x}, ${y}, ${w}×${h} reaches outside the ${width}×${height} video: keep it inside the frame`,
    );
  }
}

/** Output size of a shape: crop first, then scale; a lone width or height keeps the aspect. */
export function shapeSize(
  shape: FrameShape | undefined,
  width: number,
  height: number,
): { width: number; height: number } {
  const cw = shape?.crop?.width ?? width,
    ch = shape?.crop?.height ?? height;
  let w = shape?.width,
    h = shape?.height;
  if (w && !h) h = Math.max(1, Math.round((ch * w) / cw));
  if (h && !w) w = Math.max(1, Math.round((cw * h) / ch));
  const out = { width: w ?? cw, height: h ?? ch };
  if (
    !Number.isInteger(out.width) ||
    !Number.isInteger(out.height) ||
    out.width < 1 ||
    out.height < 1 ||
    out.width > 16384 ||
    out.height > 16384
  ) {
    throw new InvalidSettingError(
      'width',
      `output size must be whole pixels 1–16384, got ${out.width}x${out.height}`,
    );
  }
  return out;
}

interface Decoded {
  pts: number;
  data: Uint8Array;
}

class FfmpegFrameSource implements FrameSource {
  readonly info: VideoInfo;
  private readonly children = new Set<FfmpegChild>();
  private closed = false;

  constructor(
    private readonly path: string,
    name: string,
    private readonly facts: StreamFacts,
    private readonly tl: Timeline,
    /** Seconds to seek before a keyframe for containers whose seeking is approximate. */
    private readonly roughSeek = 0,
  ) {
    const turned = facts.rotation === 90 || facts.rotation === 270;
    this.info = {
      width: turned ? facts.height : facts.width,
      height: turned ? facts.width : facts.height,
      duration: timelineDuration(tl),
      frameRate: facts.frameRate,
      codec: facts.codec,
      rotation: facts.rotation,
      name,
    };
  }

  /** Exact presentation times of every frame (player time), for callers that want them. */
  frameTimes(): Seconds[] {
    return this.tl.pts.map((_, i) => frameTime(this.tl, i));
  }

  async frameAt(t: Seconds, shape?: FrameShape, signal?: AbortSignal): Promise<Frame> {
    for await (const f of this.framesAt([t], shape, signal)) return f;
    throw new SourceError(
      `cannot decode the ${this.facts.codec} video in ${this.info.name}`,
      'ERR_UNDECODABLE',
    );
  }

  async *framesAt(
    times: readonly Seconds[],
    shape?: FrameShape,
    signal?: AbortSignal,
  ): AsyncIterable<Frame> {
    if (this.closed) throw new SourceError(`${this.info.name} is closed`, 'ERR_CLOSED');
    if (!times.length) return;
    for (let i = 0; i < times.length; i++) {
      this.checkTime(times[i]!);
      if (i && times[i]! < times[i - 1]!) {
        throw new InvalidTimeError(
          `times must be ascending, got ${formatTime(times[i - 1]!)} then ${formatTime(times[i]!)}`,
        );
      }
    }
    if (shape?.crop) checkCrop(shape.crop, this.info.width, this.info.height);
    const size = shapeSize(shape, this.info.width, this.info.height);
    const targets = times.map((t) => frameIndexAt(this.tl, t));

    // Seek to the keyframe before the next wanted frame and let ffmpeg's select filter
    // pass on only the wanted frames (the others are decoded but never converted or
    // piped). Some demuxers (MPEG-TS) seek only roughly: when the first frame out is
    // already past the wanted one, seek again further back. Anything else unexpected (a
    // frame the decoder dropped) switches to the careful path, which sees every frame.
    let next = 0; // next entry of `targets` to hand out
    let selective = true;
    let backoff = this.roughSeek; // seconds to seek before the keyframe
    const further = () => {
      backoff = backoff ? backoff * 4 : 1;
    };
    for (;;) {
      const ss = this.seekTime(keyframeBefore(this.tl, targets[next]!), backoff);
      if (selective) {
        let ok = true,
          first = true,
          late = false;
        for await (const d of this.decode(
          ss,
          shape,
          size,
          signal,
          this.selectExpr(targets.slice(next)),
        )) {
          if (d.pts !== this.tl.pts[targets[next]!]) {
            ok = false;
            late = first && d.pts > this.tl.pts[targets[next]!]!;
            break;
          }
          first = false;
          while (next < targets.length && this.tl.pts[targets[next]!] === d.pts)
            yield this.frame(d, targets[next++]!, size);
          if (next === targets.length) break;
        }
        if (ok && next === targets.length) return;
        if ((late || (ok && first)) && ss !== null) further();
        else selective = false;
        continue;
      }
      let prev: Decoded | undefined;
      let missed = false;
      for await (const d of this.decode(ss, shape, size, signal)) {
        if (!prev && d.pts > this.tl.pts[targets[next]!]! && ss !== null) {
          missed = true;
          break;
        }
        while (next < targets.length) {
          const want = this.tl.pts[targets[next]!]!;
          if (d.pts === want) yield this.frame(d, targets[next]!, size);
          // The wanted frame never came out of the decoder: the one on screen is the last before it.
          else if (d.pts > want && prev) yield this.frame(prev, this.indexOfPts(prev.pts), size);
          else if (d.pts > want) yield this.frame(d, targets[next]!, size);
          else break;
          next++;
        }
        prev = d;
        if (next === targets.length) break;
      }
      // The seek landed past the wanted frame (or past everything): seek further back.
      if (missed || (!prev && ss !== null)) {
        further();
        continue;
      }
      if (next < targets.length) {
        if (!prev) throw this.undecodable();
        // The stream ended early (e.g. cut short): the last decoded frame stays on screen.
        for (; next < targets.length; next++)
          yield this.frame(prev, this.indexOfPts(prev.pts), size);
      }
      return;
    }
  }

  /**
   * The -ss (seconds from the file's start) that lands on keyframe `key`, `backoff`
   * seconds earlier; null to decode from the start.
   */
  private seekTime(key: number, backoff: number): number | null {
    if (key === 0) return null;
    const keyAbs = (this.tl.pts[key]! * this.tl.num) / this.tl.den;
    const k2 = this.tl.keyframes[this.tl.keyframes.indexOf(key) + 1];
    const gap =
      k2 !== undefined ? ((this.tl.pts[k2]! - this.tl.pts[key]!) * this.tl.num) / this.tl.den : 1;
    // A little past the keyframe: ffmpeg seeks to the keyframe at or before -ss (and
    // pulls back 3/23 s itself for streams with B-frames).
    const ss = keyAbs - this.facts.start + Math.min(0.14, gap / 2) - backoff;
    return ss > 0 ? ss : null;
  }

  /** A select-filter expression passing exactly the frames `targets` (ascending indices). */
  private selectExpr(targets: readonly number[]): string {
    const idx = [...new Set(targets)];
    const terms: string[] = [];
    for (let i = 0; i < idx.length;) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1] === idx[j]! + 1) j++;
      const a = this.tl.pts[idx[i]!]!,
        b = this.tl.pts[idx[j]!]!;
      terms.push(a === b ? `eq(pts,${a})` : `between(pts,${a},${b})`);
      i = j + 1;
    }
    return terms.join('+');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.children) c.kill('SIGKILL');
    this.children.clear();
  }

  private lastError = '';

  private undecodable(): SourceError {
    return new SourceError(
      `cannot decode the ${this.facts.codec} video in ${this.info.name} (undecodable or encrypted stream${this.lastError ? `: ${this.lastError}` : ''})`,
      'ERR_UNDECODABLE',
    );
  }

  private checkTime(t: number): void {
    const d = this.info.duration;
    if (typeof t !== 'number' || Number.isNaN(t))
      throw new InvalidTimeError(`time must be a number of seconds, got ${String(t)}`);
    if (t < 0)
      throw new TimeOutOfRangeError(
        `time ${t} is before the start of the video (0 to ${formatTime(d)})`,
      );
    if (t >= d) {
      throw new TimeOutOfRangeError(
        `time ${formatTime(t)} is past the end of ${this.info.name} (duration ${formatTime(d)}; the last frame is at ${formatTime(frameTime(this.tl, this.tl.pts.length - 1))})`,
      );
    }
  }

  private indexOfPts(pts: number): number {
    let lo = 0,
      hi = this.tl.pts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.tl.pts[mid]! <= pts) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private frame(d: Decoded, index: number, size: { width: number; height: number }): Frame {
    const data = new Uint8ClampedArray(d.data.buffer, d.data.byteOffset, d.data.byteLength);
    return { width: size.width, height: size.height, data, time: frameTime(this.tl, index), index };
  }

  /**
   * Decodes from `ss` seconds (null: from the start) on, yielding frames with their pts in the
   * timeline's time base.
   */
  private async *decode(
    ss: number | null,
    shape: FrameShape | undefined,
    size: { width: number; height: number },
    signal?: AbortSignal,
    select?: string,
  ): AsyncGenerator<Decoded> {
    if (signal?.aborted) throw new CancelledError();
    const args = ['-copyts'];
    if (ss !== null) args.push('-noaccurate_seek', '-ss', ss.toFixed(6));
    const filters: string[] = [];
    if (select) filters.push(`select='${select}'`);
    if (shape?.crop) {
      const c = shape.crop;
      filters.push(`crop=${c.width}:${c.height}:${c.x}:${c.y}:exact=1`);
    }
    const cw = shape?.crop?.width ?? this.info.width,
      ch = shape?.crop?.height ?? this.info.height;
    // accurate_rnd: without it swscale's fast YUV→RGBA path tints greys (245,245,245 comes
    // out 245,243,246), a chroma error that follows every edge and costs SSIM on all content.
    if (size.width !== cw || size.height !== ch)
      filters.push(`scale=${size.width}:${size.height}:flags=lanczos+accurate_rnd`);
    filters.push('format=rgba', 'showinfo');
    args.push(
      '-i',
      this.path,
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      '-vf',
      filters.join(','),
      // One encoder thread: ffmpeg 5+ frame-threads even rawvideo, which holds finished
      // frames back until several are queued (or the file ends).
      '-threads',
      '1',
      '-vsync',
      'passthrough',
      '-flush_packets',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      '-',
    );

    const child = spawnFfmpeg(args, signal);
    this.children.add(child);
    const frameBytes = size.width * size.height * 4;
    const pts: number[] = [];
    const frames: Uint8Array[] = [];
    let pending: Buffer[] = [],
      pendingLen = 0;
    let tb: [number, number] | undefined;
    let errText = '',
      errLine = '';
    let ended = false,
      failure: Error | undefined;
    let wake: (() => void) | undefined;
    const poke = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };

    child.stdout.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      pendingLen += chunk.length;
      while (pendingLen >= frameBytes) {
        const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        frames.push(new Uint8Array(all.buffer.slice(all.byteOffset, all.byteOffset + frameBytes)));
        const rest = all.subarray(frameBytes);
        pending = rest.length ? [rest] : [];
        pendingLen = rest.length;
      }
      if (frames.length > 8) child.stdout.pause(); // the consumer is behind
      poke();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      errLine += s;
      const lines = errLine.split('\n');
      errLine = lines.pop()!;
      for (const l of lines) {
        const m = /Parsed_showinfo.*\bn:\s*\d+\s+pts:\s*(-?\d+)/.exec(l);
        if (m) {
          pts.push(Number(m[1]));
          continue;
        }
        const c = /Parsed_showinfo.*config in time_base: (\d+)\/(\d+)/.exec(l);
        if (c) {
          tb = [Number(c[1]), Number(c[2])];
          continue;
        }
        if (!l.includes('Parsed_showinfo')) errText = (errText + '\n' + l).slice(-4000);
      }
      poke();
    });
    child.on('error', (e) => {
      failure = new SourceError(`cannot run ffmpeg: ${e.message}`, 'ERR_FFMPEG');
      ended = true;
      poke();
    });
    child.on('close', () => {
      ended = true;
      poke();
    });

    // Timestamps as the timeline counts them (the filter's time base is normally the stream's).
    const toTimeline = (p: number) => {
      if (!tb || (tb[0] === this.tl.num && tb[1] === this.tl.den)) return p;
      return Math.round((p * tb[0] * this.tl.den) / (tb[1] * this.tl.num));
    };
    try {
      let i = 0;
      for (;;) {
        if (signal?.aborted) throw new CancelledError();
        if (frames.length && pts.length > i) {
          const data = frames.shift()!;
          if (frames.length <= 8) child.stdout.resume();
          yield { pts: toTimeline(pts[i++]!), data };
          continue;
        }
        if (ended) {
          if (failure) throw failure;
          if (this.closed)
            throw new SourceError(`${this.info.name} was closed while decoding`, 'ERR_CLOSED');
          if (frames.length && pts.length <= i)
            throw new SourceError(
              `ffmpeg returned frames without timestamps for ${this.info.name}`,
              'ERR_FFMPEG',
            );
          // The decoder's own complaint says more than ffmpeg's closing lines.
          const decoderLine = errText
            .split('\n')
            .find(
              (l) =>
                /invalid|corrupt|missing|decod/i.test(l) && !/^\s*(Stream|Input|Output)/.test(l),
            );
          this.lastError = decoderLine
            ? ffmpegErrorTail(decoderLine, 1)
            : ffmpegErrorTail(errText, 1);
          return;
        }
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    } finally {
      this.children.delete(child);
      if (!ended) child.kill('SIGKILL');
    }
  }
}
