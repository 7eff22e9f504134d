/**
 * Animated WebP sticker writer for the browser: each frame is encoded by the browser's
 * own WebP encoder (`OffscreenCanvas.convertToBlob`) and muxed in pure TypeScript by
 * {@link MuxedWebpWriter}. Works in workers.
 */
import { encodeStillWithCanvas } from '../still/canvas.browser';
import { MuxedWebpWriter } from './mux';

/** Animated WebP writer over `OffscreenCanvas` WebP stills. */
export class BrowserWebpWriter extends MuxedWebpWriter {
  constructor() {
    super((frame, quality) => encodeStillWithCanvas(frame, 'webp', quality));
  }
}
