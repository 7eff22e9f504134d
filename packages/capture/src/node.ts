/**
 * @clipchat/capture/node — the Node-only parts of the capture engine: the ffmpeg frame
 * source and the sharp still encoders. Browser bundles map this file to nothing.
 */
import { registerStillEncoders } from './grab';
import { sharpStillEncoders } from './still/sharp.node.ts';

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

// JPEG, WebP, AVIF and TIFF stills are available to every grab once this entry is loaded.
registerStillEncoders(sharpStillEncoders);
export { SharpWebpWriter, fitWebp, sharpScaler } from './webp/sharp.node.ts';
export { FfmpegWebmWriter, fitWebm } from './webm/ffmpeg.node.ts';
export { GifWorkerPool, serveGifWorker } from './gif/pool.node.ts';
