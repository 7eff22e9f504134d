/**
 * @clipchat/capture/node — the Node-only parts of the capture engine: the ffmpeg frame
 * source, the sharp still encoders and the sharp/ffmpeg sticker writers. Browser bundles
 * map this file to nothing. Importing it does no work: `grab` here hands sharp's encoders
 * to each call instead of registering them globally on import.
 */
import type { StillFormat } from './config';
import {
  availableStillFormats as coreStillFormats,
  grab as grabWith,
  type GrabOptions,
  type Still,
} from './grab';
import type { StillEncoder } from './still/encoder';
import { sharpStillEncoders } from './still/sharp.node.ts';
import type { FrameSource } from './types';

export * from './index';
export { findFfmpeg, resetFfmpegPath } from './ffmpeg.node.ts';
export { openVideo, checkCrop, shapeSize, type OpenVideoOptions } from './source/ffmpeg.node.ts';
export { sharpStillEncoders } from './still/sharp.node.ts';
export { SharpWebpWriter } from './webp/sharp.node.ts';
export { FfmpegWebmWriter } from './webm/ffmpeg.node.ts';

const sharpByFormat = (): Partial<Record<StillFormat, StillEncoder>> =>
  Object.fromEntries(sharpStillEncoders.map((e) => [e.format, e]));

/**
 * {@link grabWith | The engine's grab} with sharp's JPEG, WebP, AVIF and TIFF encoders
 * over the built-in PNG, BMP and GIF ones; `options.encoders` still win.
 */
export function grab(source: FrameSource, options: GrabOptions): Promise<Still> {
  return grabWith(source, { ...options, encoders: { ...sharpByFormat(), ...options.encoders } });
}

/** The formats this entry's {@link grab} can write: the built-in ones and sharp's. */
export function availableStillFormats(): StillFormat[] {
  const core = coreStillFormats();
  return [...core, ...sharpStillEncoders.map((e) => e.format).filter((f) => !core.includes(f))];
}
