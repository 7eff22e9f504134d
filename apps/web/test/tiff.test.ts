/** The browser TIFF writer, decoded by sharp (libtiff): same pixels back, opaque and with alpha. */
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { encodeTiff } from '../../../packages/capture/src/still/tiff.browser';

function image(width: number, height: number, alpha: boolean) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[i * 4] = (i * 7) & 255;
    data[i * 4 + 1] = (i * 13) & 255;
    data[i * 4 + 2] = (i * 29) & 255;
    data[i * 4 + 3] = alpha ? (i * 3) & 255 : 255;
  }
  return { width, height, data };
}

describe('encodeTiff', () => {
  for (const alpha of [false, true]) {
    it(`round-trips ${alpha ? 'RGBA' : 'RGB'} pixels through libtiff`, async () => {
      const img = image(37, 23, alpha);
      const { data, info } = await sharp(encodeTiff(img))
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([37, 23, 4]);
      expect(Buffer.compare(data, Buffer.from(img.data))).toBe(0);
    });
  }
});
