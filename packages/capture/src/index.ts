/**
 * @clipchat/capture — Clipchat's capture engine. Pure TypeScript over typed arrays: this
 * entry point pulls no Node or DOM APIs. Node parts (ffmpeg frame source, sharp still
 * encoders) are exported from `@clipchat/capture/node`.
 */
export * from './types';
export * from './errors';
export * from './config';
export {
  STICKER_FORMAT_FACTS,
  STILL_FORMAT_FACTS,
  formatFacts,
  formatOfExtension,
  sniffFormat,
  type FormatEncoders,
  type FormatFacts,
  type OutputFormat,
  type StickerFormatFacts,
  type StillFormatFacts,
} from './formats';
export * from './time';
export * from './still/index';
export * from './grab';
export * from './writer';
export * from './gif/index';
export * from './fit';
export * from './clip';
export * from './frame-size';
export { letterboxWriter, padFrame } from './letterbox';
export { letterboxGif } from './gif/letterbox';
export { muxAnimatedWebp, parseWebpStill, roundDelays, MuxedWebpWriter } from './webp/mux';
export type { WebpStill, MuxFrame, MuxOptions, WebpFrameEncoder } from './webp/mux';
