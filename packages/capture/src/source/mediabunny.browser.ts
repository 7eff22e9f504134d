/**
 * The browser's frame-exact {@link FrameSource}: decodes a local file (a `Blob`/`File`)
 * with WebCodecs through mediabunny. Works on the main thread and in a worker.
 *
 * Player time 0 is the first presented frame: every time asked for is shifted by the
 * track's first timestamp before it reaches mediabunny, whose sinks return "the last
 * sample with a start timestamp ≤ t" — exactly the frame on screen at t.
 */
import {
  ALL_FORMATS,
  BlobSource,
  CanvasSink,
  Input,
  UrlSource,
  type InputVideoTrack,
} from 'mediabunny';
import { CancelledError, SourceError, TimeOutOfRangeError } from '../errors';
import type { Frame, FrameShape, FrameSource, Seconds, VideoInfo } from '../types';
import { mp4Damage } from './mp4-boxes';

/** `ERR_TRUNCATED` for an MP4 cut short or damaged, else undefined. */
async function damaged(file: Blob | string, label: string): Promise<SourceError | undefined> {
  if (typeof file === 'string') return undefined; // a URL: the server checked it when it was shared
  const why = await mp4Damage(
    async (o, n) => new Uint8Array(await file.slice(o, o + n).arrayBuffer()),
    file.size,
  ).catch(() => undefined);
  return why
    ? new SourceError(`${label} is truncated or damaged: ${why}`, 'ERR_TRUNCATED')
    : undefined;
}

/**
 * Timestamps in containers are integers over a timescale; once turned into seconds they
 * carry float error. A frame at 1/30 s must still count as "≤ t" when t is that same
 * 1/30, so times are nudged up by far less than any real frame interval.
 */
const EPSILON = 1e-6;

type Canvas2D = OffscreenCanvas | HTMLCanvasElement;

function imageOf(canvas: Canvas2D): Uint8ClampedArray {
  const ctx = canvas.getContext('2d', {
    willReadFrequently: true,
  } as CanvasRenderingContext2DSettings) as
    OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null;
  if (!ctx)
    throw new SourceError('this browser cannot read pixels back from a canvas', 'ERR_CANVAS');
  return ctx.getImageData(0, 0, canvas.width, canvas.height).data;
}

function checkSignal(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Opens a local video file as a frame-exact source. */
export class MediabunnyFrameSource implements FrameSource {
  readonly info: VideoInfo;
  private readonly input: Input;
  private readonly track: InputVideoTrack;
  /** Container timestamp of the first presented frame (seconds). */
  private readonly first: number;

  /** Container time of player time 0 (the first presented frame), in seconds. */
  get startTime(): number {
    return this.first;
  }
  private readonly sinks = new Map<string, CanvasSink>();

  private constructor(input: Input, track: InputVideoTrack, first: number, info: VideoInfo) {
    this.input = input;
    this.track = track;
    this.first = first;
    this.info = info;
  }

  /**
   * Reads the file's header and checks that this browser can decode its video.
   * @throws SourceError `ERR_NOT_VIDEO` for a file that is not a video container,
   *   `ERR_NO_VIDEO` when it has no video track, `ERR_TRUNCATED` for an MP4 cut short or
   *   damaged (which would otherwise look like either), `ERR_CODEC` when WebCodecs cannot decode it.
   * A string is a URL (a video shared into a conversation, `/media/<id>`): it is read with
   * HTTP range requests as frames are needed, never downloaded whole first.
   */
  static async open(file: Blob | string, name?: string): Promise<MediabunnyFrameSource> {
    const label = name ?? (typeof file === 'string' ? file : (file as File).name) ?? 'the file';
    const source =
      typeof file === 'string'
        ? new UrlSource(file, { requestInit: { credentials: 'same-origin' } })
        : new BlobSource(file);
    const input = new Input({ source, formats: ALL_FORMATS });
    let track: InputVideoTrack | null;
    try {
      await input.getFormat();
      track = await input.getPrimaryVideoTrack();
    } catch {
      input.dispose?.();
      throw (
        (await damaged(file, label)) ??
        new SourceError(
          `${label} is not a playable video (no known video container inside)`,
          'ERR_NOT_VIDEO',
        )
      );
    }
    if (!track) {
      input.dispose?.();
      throw (
        (await damaged(file, label)) ??
        new SourceError(`${label} has no video track`, 'ERR_NO_VIDEO')
      );
    }
    const codec = track.codec ?? 'unknown';
    if (!(await track.canDecode())) {
      input.dispose?.();
      throw new SourceError(
        `this browser cannot decode ${label}'s video codec (${codec})`,
        'ERR_CODEC',
      );
    }
    const first = await track.getFirstTimestamp();
    const end = await track.computeDuration();
    let frameRate: number | undefined;
    try {
      const stats = await track.computePacketStats(60);
      frameRate = stats.averagePacketRate || undefined;
    } catch {
      /* frame rate is informative only */
    }
    const info: VideoInfo = {
      width: await track.getDisplayWidth(),
      height: await track.getDisplayHeight(),
      duration: Math.max(0, end - first),
      frameRate,
      codec,
      rotation: await track.getRotation(),
      name: label,
    };
    return new MediabunnyFrameSource(input, track, first, info);
  }

  private sink(shape?: FrameShape): CanvasSink {
    const key = JSON.stringify(shape ?? {});
    let sink = this.sinks.get(key);
    if (!sink) {
      const crop = shape?.crop;
      sink = new CanvasSink(this.track, {
        crop: crop
          ? { left: crop.x, top: crop.y, width: crop.width, height: crop.height }
          : undefined,
        width: shape?.width,
        height: shape?.height,
        fit: shape?.width && shape?.height ? 'fill' : undefined,
      });
      this.sinks.set(key, sink);
    }
    return sink;
  }

  private check(t: number): void {
    if (!(t >= 0 && t < this.info.duration)) {
      throw new TimeOutOfRangeError(
        `time must be within 0–${this.info.duration.toFixed(3)} s of ${this.info.name}, got ${t}`,
      );
    }
  }

  async frameAt(t: Seconds, shape?: FrameShape, signal?: AbortSignal): Promise<Frame> {
    this.check(t);
    checkSignal(signal);
    const wrapped = await this.sink(shape).getCanvas(this.first + t + EPSILON);
    checkSignal(signal);
    if (!wrapped) throw new TimeOutOfRangeError(`no frame at ${t} s in ${this.info.name}`);
    const canvas = wrapped.canvas;
    return {
      width: canvas.width,
      height: canvas.height,
      data: imageOf(canvas),
      time: Math.max(0, wrapped.timestamp - this.first),
    };
  }

  async *framesAt(
    times: readonly Seconds[],
    shape?: FrameShape,
    signal?: AbortSignal,
  ): AsyncIterable<Frame> {
    for (const t of times) this.check(t);
    const shifted = times.map((t) => this.first + t + EPSILON);
    let i = 0;
    for await (const wrapped of this.sink(shape).canvasesAtTimestamps(shifted)) {
      checkSignal(signal);
      if (!wrapped) throw new TimeOutOfRangeError(`no frame at ${times[i]} s in ${this.info.name}`);
      const canvas = wrapped.canvas;
      i++;
      yield {
        width: canvas.width,
        height: canvas.height,
        data: imageOf(canvas),
        time: Math.max(0, wrapped.timestamp - this.first),
      };
    }
  }

  async close(): Promise<void> {
    this.sinks.clear();
    this.input.dispose?.();
  }
}
