/**
 * A sticker's geometry (crop, square, letterbox), letterboxing a GIF (checked by ffmpeg's
 * decoder), crops outside the frame refused by grab itself, preset rules, and setting
 * errors in the words of the settings form.
 */
import { describe, expect, it } from 'vitest';
import {
  applyPreset,
  checkPresetRules,
  encodeGif,
  formatByteSize,
  getPreset,
  grab,
  InvalidSettingError,
  letterboxGif,
  makeSticker,
  parseBytes,
  parseCropText,
  stickerGeometry,
  stickerShape,
  validateSettings,
  type Frame,
  type FrameShape,
  type FrameSource,
  type RgbaImage,
} from '../src/index';
import { ffmpegFrames } from './gif-helpers';
import { rng } from './helpers';

function errorOf(fn: () => unknown): InvalidSettingError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidSettingError);
    return e as InvalidSettingError;
  }
  throw new Error('expected an InvalidSettingError');
}
async function rejectionOf(p: Promise<unknown>): Promise<InvalidSettingError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidSettingError);
    return e as InvalidSettingError;
  }
  throw new Error('expected an InvalidSettingError');
}

const square = (
  maxSide: number,
  fit: 'contain' | 'cover',
  crop: FrameShape['crop'] | null = null,
) => validateSettings({ maxSide, frameSize: 'square', fit, crop });

describe('sticker geometry', () => {
  it('letterboxes contain, crops cover to a square, and scales side up to exactly maxSide', () => {
    expect(stickerGeometry(854, 480, square(512, 'contain'))).toEqual({
      crop: null,
      width: 512,
      height: 288,
      canvasWidth: 512,
      canvasHeight: 512,
      x: 0,
      y: 112,
      fixed: true,
    });
    expect(stickerGeometry(480, 854, square(320, 'contain'))).toMatchObject({
      width: 180,
      height: 320,
      x: 70,
      y: 0,
    });
    // Cover: the centre square of the frame.
    expect(stickerGeometry(854, 480, square(320, 'cover'))).toEqual({
      crop: { x: 187, y: 0, width: 480, height: 480 },
      width: 320,
      height: 320,
      canvasWidth: 320,
      canvasHeight: 320,
      x: 0,
      y: 0,
      fixed: true,
    });
    // The person's crop extended to a square around its centre, moved inside the frame...
    expect(
      stickerGeometry(854, 480, square(128, 'cover', { x: 100, y: 50, width: 200, height: 100 }))
        .crop,
    ).toEqual({ x: 100, y: 0, width: 200, height: 200 });
    expect(
      stickerGeometry(854, 480, square(128, 'cover', { x: 800, y: 400, width: 54, height: 20 }))
        .crop,
    ).toEqual({ x: 800, y: 383, width: 54, height: 54 });
    // ...and when the frame is too short for it, the largest square around the same centre.
    expect(
      stickerGeometry(854, 480, square(128, 'cover', { x: 0, y: 100, width: 800, height: 100 }))
        .crop,
    ).toEqual({ x: 160, y: 0, width: 480, height: 480 });
    // Side: one side exactly maxSide, scaled up from a small video.
    expect(
      stickerGeometry(320, 240, validateSettings({ maxSide: 512, frameSize: 'side' })),
    ).toMatchObject({ width: 512, height: 384, canvasWidth: 512, canvasHeight: 384, fixed: true });
    // The usual rule is untouched: never up, and a width asked for is honoured.
    expect(stickerGeometry(320, 240, validateSettings({ maxSide: 512 }))).toMatchObject({
      width: 320,
      height: 240,
      fixed: false,
    });
    expect(stickerGeometry(854, 480, validateSettings({}), null, 200)).toMatchObject({
      width: 200,
      height: 112,
    });
    expect(errorOf(() => stickerGeometry(854, 480, square(320, 'cover'), null, 200)).plain).toBe(
      'A square 320×320 sticker has a fixed size: leave the width out',
    );
  });
});

/**
 * A test source the way a browser decoder behaves: it paints pixels past the frame's edge
 * transparent instead of refusing.
 */
class PaintingSource implements FrameSource {
  readonly info = { width: 64, height: 48, duration: 2 };
  async frameAt(t: number, shape?: FrameShape): Promise<Frame> {
    const w = shape?.width ?? shape?.crop?.width ?? 64,
      h = shape?.height ?? shape?.crop?.height ?? 48;
    return { width: w, height: h, data: new Uint8ClampedArray(w * h * 4), time: t };
  }
  async *framesAt(times: readonly number[], shape?: FrameShape): AsyncIterable<Frame> {
    for (const t of times) yield this.frameAt(t, shape);
  }
  async close(): Promise<void> {}
}

/** A 320×240 source that records the shape each `framesAt` is asked for. */
class RecordingSource implements FrameSource {
  readonly info = { width: 320, height: 240, duration: 2 };
  readonly shapes: Array<FrameShape | undefined> = [];
  async frameAt(t: number, shape?: FrameShape): Promise<Frame> {
    const w = shape?.width ?? shape?.crop?.width ?? 320,
      h = shape?.height ?? shape?.crop?.height ?? 240;
    return { width: w, height: h, data: new Uint8ClampedArray(w * h * 4), time: t };
  }
  async *framesAt(times: readonly number[], shape?: FrameShape): AsyncIterable<Frame> {
    this.shapes.push(shape);
    for (const t of times) yield this.frameAt(t, shape);
  }
  async close(): Promise<void> {}
}

describe('sticker shape', () => {
  it('is the shape makeSticker first decodes, crop or not', async () => {
    const crop = { x: 200, y: 20, width: 100, height: 50 };
    const cases = [
      validateSettings({ maxSide: 128, fps: 10 }),
      validateSettings({ maxSide: 96, frameSize: 'square', fit: 'cover', crop, fps: 10 }),
      validateSettings({ maxSide: 96, frameSize: 'square', fit: 'contain', fps: 10 }),
      validateSettings({ maxSide: 128, frameSize: 'side', crop, fps: 10 }),
    ];
    for (const settings of cases) {
      const src = new RecordingSource();
      await makeSticker(src, { from: 0, to: 0.2, settings });
      expect(src.shapes[0]).toEqual(stickerShape(320, 240, settings));
    }
    expect(stickerShape(320, 240, cases[0]!)).toEqual({ width: 128, height: 96 });
    expect(stickerShape(320, 240, cases[1]!)).toEqual({
      width: 96,
      height: 96,
      crop: { x: 200, y: 0, width: 100, height: 100 },
    });
    expect(stickerShape(320, 240, cases[3]!)).toEqual({ width: 128, height: 64, crop });
  });
});

describe('crops outside the frame', () => {
  it('are refused by grab itself, with the words stickers give', async () => {
    const crop = { x: 10, y: 10, width: 5000, height: 5000 };
    const settings = validateSettings({ crop });
    const still = await rejectionOf(grab(new PaintingSource(), { at: 0.5, settings }));
    const sticker = await rejectionOf(
      makeSticker(new PaintingSource(), { from: 0, to: 1, settings }),
    );
    expect(still.field).toBe('crop');
    expect(still.plain).toBe(
      'The crop 10, 10, 5000×5000 reaches outside the 64×48 video: keep it inside the frame',
    );
    expect(sticker.plain).toBe(still.plain);
    // A crop inside the frame still makes a still of the crop's size.
    expect(
      await grab(new PaintingSource(), {
        at: 0.5,
        settings: validateSettings({ crop: { x: 4, y: 4, width: 20, height: 10 } }),
      }),
    ).toMatchObject({ width: 20, height: 10 });
  });
});

describe('letterboxed GIFs', () => {
  it('keep every later frame as written and show the bars transparent in ffmpeg', async () => {
    const next = rng(7);
    const frames: RgbaImage[] = Array.from({ length: 3 }, () => {
      const data = new Uint8ClampedArray(40 * 20 * 4);
      for (let i = 0; i < data.length; i += 4) {
        data[i] = next() * 255;
        data[i + 1] = next() * 255;
        data[i + 2] = 90;
        data[i + 3] = 255;
      }
      return { width: 40, height: 20, data };
    });
    const plain = (await encodeGif(frames, { delaysMs: [100, 100, 100], quality: 90 })).bytes;
    const boxed = letterboxGif(plain, 40, 40, 0, 10);
    const a = ffmpegFrames(plain, 40, 20),
      b = ffmpegFrames(boxed, 40, 40);
    expect(b).toHaveLength(a.length);
    for (let k = 0; k < a.length; k++) {
      for (let y = 0; y < 40; y++) {
        for (let x = 0; x < 40; x++) {
          const o = (y * 40 + x) * 4;
          if (y < 10 || y >= 30) {
            expect(b[k]![o + 3], `bar ${x},${y} of frame ${k}`).toBe(0);
            continue;
          }
          const i = ((y - 10) * 40 + x) * 4;
          expect([...b[k]!.subarray(o, o + 4)]).toEqual([...a[k]!.subarray(i, i + 4)]);
        }
      }
    }
    // A still with all 256 entries used gives up its rarest colour for the bars.
    const full = new Uint8ClampedArray(16 * 16 * 4);
    for (let i = 0; i < 256; i++) full.set([i, 255 - i, (i * 7) & 255, 255], i * 4);
    const still = (
      await encodeGif([{ width: 16, height: 16, data: full }], {
        delaysMs: [100],
        quality: 100,
        dither: 'none',
      })
    ).bytes;
    const s = ffmpegFrames(letterboxGif(still, 16, 20, 0, 2), 16, 20)[0]!;
    expect([s[3], s[(19 * 16 + 15) * 4 + 3], s[2 * 16 * 4 + 3], s[(17 * 16 + 15) * 4 + 3]]).toEqual(
      [0, 0, 255, 255],
    );
  });
});

describe('preset rules', () => {
  it('refuse overrides the platform would refuse', () => {
    const telegram = getPreset('telegram');
    expect(() => checkPresetRules(telegram, applyPreset('telegram'))).not.toThrow();
    expect(
      errorOf(() =>
        checkPresetRules(telegram, validateSettings({ fps: 60 }, applyPreset('telegram'))),
      ).message,
    ).toBe('Telegram video sticker allows at most 30 fps, got 60');
    expect(
      errorOf(() =>
        checkPresetRules(
          telegram,
          validateSettings({ maxClipSeconds: 4 }, applyPreset('telegram')),
        ),
      ).field,
    ).toBe('maxClipSeconds');
    expect(
      errorOf(() =>
        checkPresetRules(
          getPreset('slack'),
          validateSettings({ stickerFormat: 'webp' }, applyPreset('slack')),
        ),
      ).message,
    ).toBe('Slack emoji allows gif stickers, got webp');
  });
});

describe('setting errors in words', () => {
  it('name the setting by its label, say "needed" for an empty field and show what a crop looks like', () => {
    expect(errorOf(() => validateSettings({ maxSide: 10 })).plain).toBe(
      'Largest side must be 64–1920 px, got 10',
    );
    expect(errorOf(() => validateSettings({ maxSide: Number.NaN })).plain).toBe(
      'Largest side is needed (64–1920 px)',
    );
    expect(errorOf(() => validateSettings({ fps: Number.NaN })).plain).toBe(
      'Frames per second is needed (1–60 fps)',
    );
    expect(errorOf(() => validateSettings({ fps: 500 })).plain).toBe(
      'Frames per second must be 1–50 for GIF, got 500',
    );
    expect(errorOf(() => validateSettings({ stillQuality: 50.5 })).plain).toBe(
      'Still quality must be a whole number, got 50.5',
    );
    expect(errorOf(() => validateSettings({ maxStickerBytes: 1000 })).plain).toBe(
      'Sticker size limit must be 16 KiB–8 MiB, got 1 KB',
    );
    expect(errorOf(() => validateSettings({ stickerFormat: '' })).plain).toBe(
      'Sticker format is needed (gif, webp, webm)',
    );
    expect(errorOf(() => parseCropText('abc')).plain).toBe(
      'Crop must be four whole numbers x, y, width, height in video pixels (for example 0, 0, 320, 240), or empty for the whole frame; got "abc"',
    );
    expect(parseCropText(' 1, 2 3,4 ')).toEqual({ x: 1, y: 2, width: 3, height: 4 });
    expect(parseCropText('')).toBeNull();
    expect(errorOf(() => parseBytes('')).plain).toBe('Sticker size limit is needed (16 KiB–8 MiB)');
    expect(errorOf(() => parseBytes('lots')).plain).toMatch(
      /^Sticker size limit must be a size like 500 KB, 1 MB or 256 KiB/,
    );
    // Messages for logs and API clients keep the field's name.
    expect(errorOf(() => validateSettings({ maxSide: 10 })).message).toBe(
      'maxSide must be a whole number 64–1920, got 10',
    );
    expect(
      [1_048_576, 512_000, 500_000, 131_072, 16_384, 8_388_608, 1000, 1500, 12_345].map(
        formatByteSize,
      ),
    ).toEqual([
      '1 MiB',
      '500 KiB',
      '500 KB',
      '128 KiB',
      '16 KiB',
      '8 MiB',
      '1 KB',
      '1.5 KB',
      '12345 bytes',
    ]);
  });
});
