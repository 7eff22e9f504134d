/**
 * The small contracts the capture pipeline is built from. Everything here is pure data:
 * no DOM, no Node built-ins, so the same engine runs in Node and in a browser worker.
 */
import type { CancelSignal } from './writer';

/** Seconds of player time (0 = the first presented frame). */
export type Seconds = number & { readonly __unit?: 'seconds' };
/** A count of bytes. */
export type Bytes = number & { readonly __unit?: 'bytes' };
/** A length in pixels. */
export type Pixels = number & { readonly __unit?: 'pixels' };

/** One decoded picture: tightly packed RGBA, 4 bytes a pixel, row after row. */
export interface RgbaImage {
  readonly width: Pixels;
  readonly height: Pixels;
  /** `width * height * 4` bytes, R,G,B,A. */
  readonly data: Uint8ClampedArray;
}

/** A frame of a video as the player would show it. */
export interface Frame extends RgbaImage {
  /** Presentation time in player time (seconds from the first presented frame). */
  readonly time: Seconds;
  /** Index of the frame in presentation order, from 0, when the source knows it. */
  readonly index?: number;
}

/** What a source knows about its video before decoding frames. */
export interface VideoInfo {
  /** Displayed size (after rotation metadata is applied). */
  readonly width: Pixels;
  readonly height: Pixels;
  /** Player-time duration: the last frame stays on screen until this time. */
  readonly duration: Seconds;
  /** Nominal frame rate when the container states one (VFR files may differ). */
  readonly frameRate?: number;
  /** Codec name as the decoder reports it, e.g. `h264`, `vp9`. */
  readonly codec?: string;
  /** Rotation metadata in degrees (already applied to width/height and frames). */
  readonly rotation?: number;
  /** A display name for the video (file name). */
  readonly name?: string;
}

/** A rectangle in video pixels (after rotation). */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** How a source should shape the frames it hands over (crop first, then scale). */
export interface FrameShape {
  crop?: Rect;
  /** Output size; omitted means the (cropped) size unchanged. */
  width?: number;
  height?: number;
}

/**
 * Where frames come from. `frameAt(t)` returns *the frame on screen at t*: the last
 * frame whose presentation time is ≤ t (frame-exact, never "nearest").
 */
export interface FrameSource {
  readonly info: VideoInfo;
  /** The frame on screen at `t`. Throws `TimeOutOfRangeError` when t is outside [0, duration). */
  frameAt(t: Seconds, shape?: FrameShape, signal?: CancelSignal): Promise<Frame>;
  /**
   * The frames on screen at each of `times` (ascending), in order. A source decodes the
   * stretch once; the same frame may be returned for several times.
   */
  framesAt(
    times: readonly Seconds[],
    shape?: FrameShape,
    signal?: CancelSignal,
  ): AsyncIterable<Frame>;
  close(): Promise<void>;
}

/** Progress of a long step. Return `false` (or abort the signal) to cancel. */
export type ProgressCallback = (p: Progress) => void | boolean;

export interface Progress {
  /** What is happening: 'decode', 'encode', 'fit', ... */
  readonly stage: string;
  /** 0..1 of the whole operation. */
  readonly fraction: number;
  readonly message?: string;
}
