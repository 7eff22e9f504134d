/**
 * Capture settings (the video-capture management module): one schema for every setting,
 * with defaults, ranges, per-format rules and presets. The same schema validates settings
 * in the engine, on the server and in the web settings panel (which renders from
 * {@link SETTING_FIELDS}).
 */
import { InvalidSettingError } from './errors';
import {
  MAX_GIF_FPS,
  MAX_VIDEO_FPS,
  STICKER_FORMAT_FACTS,
  STICKER_FORMATS,
  STILL_FORMATS,
  type StickerFormat,
  type StillFormat,
} from './formats';
import type { Rect } from './types';

export { MAX_GIF_FPS, MAX_VIDEO_FPS, STICKER_FORMATS, STILL_FORMATS };
export type { StickerFormat, StillFormat };

/**
 * How a sticker's frame is sized from `maxSide`: `max`, the longest side up to it (budget
 * fitting may shrink the frame); `side`, the longest side exactly it (scaled up when the
 * video is smaller); `square`, exactly maxSide × maxSide (see {@link SquareFit}). With
 * `side` and `square` fitting never shrinks the frame: it spends quality and frame rate.
 */
export type FrameSize = 'max' | 'side' | 'square';
/**
 * How a picture fills a square sticker: `contain` shows the whole frame with transparent
 * bars (GIF's transparent index, WebP's alpha); `cover` crops it to a square: the centre,
 * or the crop rectangle extended to a square.
 */
export type SquareFit = 'contain' | 'cover';
/** Every frame-size rule, in the order a UI should offer them. */
export const FRAME_SIZES: readonly FrameSize[] = ['max', 'side', 'square'];
/** Every square fit, in the order a UI should offer them. */
export const SQUARE_FITS: readonly SquareFit[] = ['contain', 'cover'];

/** The capture settings of one user (or one request). */
export interface CaptureSettings {
  /** Longest time range a sticker may cover, in seconds (0.1–30). */
  maxClipSeconds: number;
  /** Format of stills. */
  stillFormat: StillFormat;
  /** Quality of lossy stills, 1–100. Ignored by lossless formats. */
  stillQuality: number;
  /** Container of stickers. */
  stickerFormat: StickerFormat;
  /** Quality target of stickers, 1–100; budget fitting never goes above it. */
  stickerQuality: number;
  /** Hard file-size limit of a sticker, in bytes (16384–8388608). */
  maxStickerBytes: number;
  /** Frames sampled per second of a sticker: 1–50 for GIF, 1–60 for WebP/WebM. */
  fps: number;
  /** Longest side of a sticker, in pixels (64–1920). */
  maxSide: number;
  /** Region of the frame to keep, in video pixels after rotation; `null` keeps it all. */
  crop: Rect | null;
  /** How the sticker's frame is sized from `maxSide`; absent means `max`. See {@link FrameSize}. */
  frameSize?: FrameSize;
  /** How a square sticker is filled; absent means `contain`. See {@link SquareFit}. */
  fit?: SquareFit;
}

/** The Clipchat defaults (docs/api.md, "Capture settings"). */
export const DEFAULT_SETTINGS: Readonly<CaptureSettings> = Object.freeze({
  maxClipSeconds: 6,
  stillFormat: 'png',
  stillQuality: 90,
  stickerFormat: 'gif',
  stickerQuality: 80,
  maxStickerBytes: 1_048_576,
  fps: 12,
  maxSide: 480,
  crop: null,
});

/** `1–50 for GIF`: the formats with a lower limit than {@link MAX_STICKER_FPS}. */
function lowerFpsLimits(): string {
  return STICKER_FORMATS.filter((f) => STICKER_FORMAT_FACTS[f].maxFps < MAX_STICKER_FPS)
    .map((f) => `1–${STICKER_FORMAT_FACTS[f].maxFps} for ${STICKER_FORMAT_FACTS[f].name}`)
    .join(', ');
}

/** Highest frame rate of any sticker format. */
const MAX_STICKER_FPS = Math.max(...STICKER_FORMATS.map((f) => STICKER_FORMAT_FACTS[f].maxFps));

/** `GIF and … at most 50; WebP and WebM at most 60`: each format's frame-rate limit, lowest first. */
function fpsLimits(): string {
  const by = new Map<number, string[]>();
  for (const f of STICKER_FORMATS) {
    const { maxFps, name } = STICKER_FORMAT_FACTS[f];
    by.set(maxFps, [...(by.get(maxFps) ?? []), name]);
  }
  return [...by]
    .sort((a, b) => a[0] - b[0])
    .map(([fps, names], i) => `${names.join(' and ')}${i === 0 ? ' allows' : ''} at most ${fps}`)
    .join('; ');
}

/** Describes one setting for validation and for a settings form. */
export interface SettingField {
  readonly name: keyof CaptureSettings;
  /** Short label for a form. */
  readonly label: string;
  /** One or two plain sentences saying what the setting does. */
  readonly help: string;
  /** `int` and `number` are numeric inputs; `enum` picks from `options`; `rect` is a crop box. */
  readonly kind: 'int' | 'number' | 'enum' | 'rect';
  /** Inclusive bounds of numeric kinds. For `fps`, `max` is the widest (non-GIF) bound. */
  readonly min?: number;
  readonly max?: number;
  /** Unit shown next to a numeric input. */
  readonly unit?: string;
  /** Allowed values of an `enum`. */
  readonly options?: readonly string[];
  readonly default: CaptureSettings[keyof CaptureSettings];
}

/** The schema of every capture setting, in the order a settings panel should show them. */
export const SETTING_FIELDS: readonly SettingField[] = Object.freeze([
  {
    name: 'stillFormat',
    label: 'Still format',
    kind: 'enum',
    options: STILL_FORMATS,
    default: DEFAULT_SETTINGS.stillFormat,
    help: 'Image format of stills. PNG keeps the captured frame exactly as decoded; the others are converted from it.',
  },
  {
    name: 'stillQuality',
    label: 'Still quality',
    kind: 'int',
    min: 1,
    max: 100,
    default: DEFAULT_SETTINGS.stillQuality,
    help: 'Quality of JPEG, WebP and AVIF stills: higher looks better and makes bigger files. Lossless formats ignore it.',
  },
  {
    name: 'stickerFormat',
    label: 'Sticker format',
    kind: 'enum',
    options: STICKER_FORMATS,
    default: DEFAULT_SETTINGS.stickerFormat,
    help: 'Container of animated stickers: GIF plays everywhere, WebP and WebM are smaller for the same look.',
  },
  {
    name: 'stickerQuality',
    label: 'Sticker quality',
    kind: 'int',
    min: 1,
    max: 100,
    default: DEFAULT_SETTINGS.stickerQuality,
    help: 'Quality to aim for. To fit the size limit a sticker may come out lower, never higher.',
  },
  {
    name: 'maxStickerBytes',
    label: 'Sticker size limit',
    kind: 'int',
    min: 16_384,
    max: 8_388_608,
    unit: 'bytes',
    default: DEFAULT_SETTINGS.maxStickerBytes,
    help: 'A sticker never exceeds this many bytes: quality, then size, then frame rate are lowered until it fits.',
  },
  {
    name: 'maxClipSeconds',
    label: 'Longest sticker',
    kind: 'number',
    min: 0.1,
    max: 30,
    unit: 's',
    default: DEFAULT_SETTINGS.maxClipSeconds,
    help: 'Longest stretch of video a sticker may cover, in seconds.',
  },
  {
    name: 'fps',
    label: 'Frames per second',
    kind: 'number',
    min: 1,
    max: MAX_STICKER_FPS,
    unit: 'fps',
    default: DEFAULT_SETTINGS.fps,
    help: `How many frames are taken from each second of video. ${fpsLimits()}.`,
  },
  {
    name: 'maxSide',
    label: 'Largest side',
    kind: 'int',
    min: 64,
    max: 1920,
    unit: 'px',
    default: DEFAULT_SETTINGS.maxSide,
    help: 'Longest side of a sticker in pixels; bigger frames are scaled down to it.',
  },
  {
    name: 'crop',
    label: 'Crop',
    kind: 'rect',
    default: DEFAULT_SETTINGS.crop,
    help: 'Part of the frame to keep (x, y, width, height in video pixels). Empty keeps the whole frame.',
  },
] satisfies SettingField[]);

/**
 * The sticker-frame settings presets use for platforms with fixed sizes. They are optional
 * (absent in {@link DEFAULT_SETTINGS}: `max` and `contain`); a settings panel shows them
 * after {@link SETTING_FIELDS}.
 */
export const FRAME_FIELDS: readonly SettingField[] = Object.freeze([
  {
    name: 'frameSize',
    label: 'Sticker frame',
    kind: 'enum',
    options: FRAME_SIZES,
    default: 'max',
    help: 'max: the longest side up to Largest side (may be shrunk to fit the size limit); side: the longest side exactly Largest side; square: exactly Largest side × Largest side. Side and square are never shrunk: quality and frame rate are lowered instead.',
  },
  {
    name: 'fit',
    label: 'Square fit',
    kind: 'enum',
    options: SQUARE_FITS,
    default: 'contain',
    help: 'For a square sticker: contain shows the whole frame with transparent bars; cover crops it to a square (the centre, or the crop extended to a square).',
  },
] satisfies SettingField[]);

/**
 * What a platform accepts, as it publishes it: a preset's output passes these unedited.
 * `width`/`height` are exact; `side` means one side exactly that and the other at most it.
 */
export interface PlatformRules {
  formats: readonly StickerFormat[];
  width?: number;
  height?: number;
  side?: number;
  maxBytes: number;
  maxSeconds: number;
  maxFps?: number;
  /** False when the file must carry no audio track. */
  audio: boolean;
  /** Where the platform publishes the rule. */
  source: string;
}

/** A named bundle of settings for where stickers are going. */
export interface Preset {
  id: string;
  label: string;
  description: string;
  settings: Partial<CaptureSettings>;
  /** The destination's published rules, for presets of a platform. */
  rules?: PlatformRules;
}

/** Presets for common destinations. Each is merged over the base settings. */
export const PRESETS: readonly Preset[] = Object.freeze([
  {
    id: 'clipchat',
    label: 'Clipchat',
    description: 'Clipchat defaults: GIF, 480 px, up to 6 s and 1 MiB.',
    settings: { ...DEFAULT_SETTINGS },
  },
  {
    id: 'telegram',
    label: 'Telegram video sticker',
    description: 'VP9 WebM, longest side exactly 512 px, up to 3 s, 30 fps and 256 KiB, no audio.',
    settings: {
      stickerFormat: 'webm',
      maxSide: 512,
      maxClipSeconds: 3,
      maxStickerBytes: 256 * 1024,
      fps: 30,
      frameSize: 'side',
    },
    rules: {
      formats: ['webm'],
      side: 512,
      maxBytes: 256 * 1024,
      maxSeconds: 3,
      maxFps: 30,
      audio: false,
      source: 'https://core.telegram.org/stickers#video-requirements',
    },
  },
  {
    id: 'discord',
    label: 'Discord sticker',
    description: 'GIF, exactly 320×320 px, up to 512 KiB.',
    settings: {
      stickerFormat: 'gif',
      maxSide: 320,
      maxStickerBytes: 512 * 1024,
      frameSize: 'square',
      fit: 'contain',
    },
    rules: {
      formats: ['gif'],
      width: 320,
      height: 320,
      maxBytes: 512 * 1024,
      maxSeconds: 30,
      audio: false,
      source: 'https://support.discord.com/hc/en-us/articles/4402687377815',
    },
  },
  {
    id: 'slack',
    label: 'Slack emoji',
    description: 'GIF, exactly 128×128 px, up to 128 KiB.',
    settings: {
      stickerFormat: 'gif',
      maxSide: 128,
      maxStickerBytes: 128 * 1024,
      frameSize: 'square',
      fit: 'contain',
    },
    rules: {
      formats: ['gif'],
      width: 128,
      height: 128,
      maxBytes: 128 * 1024,
      maxSeconds: 30,
      audio: false,
      source: 'https://slack.com/help/articles/206870177',
    },
  },
  // WhatsApp's own sticker validator counts 500 KB as 500 × 1024 bytes, and allows 10 s.
  {
    id: 'whatsapp',
    label: 'WhatsApp sticker',
    description: 'Animated WebP, exactly 512×512 px, up to 500 KiB and 10 s.',
    settings: {
      stickerFormat: 'webp',
      maxSide: 512,
      maxStickerBytes: 500 * 1024,
      maxClipSeconds: 10,
      frameSize: 'square',
      fit: 'contain',
    },
    rules: {
      formats: ['webp'],
      width: 512,
      height: 512,
      maxBytes: 500 * 1024,
      maxSeconds: 10,
      audio: false,
      source:
        'https://github.com/WhatsApp/stickers/tree/main/Android#animated-sticker-requirements',
    },
  },
] satisfies Preset[]);

const FIELD_BY_NAME = new Map(
  [...SETTING_FIELDS, ...FRAME_FIELDS].map((f) => [f.name as string, f]),
);

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined)
    return String(v);
  // Anything else (an object, a function, a symbol) as well as it can be shown.
  try {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value, see above
    return JSON.stringify(v) ?? String(v);
  } catch {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value, see above
    return String(v);
  }
}

function checkNumber(f: SettingField, v: unknown, min: number, max: number, suffix = ''): number {
  const what = f.kind === 'int' ? 'a whole number' : 'a number';
  const range = `${min}–${max}${suffix}`;
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    (f.kind === 'int' && !Number.isInteger(v)) ||
    v < min ||
    v > max
  ) {
    throw new InvalidSettingError(
      f.name,
      `${f.name} must be ${what} ${range}, got ${show(v)}`,
      plainNumber(f, v, min, max),
    );
  }
  return v;
}

const isBytes = (f: SettingField): boolean => f.unit === 'bytes';

/** `checkNumber`'s message in the words of a form. */
function plainNumber(f: SettingField, v: unknown, min: number, max: number): string {
  const range = isBytes(f)
    ? `${formatByteSize(min)}–${formatByteSize(max)}`
    : `${min}–${max}${f.unit ? ` ${f.unit}` : ''}`;
  // An empty form field arrives as NaN, undefined or ''.
  if (v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v)))
    return `${f.label} is needed (${range})`;
  if (
    typeof v === 'number' &&
    Number.isFinite(v) &&
    f.kind === 'int' &&
    !Number.isInteger(v) &&
    v >= min &&
    v <= max
  ) {
    return `${f.label} must be a whole number, got ${v}`;
  }
  return `${f.label} must be ${range}, got ${typeof v === 'number' ? (isBytes(f) ? formatByteSize(v) : String(v)) : show(v)}`;
}

/**
 * A byte count as people read it: 1000-based KB and MB when exact to a tenth, else
 * 1024-based (`500 KB`, `1 MB`, `512 KiB`, `1 MiB`, `16384 bytes` when neither is round).
 */
export function formatByteSize(n: number): string {
  const round = (x: number) => Math.abs(x * 10 - Math.round(x * 10)) < 1e-9;
  if (n >= 1024 * 1024 && round(n / 1048576)) return `${+(n / 1048576).toFixed(1)} MiB`;
  if (n >= 1e6 && round(n / 1e6)) return `${+(n / 1e6).toFixed(1)} MB`;
  if (n >= 1024 && round(n / 1024)) return `${+(n / 1024).toFixed(1)} KiB`;
  if (n >= 1000 && round(n / 1000)) return `${+(n / 1000).toFixed(1)} KB`;
  return `${n} bytes`;
}

function checkRect(v: unknown): Rect | null {
  if (v === null) return null;
  const bad = (why: string) =>
    new InvalidSettingError(
      'crop',
      `crop must be null or {x, y, width, height} in whole pixels (x, y ≥ 0; width, height ≥ 1)${why}, got ${show(v)}`,
      `${CROP_LOOKS} (x, y ≥ 0; width, height ≥ 1)${why}`,
    );
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('');
  const r = v as Record<string, unknown>;
  const extra = Object.keys(r).filter((k) => !['x', 'y', 'width', 'height'].includes(k));
  if (extra.length) throw bad(`; unknown key ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
  const { x, y, width, height } = r;
  const int = (n: unknown, min: number) => typeof n === 'number' && Number.isInteger(n) && n >= min;
  if (!int(x, 0) || !int(y, 0) || !int(width, 1) || !int(height, 1)) throw bad('');
  return { x: x as number, y: y as number, width: width as number, height: height as number };
}

/**
 * Checks `input` (a partial settings object, e.g. from JSON) and merges it over `base`.
 * Keys that are absent or `undefined` keep the base value.
 * @throws InvalidSettingError naming the field, the value and what is allowed, for unknown
 *   keys, wrong types and values out of range (including the per-format fps limit).
 */
export function validateSettings(
  input: unknown,
  base: CaptureSettings = DEFAULT_SETTINGS,
): CaptureSettings {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidSettingError(
      'settings',
      `settings must be an object of capture settings, got ${show(input)}`,
    );
  }
  const out: CaptureSettings = { ...base, crop: base.crop ? { ...base.crop } : null };
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    const f = FIELD_BY_NAME.get(key);
    if (!f) {
      throw new InvalidSettingError(
        key,
        `unknown setting ${JSON.stringify(key)}; known settings: ${SETTING_FIELDS.map((x) => x.name).join(', ')}`,
      );
    }
    if (value === undefined) continue;
    switch (f.kind) {
      case 'enum':
        if (typeof value !== 'string' || !f.options!.includes(value)) {
          throw new InvalidSettingError(
            f.name,
            `${f.name} must be one of ${f.options!.join(', ')}, got ${show(value)}`,
            value === ''
              ? `${f.label} is needed (${f.options!.join(', ')})`
              : `${f.label} must be one of ${f.options!.join(', ')}, got ${show(value)}`,
          );
        }
        (out as unknown as Record<string, unknown>)[key] = value;
        break;
      case 'rect':
        out.crop = checkRect(value);
        break;
      default:
        // fps is checked against the final sticker format below.
        if (key === 'fps') {
          if (typeof value !== 'number' || !Number.isFinite(value)) {
            throw new InvalidSettingError(
              'fps',
              `fps must be a number 1–${MAX_STICKER_FPS} (${lowerFpsLimits()}), got ${show(value)}`,
              plainNumber(f, value, 1, MAX_STICKER_FPS),
            );
          }
          out.fps = value;
        } else {
          (out as unknown as Record<string, unknown>)[key] = checkNumber(f, value, f.min!, f.max!);
        }
    }
  }
  const { maxFps, name: fmt } = STICKER_FORMAT_FACTS[out.stickerFormat];
  if (out.fps < 1 || out.fps > maxFps) {
    throw new InvalidSettingError(
      'fps',
      `fps must be 1–${maxFps} for ${fmt}, got ${show(out.fps)}`,
      `Frames per second must be 1–${maxFps} for ${fmt}, got ${show(out.fps)}`,
    );
  }
  return out;
}

/** What a crop looks like, for messages. */
const CROP_LOOKS =
  'Crop must be four whole numbers x, y, width, height in video pixels (for example 0, 0, 320, 240), or empty for the whole frame';

/**
 * Reads a crop typed into a form: `x, y, width, height` (commas or spaces); empty is
 * `null` (the whole frame).
 * @throws InvalidSettingError saying what a crop looks like, for anything else.
 */
export function parseCropText(text: string): Rect | null {
  const t = text.trim();
  if (!t) return null;
  const m = /^(\d+)\s*[,\s]\s*(\d+)\s*[,\s]\s*(\d+)\s*[,\s]\s*(\d+)$/.exec(t);
  if (!m)
    throw new InvalidSettingError(
      'crop',
      `crop must be x,y,width,height in whole pixels, got ${show(text)}`,
      `${CROP_LOOKS}; got ${show(text)}`,
    );
  return checkRect({ x: Number(m[1]), y: Number(m[2]), width: Number(m[3]), height: Number(m[4]) });
}

/** Finds a preset by id. @throws InvalidSettingError listing the known ids. */
export function getPreset(id: string): Preset {
  const p = PRESETS.find((x) => x.id === id);
  if (!p) {
    throw new InvalidSettingError(
      'preset',
      `unknown preset ${show(id)}; known presets: ${PRESETS.map((x) => x.id).join(', ')}`,
    );
  }
  return p;
}

/**
 * Merges preset `id` over `base` (default {@link DEFAULT_SETTINGS}) and validates the result.
 * @throws InvalidSettingError for an unknown id, listing the known ones.
 */
export function applyPreset(id: string, base: CaptureSettings = DEFAULT_SETTINGS): CaptureSettings {
  return validateSettings(getPreset(id).settings, base);
}

/**
 * Checks `settings` (a preset merged with a person's own choices) against the preset's
 * platform rules, so an override cannot make a file the platform refuses.
 * @throws InvalidSettingError naming the setting, the value and what the platform allows.
 */
export function checkPresetRules(preset: Preset, settings: CaptureSettings): void {
  const r = preset.rules;
  if (!r) return;
  const no = (field: keyof CaptureSettings, what: string) => {
    throw new InvalidSettingError(
      field,
      `${preset.label} allows ${what}`,
      `${preset.label} allows ${what}`,
    );
  };
  if (!r.formats.includes(settings.stickerFormat))
    no('stickerFormat', `${r.formats.join(', ')} stickers, got ${settings.stickerFormat}`);
  if (settings.maxStickerBytes > r.maxBytes)
    no(
      'maxStickerBytes',
      `at most ${formatByteSize(r.maxBytes)} (${r.maxBytes} bytes), got ${settings.maxStickerBytes}`,
    );
  if (settings.maxClipSeconds > r.maxSeconds)
    no('maxClipSeconds', `at most ${r.maxSeconds} s, got ${settings.maxClipSeconds}`);
  if (r.maxFps !== undefined && settings.fps > r.maxFps)
    no('fps', `at most ${r.maxFps} fps, got ${settings.fps}`);
}
