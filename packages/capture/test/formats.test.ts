/**
 * The format table: what the settings schema, the CLI's names and the server's sniffing
 * read from it is what they said before it existed, and sniffing tells each format's
 * first bytes apart.
 */
import { describe, expect, it } from 'vitest';
import { SETTING_FIELDS, validateSettings } from '../src/config';
import { InvalidSettingError } from '../src/errors';
import {
  STICKER_FORMAT_FACTS,
  STICKER_FORMATS,
  STILL_FORMATS,
  formatFacts,
  formatOfExtension,
  sniffFormat,
} from '../src/formats';
import { STILL_EXTENSION, STILL_MIME } from '../src/still/encoder';

/** `text` as bytes, padded with zeros to at least 16. */
const bytes = (...parts: (string | number[])[]): Uint8Array => {
  const out: number[] = [];
  for (const p of parts)
    out.push(...(typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p));
  while (out.length < 16) out.push(0);
  return Uint8Array.from(out);
};

describe('output formats', () => {
  it('lists the formats, MIME types and extensions the engine has always used', () => {
    expect(STICKER_FORMATS).toEqual(['gif', 'webp', 'webm']);
    expect(STILL_FORMATS).toEqual(['png', 'jpeg', 'webp', 'avif', 'gif', 'bmp', 'tiff']);
    expect(STILL_MIME).toEqual({
      png: 'image/png',
      jpeg: 'image/jpeg',
      webp: 'image/webp',
      avif: 'image/avif',
      gif: 'image/gif',
      bmp: 'image/bmp',
      tiff: 'image/tiff',
    });
    expect(STILL_EXTENSION).toEqual({
      png: 'png',
      jpeg: 'jpg',
      webp: 'webp',
      avif: 'avif',
      gif: 'gif',
      bmp: 'bmp',
      tiff: 'tiff',
    });
    expect(
      STICKER_FORMATS.map((f) => [STICKER_FORMAT_FACTS[f].mime, STICKER_FORMAT_FACTS[f].maxFps]),
    ).toEqual([
      ['image/gif', 50],
      ['image/webp', 60],
      ['video/webm', 60],
    ]);
    expect(formatFacts('webm')?.name).toBe('WebM');
    expect(formatFacts('mp4')).toBeUndefined();
    expect(formatFacts('toString')).toBeUndefined();
  });

  it('gives the settings schema the same limits and words', () => {
    const fps = SETTING_FIELDS.find((f) => f.name === 'fps')!;
    expect(fps.max).toBe(60);
    expect(fps.help).toBe(
      'How many frames are taken from each second of video. GIF allows at most 50; WebP and WebM at most 60.',
    );
    expect(() => validateSettings({ stickerFormat: 'gif', fps: 51 })).toThrow(
      'fps must be 1–50 for GIF, got 51',
    );
    expect(() => validateSettings({ stickerFormat: 'webm', fps: 61 })).toThrow(InvalidSettingError);
    expect(() => validateSettings({ fps: 'x' as unknown as number })).toThrow(
      'fps must be a number 1–60 (1–50 for GIF), got "x"',
    );
    expect(validateSettings({ stickerFormat: 'webp', fps: 60 }).fps).toBe(60);
  });

  it('names formats by extension, any case, with the usual aliases', () => {
    expect(formatOfExtension('JPG')).toBe('jpeg');
    expect(formatOfExtension('jfif')).toBe('jpeg');
    expect(formatOfExtension('tif')).toBe('tiff');
    expect(formatOfExtension('webm')).toBe('webm');
    expect(formatOfExtension('webp')).toBe('webp');
    expect(formatOfExtension('mp4')).toBeUndefined();
  });

  it('sniffs every format from its first bytes, and nothing else', () => {
    expect(sniffFormat(bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a]))).toBe('png');
    expect(sniffFormat(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffFormat(bytes('GIF89a'))).toBe('gif');
    expect(sniffFormat(bytes('GIF87a'))).toBe('gif');
    expect(sniffFormat(bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 '))).toBe('webp');
    expect(sniffFormat(bytes([0, 0, 0, 28], 'ftypavif'))).toBe('avif');
    expect(sniffFormat(bytes([0, 0, 0, 28], 'ftypmif1', [0, 0, 0, 0], 'avis'))).toBe('avif');
    expect(sniffFormat(bytes([0, 0, 0, 28], 'ftypisom', [0, 0, 0, 0], 'mp41'))).toBeNull();
    expect(sniffFormat(bytes('BM'))).toBe('bmp');
    expect(sniffFormat(bytes('II', [42, 0]))).toBe('tiff');
    expect(sniffFormat(bytes('MM', [0, 42]))).toBe('tiff');
    const ebml = [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84];
    expect(sniffFormat(bytes(ebml, 'webm'))).toBe('webm');
    expect(sniffFormat(bytes(ebml, 'matroska'))).toBeNull();
    expect(sniffFormat(bytes('GIF8'))).toBeNull();
    expect(sniffFormat(Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61]))).toBeNull(); // < 12 bytes
  });
});
