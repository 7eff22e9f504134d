/**
 * Fallback {@link FrameSource} for files WebCodecs cannot decode but the page's `<video>`
 * element can play: it seeks a (hidden) video element and draws what it shows. Main
 * thread only, and slower than decoding (one seek per frame); exactness depends on the
 * browser landing the seek on the frame on screen at t, so times are aimed just after
 * the wanted instant.
 */
import { CancelledError, SourceError, TimeOutOfRangeError } from '../errors';
import type { Frame, FrameShape, FrameSource, Seconds, VideoInfo } from '../types';

/** Said to the user when this source is in use. */
export const SLOW_CAPTURE_NOTICE =
  'This browser cannot decode the video directly, so frames are captured by seeking the player: capture may be slower.';

function waitFor(video: HTMLVideoElement, event: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      cleanup();
      resolve();
    };
    const fail = () => {
      cleanup();
      reject(new SourceError('the video element failed while seeking', 'ERR_SOURCE'));
    };
    const abort = () => {
      cleanup();
      reject(new CancelledError());
    };
    const cleanup = () => {
      video.removeEventListener(event, done);
      video.removeEventListener('error', fail);
      signal?.removeEventListener('abort', abort);
    };
    video.addEventListener(event, done, { once: true });
    video.addEventListener('error', fail, { once: true });
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/** Captures frames by seeking an `HTMLVideoElement` playing `file`. */
export class VideoElementFrameSource implements FrameSource {
  readonly info: VideoInfo;
  private readonly video: HTMLVideoElement;
  private readonly url: string;
  private readonly canvas = document.createElement('canvas');

  private constructor(video: HTMLVideoElement, url: string, info: VideoInfo) {
    this.video = video;
    this.url = url;
    this.info = info;
  }

  /** @throws SourceError `ERR_NOT_VIDEO` when the element cannot load the file either. */
  static async open(file: Blob | string, name?: string): Promise<VideoElementFrameSource> {
    const label = name ?? (typeof file === 'string' ? file : (file as File).name) ?? 'the file';
    const video = document.createElement('video');
    video.muted = true;
    video.preload = 'auto';
    video.playsInline = true;
    // A URL string (a shared video) plays by range requests; a Blob through an object URL.
    const url = typeof file === 'string' ? file : URL.createObjectURL(file);
    video.src = url;
    try {
      await waitFor(video, 'loadeddata');
    } catch {
      URL.revokeObjectURL(url);
      throw new SourceError(`${label} is not a playable video in this browser`, 'ERR_NOT_VIDEO');
    }
    const info: VideoInfo = {
      width: video.videoWidth,
      height: video.videoHeight,
      duration: video.duration,
      name: label,
    };
    return new VideoElementFrameSource(video, url, info);
  }

  private async seek(t: number, signal?: AbortSignal): Promise<void> {
    const v = this.video;
    if (Math.abs(v.currentTime - t) < 1e-7 && v.readyState >= 2) return;
    const seeked = waitFor(v, 'seeked', signal);
    v.currentTime = t;
    await seeked;
  }

  private draw(shape?: FrameShape): Frame {
    const v = this.video;
    const crop = shape?.crop ?? { x: 0, y: 0, width: v.videoWidth, height: v.videoHeight };
    const width = shape?.width ?? crop.width;
    const height = shape?.height ?? Math.round((crop.height * width) / crop.width);
    this.canvas.width = width;
    this.canvas.height = height;
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(v, crop.x, crop.y, crop.width, crop.height, 0, 0, width, height);
    return { width, height, data: ctx.getImageData(0, 0, width, height).data, time: v.currentTime };
  }

  async frameAt(t: Seconds, shape?: FrameShape, signal?: AbortSignal): Promise<Frame> {
    if (!(t >= 0 && t < this.info.duration)) {
      throw new TimeOutOfRangeError(
        `time must be within 0–${this.info.duration.toFixed(3)} s, got ${t}`,
      );
    }
    await this.seek(t + 1e-4, signal);
    return this.draw(shape);
  }

  async *framesAt(
    times: readonly Seconds[],
    shape?: FrameShape,
    signal?: AbortSignal,
  ): AsyncIterable<Frame> {
    for (const t of times) yield await this.frameAt(t, shape, signal);
  }

  async close(): Promise<void> {
    this.video.removeAttribute('src');
    this.video.load();
    URL.revokeObjectURL(this.url);
  }
}
