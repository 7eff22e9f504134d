/**
 * @clipchat/capture/node — the Node-only parts of the capture engine: the ffmpeg frame
 * source and the sharp still encoders. Browser bundles map this file to nothing.
 */
export * from './index';
export { findFfmpeg, resetFfmpegPath } from './ffmpeg.node.ts';
export { openVideo, checkCrop, shapeSize, type OpenVideoOptions } from './source/ffmpeg.node.ts';
