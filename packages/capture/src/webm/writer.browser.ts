/**
 * WebM (VP9) sticker writer for the browser: WebCodecs encodes, mediabunny muxes.
 * Quality maps to a bitrate, capped so the whole clip aims under the byte budget; budget
 * fitting retries lower when a try still comes out too big.
 */
import {
  BufferTarget,
  Output,
  VideoSample,
  VideoSampleSource,
  WebMOutputFormat,
  canEncodeVideo,
} from 'mediabunny';
import { CaptureError } from '../errors';
import type { RgbaImage } from '../types';
import {
  OverBudgetError,
  throwIfCancelled,
  type StickerEncodeOptions,
  type StickerWriter,
} from '../writer';

/** Whether this browser has a VP9 encoder (WebCodecs). */
export async function canWriteWebm(width = 320, height = 240): Promise<boolean> {
  try {
    return await canEncodeVideo('vp9', { width, height });
  } catch {
    return false;
  }
}

/** Bits per second for a quality target: bits per pixel per frame grows with quality. */
function bitrateFor(quality: number, width: number, height: number, fps: number): number {
  const q = Math.min(100, Math.max(1, quality)) / 100;
  const bpp = 0.01 + 0.25 * q * q;
  return Math.max(20_000, Math.round(width * height * fps * bpp));
}

/** Writes VP9 WebM stickers with WebCodecs. */
export class BrowserWebmWriter implements StickerWriter {
  readonly format = 'webm' as const;
  readonly mime = 'video/webm';
  readonly maxFps = 60;

  async encode(
    frames: readonly RgbaImage[],
    delaysMs: readonly number[],
    options: StickerEncodeOptions,
  ): Promise<Uint8Array> {
    if (!frames.length) throw new CaptureError('ERR_EMPTY', 'a sticker needs at least one frame');
    const { width, height } = frames[0]!;
    const totalMs = delaysMs.reduce((a, b) => a + b, 0) || 1;
    const fps = (frames.length * 1000) / totalMs;
    let bitrate = bitrateFor(options.quality, width, height, fps);
    if (options.maxBytes) {
      // Leave ~10% for container overhead and the encoder's overshoot.
      const cap = Math.floor((options.maxBytes * 8 * 0.85) / (totalMs / 1000));
      bitrate = Math.max(10_000, Math.min(bitrate, cap));
    }
    const target = new BufferTarget();
    const output = new Output({ format: new WebMOutputFormat(), target });
    const source = new VideoSampleSource({
      codec: 'vp9',
      bitrate,
      keyFrameInterval: 10,
      sizeChangeBehavior: 'passThrough',
    });
    output.addVideoTrack(source, { frameRate: Math.round(fps) || 1 });
    await output.start();
    let t = 0;
    try {
      for (let i = 0; i < frames.length; i++) {
        throwIfCancelled(options.signal);
        const f = frames[i]!;
        const d = delaysMs[i]! / 1000;
        const sample = new VideoSample(f.data, {
          format: 'RGBA',
          codedWidth: f.width,
          codedHeight: f.height,
          timestamp: t,
          duration: d,
        });
        await source.add(sample);
        sample.close();
        t += d;
        if (options.onProgress?.((i + 1) / frames.length) === false)
          throw new CaptureError('ERR_CANCELLED', 'cancelled');
      }
      await output.finalize();
    } catch (e) {
      await output.cancel().catch(() => {});
      throw e;
    }
    const bytes = new Uint8Array(target.buffer!);
    if (options.maxBytes && bytes.length > options.maxBytes)
      throw new OverBudgetError(bytes.length, options.maxBytes);
    return bytes;
  }
}
