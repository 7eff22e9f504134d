/**
 * The still pipeline: the frame on screen at a time point → RGBA capture → PNG (the
 * capture's original format) → the configured format. When the configured format is
 * PNG, the capture's bytes pass straight through; otherwise they are converted.
 */
import { DEFAULT_SETTINGS, type CaptureSettings, type StillFormat } from './config';
import { CancelledError, CaptureError, InvalidSettingError } from './errors';
import {
  bmpEncoder,
  encodePng,
  gifStillEncoder,
  pngEncoder,
  STILL_MIME,
  type StillEncoder,
} from './still/index';
import type { FrameShape, FrameSource, ProgressCallback, Rect, Seconds } from './types';
import type { CancelSignal } from './writer';
import { checkCropInside } from './frame-size';

/** A grab request. */
export interface GrabOptions {
  /** Player time of the wanted frame, in seconds. */
  at: Seconds;
  /** Capture settings (stillFormat, stillQuality, crop); default {@link DEFAULT_SETTINGS}. */
  settings?: CaptureSettings;
  /** Overrides `settings.crop`: region in video pixels (after rotation); null keeps all. */
  crop?: Rect | null;
  /** Output width in pixels (height keeps the aspect); default: the (cropped) width. */
  width?: number;
  /** Encoders to use, by format, over the built-in PNG/BMP/GIF and registered ones. */
  encoders?: Partial<Record<StillFormat, StillEncoder>>;
  signal?: CancelSignal;
  /** Called after decoding and after encoding; return false to cancel. */
  onProgress?: ProgressCallback;
}

/** A finished still. */
export interface Still {
  bytes: Uint8Array;
  format: StillFormat;
  mime: string;
  width: number;
  height: number;
  /** Presentation time of the captured frame (≤ the requested time). */
  time: Seconds;
  /** Index of the captured frame in presentation order, when the source knows it. */
  frameIndex?: number;
  /** True when the capture's PNG bytes were returned unchanged. */
  passthrough: boolean;
  timings: { decodeMs: number; encodeMs: number; totalMs: number };
}

const registry = new Map<StillFormat, StillEncoder>([
  ['png', pngEncoder],
  ['bmp', bmpEncoder],
  ['gif', gifStillEncoder],
]);

/**
 * Makes `encoders` available to every {@link grab} (platform entry points register
 * theirs, e.g. sharp's JPEG/WebP/AVIF/TIFF in Node).
 */
export function registerStillEncoders(encoders: readonly StillEncoder[]): void {
  for (const e of encoders) registry.set(e.format, e);
}

/** The formats {@link grab} can write here without extra encoders. */
export function availableStillFormats(): StillFormat[] {
  return [...registry.keys()];
}

const clock = globalThis as unknown as { performance?: { now(): number } };
const now = () => clock.performance?.now() ?? Date.now();

/** Largest output side a still may be scaled to. */
export const MAX_STILL_SIDE = 8192;

/**
 * Grabs the frame on screen at `options.at` as a still in `settings.stillFormat`.
 * @throws TimeOutOfRangeError outside the video, InvalidSettingError for a crop outside
 *   the frame or a bad width, CaptureError `ERR_FORMAT_UNAVAILABLE` when no encoder for the
 *   format is available, CancelledError when cancelled, SourceError from the source.
 */
export async function grab(source: FrameSource, options: GrabOptions): Promise<Still> {
  const t0 = now();
  const settings = options.settings ?? DEFAULT_SETTINGS;
  const format = settings.stillFormat;
  const encoder = options.encoders?.[format] ?? registry.get(format);
  if (!encoder) {
    throw new CaptureError(
      'ERR_FORMAT_UNAVAILABLE',
      `no ${format} encoder is available here; available: ${[...registry.keys()].join(', ')}`,
      'stillFormat',
    );
  }
  const crop = options.crop !== undefined ? options.crop : settings.crop;
  // Checked here, not only by sources: a browser decoder would paint the missing pixels
  // transparent and hand back a still bigger than the video.
  if (crop) checkCropInside(crop, source.info.width, source.info.height, true);
  const shape: FrameShape = {};
  if (crop) shape.crop = crop;
  if (options.width !== undefined) {
    const w = options.width;
    if (!Number.isInteger(w) || w < 1 || w > MAX_STILL_SIDE) {
      throw new InvalidSettingError(
        'width',
        `width must be a whole number of pixels 1–${MAX_STILL_SIDE}, got ${w}`,
      );
    }
    const cw = crop ? crop.width : source.info.width,
      ch = crop ? crop.height : source.info.height;
    const h = Math.max(1, Math.round((ch * w) / cw));
    if (h > MAX_STILL_SIDE)
      throw new InvalidSettingError(
        'width',
        `width ${w} makes the still ${h} pixels high; at most ${MAX_STILL_SIDE} allowed`,
      );
    shape.width = w;
    shape.height = h;
  }
  const signal = options.signal;
  const check = (stage: string, fraction: number) => {
    if (signal?.aborted || options.onProgress?.({ stage, fraction }) === false)
      throw new CancelledError();
  };
  check('decode', 0);
  // The source reads `aborted` (and listens for abort when it can); a CancelSignal is enough.
  const frame = await source.frameAt(options.at, shape, signal);
  const t1 = now();
  check('encode', 0.5);
  // The capture's original format is PNG. When that is what is asked for, its bytes are
  // the answer; otherwise the converter starts from the same decoded pixels (the PNG is
  // lossless, so decoding it again would only cost time).
  const passthrough = format === 'png' && encoder === pngEncoder;
  const bytes = passthrough
    ? encodePng(frame)
    : await encoder.encode(frame, { quality: settings.stillQuality, signal });
  const t2 = now();
  check('done', 1);
  return {
    bytes,
    format,
    mime: STILL_MIME[format],
    width: frame.width,
    height: frame.height,
    time: frame.time,
    frameIndex: frame.index,
    passthrough,
    timings: {
      decodeMs: Math.round(t1 - t0),
      encodeMs: Math.round(t2 - t1),
      totalMs: Math.round(t2 - t0),
    },
  };
}
