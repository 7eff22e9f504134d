import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  InvalidSettingError,
  PRESETS,
  SETTING_FIELDS,
  applyPreset,
  validateSettings,
} from '../src/index';

function errorOf(fn: () => unknown): InvalidSettingError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidSettingError);
    return e as InvalidSettingError;
  }
  throw new Error('expected an InvalidSettingError');
}

describe('capture settings', () => {
  it('has the documented defaults and a field description for every setting', () => {
    expect(DEFAULT_SETTINGS).toEqual({
      maxClipSeconds: 6,
      stillFormat: 'png',
      stillQuality: 90,
      stickerFormat: 'gif',
      stickerQuality: 80,
      maxStickerBytes: 1048576,
      fps: 12,
      maxSide: 480,
      crop: null,
    });
    expect(Object.isFrozen(DEFAULT_SETTINGS)).toBe(true);
    expect(SETTING_FIELDS.map((f) => f.name).sort()).toEqual(Object.keys(DEFAULT_SETTINGS).sort());
    for (const f of SETTING_FIELDS) {
      expect(f.label.length).toBeGreaterThan(0);
      expect(f.help.length).toBeGreaterThan(20);
      expect(f.default).toEqual(DEFAULT_SETTINGS[f.name]);
      if (f.kind === 'int' || f.kind === 'number') expect(f.min! < f.max!).toBe(true);
      if (f.kind === 'enum') expect(f.options).toContain(f.default);
    }
    const ranges = Object.fromEntries(
      SETTING_FIELDS.filter((f) => f.min !== undefined).map((f) => [f.name, [f.min, f.max]]),
    );
    expect(ranges).toEqual({
      stillQuality: [1, 100],
      stickerQuality: [1, 100],
      maxStickerBytes: [16384, 8388608],
      maxClipSeconds: [0.1, 30],
      fps: [1, 60],
      maxSide: [64, 1920],
    });
  });

  it('merges a partial input over the base without touching the base', () => {
    const base = validateSettings({ fps: 20 });
    const s = validateSettings(
      { stickerFormat: 'webm', fps: 60, crop: { x: 0, y: 8, width: 100, height: 50 } },
      base,
    );
    expect(s).toMatchObject({
      stickerFormat: 'webm',
      fps: 60,
      maxSide: 480,
      crop: { x: 0, y: 8, width: 100, height: 50 },
    });
    expect(base.fps).toBe(20);
    expect(validateSettings(undefined)).toEqual(DEFAULT_SETTINGS);
    expect(validateSettings({ fps: undefined })).toEqual(DEFAULT_SETTINGS);
    expect(validateSettings({ crop: null }, s).crop).toBeNull();
    expect(validateSettings({ fps: 12.5, maxClipSeconds: 0.1 })).toMatchObject({
      fps: 12.5,
      maxClipSeconds: 0.1,
    });
  });

  it('refuses bad values naming the field, the value and what is allowed', () => {
    expect(errorOf(() => validateSettings({ fps: 500 })).message).toBe(
      'fps must be 1–50 for GIF, got 500',
    );
    expect(errorOf(() => validateSettings({ fps: 61, stickerFormat: 'webp' })).message).toBe(
      'fps must be 1–60 for WebP, got 61',
    );
    expect(validateSettings({ fps: 55, stickerFormat: 'webm' }).fps).toBe(55);
    // Switching a 60 fps WebM setup to GIF is refused rather than silently clamped.
    const e = errorOf(() =>
      validateSettings(
        { stickerFormat: 'gif' },
        validateSettings({ stickerFormat: 'webm', fps: 60 }),
      ),
    );
    expect(e.field).toBe('fps');
    expect(e.code).toBe('ERR_INVALID_SETTING');

    const cases: Array<[unknown, string, RegExp]> = [
      [{ fps: 0 }, 'fps', /fps must be 1–50 for GIF, got 0/],
      [{ fps: '12' }, 'fps', /got "12"/],
      [{ stillQuality: 0 }, 'stillQuality', /stillQuality must be a whole number 1–100, got 0/],
      [{ stillQuality: 50.5 }, 'stillQuality', /whole number/],
      [{ stickerQuality: 101 }, 'stickerQuality', /1–100, got 101/],
      [{ maxStickerBytes: 1000 }, 'maxStickerBytes', /16384–8388608, got 1000/],
      [{ maxClipSeconds: 31 }, 'maxClipSeconds', /0.1–30, got 31/],
      [{ maxClipSeconds: Number.NaN }, 'maxClipSeconds', /got NaN/],
      [{ maxSide: 32 }, 'maxSide', /64–1920, got 32/],
      [
        { stillFormat: 'jpg' },
        'stillFormat',
        /stillFormat must be one of png, jpeg, webp, avif, gif, bmp, tiff, got "jpg"/,
      ],
      [{ stickerFormat: 'apng' }, 'stickerFormat', /one of gif, webp, webm/],
      [{ crop: { x: -1, y: 0, width: 10, height: 10 } }, 'crop', /x, y ≥ 0/],
      [{ crop: { x: 0, y: 0, width: 0, height: 10 } }, 'crop', /width, height ≥ 1/],
      [{ crop: [0, 0, 10, 10] }, 'crop', /crop must be null or/],
      [{ crop: { x: 0, y: 0, w: 10, h: 10 } }, 'crop', /unknown key "w"/],
      [{ colour: 'red' }, 'colour', /unknown setting "colour"; known settings: .*fps/],
      ['fast', 'settings', /settings must be an object/],
      [[1, 2], 'settings', /settings must be an object/],
    ];
    for (const [input, field, re] of cases) {
      const err = errorOf(() => validateSettings(input));
      expect(err.field, JSON.stringify(input)).toBe(field);
      expect(err.message).toMatch(re);
    }
  });

  it('has the destination presets and applies them over a base', () => {
    expect(PRESETS.map((p) => p.id)).toEqual([
      'clipchat',
      'telegram',
      'discord',
      'slack',
      'whatsapp',
    ]);
    expect(applyPreset('clipchat')).toEqual(DEFAULT_SETTINGS);
    expect(applyPreset('telegram')).toMatchObject({
      stickerFormat: 'webm',
      maxSide: 512,
      maxClipSeconds: 3,
      maxStickerBytes: 262144,
      fps: 30,
    });
    expect(applyPreset('discord')).toMatchObject({
      stickerFormat: 'gif',
      maxSide: 320,
      maxStickerBytes: 524288,
    });
    expect(applyPreset('slack')).toMatchObject({
      stickerFormat: 'gif',
      maxSide: 128,
      maxStickerBytes: 131072,
    });
    expect(applyPreset('whatsapp')).toMatchObject({
      stickerFormat: 'webp',
      maxSide: 512,
      maxStickerBytes: 512000,
    });
    // A preset keeps what it does not mention.
    expect(applyPreset('discord', validateSettings({ stillFormat: 'jpeg' })).stillFormat).toBe(
      'jpeg',
    );
    for (const p of PRESETS) expect(p.description.length).toBeGreaterThan(5);
    const e = errorOf(() => applyPreset('tiktok'));
    expect(e.field).toBe('preset');
    expect(e.message).toBe(
      'unknown preset "tiktok"; known presets: clipchat, telegram, discord, slack, whatsapp',
    );
  });
});
