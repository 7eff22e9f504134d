/**
 * @clipchat/capture/node — the Node-only parts of the capture engine: the ffmpeg frame
 * source, the sharp still encoders and the sharp/ffmpeg sticker writers. Browser bundles
 * map this file to nothing. Importing it does no work: `grab` here hands sharp's encoders
 * to each call instead of registering them globally on import.
 */
import type { StickerFormat, StillFormat } from './config';
import {
  availableStillFormats as coreStillFormats,
  grab as grabWith,
  type GrabOptions,
  type Still,
} from './grab';
import type { StillEncoder } from './still/encoder';
import { sharpStillEncoders } from './still/sharp.node.ts';
import type { FrameSource } from './types';
import { FfmpegWebmWriter } from './webm/ffmpeg.node.ts';
import { SharpWebpWriter } from './webp/sharp.node.ts';
import type { StickerWriter } from './writer';

export * from './index';
export {
  findFfmpeg,
  findFfprobe,
  resetFfmpegPath,
  runTool,
  type ToolOptions,
  type ToolResult,
} from './ffmpeg.node.ts';
export { openVideo, checkCrop, shapeSize, type OpenVideoOptions } from './source/ffmpeg.node.ts';
export { sharpStillEncoders } from './still/sharp.node.ts';
export { SharpWebpWriter } from './webp/sharp.node.ts';
export { FfmpegWebmWriter } from './webm/ffmpeg.node.ts';

/**
 * The sticker writers Node adds to the engine's own GIF one (each format's `encoders.node`
 * in `formats.ts`), for `StickerRequest.writers`.
 */
export function nodeStickerWriters(): Partial<Record<StickerFormat, StickerWriter>> {
  return { webp: new SharpWebpWriter(), webm: new FfmpegWebmWriter() };
}

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
