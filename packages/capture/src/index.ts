/**
 * @clipchat/capture — Clipchat's capture engine. Pure TypeScript over typed arrays: this
 * entry point pulls no Node or DOM APIs. Node parts (ffmpeg frame source, sharp still
 * encoders) are exported from `@clipchat/capture/node`.
 */
export * from './types';
export * from './errors';
export * from './config';
export * from './time';
