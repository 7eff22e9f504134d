/**
 * One-frame GIF stills through Clipchat's own GIF writer (palette, dithering, LZW).
 */
import { encodeGifStill } from '../gif/index';
import type { StillEncoder } from './encoder';

/** GIF as a {@link StillEncoder}: 256 colours, error-diffusion dither; quality below 90 allows lossy LZW. */
export const gifStillEncoder: StillEncoder = {
  format: 'gif',
  mime: 'image/gif',
  lossy: true,
  encode: (image, options) =>
    encodeGifStill(image, { quality: options.quality, signal: options.signal }),
};
