/**
 * What the browser adds to the engine's still pipeline (`grab`): its own encoders, and the
 * paused player's picture as a frame source. The capture is RGBA; PNG, JPEG, WebP and AVIF
 * are written by the browser's canvas, TIFF by the engine's pure-TypeScript writer, GIF and
 * BMP by the engine's own encoders (grab's built-ins).
 */
import {
  STILL_MIME,
  type Frame,
  type FrameShape,
  type FrameSource,
  type StillEncoder,
  type StillFormat,
  type VideoInfo,
} from '@clipchat/capture';
import { canvasCanTry, encodeStillWithCanvas, encodeTiff } from '@clipchat/capture/browser';

function canvasEncoder(format: 'png' | 'jpeg' | 'webp' | 'avif'): StillEncoder {
  return {
    format,
    mime: STILL_MIME[format],
    lossy: format !== 'png',
    encode: (image, o) => encodeStillWithCanvas(image, format, o.quality),
  };
}

const tiffEncoder: StillEncoder = {
  format: 'tiff',
  mime: STILL_MIME.tiff,
  lossy: false,
  encode: async (image) => encodeTiff(image),
};

/**
 * The encoders `grab` is given in the browser. The canvas's PNG wins over the engine's
 * own (the bytes the app has always sent); a browser without `OffscreenCanvas` keeps
 * grab's built-in PNG.
 */
export function browserStillEncoders(): Partial<Record<StillFormat, StillEncoder>> {
  const out: Partial<Record<StillFormat, StillEncoder>> = { tiff: tiffEncoder };
  for (const f of ['png', 'jpeg', 'webp', 'avif'] as const)
    if (canvasCanTry(f)) out[f] = canvasEncoder(f);
  return out;
}

/**
 * The paused player's own picture of the frame at `at` (an `ImageBitmap`) as a one-frame
 * source, so a still from it goes through `grab` like one decoded from the file: same
 * crop check, same encoders. `video`: the opened video's info (the picture is its frame at
 * its displayed size). Taking the frame closes the picture.
 */
export class PictureSource implements FrameSource {
  readonly info: VideoInfo;

  constructor(
    private readonly picture: ImageBitmap,
    private readonly at: number,
    video?: VideoInfo,
  ) {
    this.info = video ?? { width: picture.width, height: picture.height, duration: at + 1 };
  }

  /** The picture, cropped to `shape.crop` (grab asks no other size of it). */
  async frameAt(_t: number, shape?: FrameShape): Promise<Frame> {
    const p = this.picture;
    const r = shape?.crop ?? { x: 0, y: 0, width: p.width, height: p.height };
    const canvas = new OffscreenCanvas(r.width, r.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(p, r.x, r.y, r.width, r.height, 0, 0, r.width, r.height);
    p.close();
    const data = ctx.getImageData(0, 0, r.width, r.height).data;
    return { width: r.width, height: r.height, data, time: this.at };
  }

  framesAt(): AsyncIterable<Frame> {
    throw new Error('a player picture holds one frame');
  }

  async close(): Promise<void> {
    this.picture.close();
  }
}
