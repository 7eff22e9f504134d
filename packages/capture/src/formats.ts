/**
 * Facts about every output format, in one table: what the CLI, the web app, the server's
 * upload sniffing and the settings schema know about a format comes from here, so adding
 * one (an animated AVIF, an APNG) means a row here plus its encoder. Pure data and small
 * pure functions: nothing runs on import.
 */

/** Which encoder writes a format on each platform (informative; the code lives beside it). */
export interface FormatEncoders {
  /** Node: `core` is the engine's own TypeScript, else the library it drives. */
  readonly node: 'core' | 'sharp' | 'ffmpeg';
  /** Browsers: `core`, the canvas's `convertToBlob`, or WebCodecs. */
  readonly browser: 'core' | 'canvas' | 'webcodecs' | 'canvas+core';
}

/** What every format has. */
export interface FormatFacts {
  /** How people write its name: GIF, WebP, WebM. */
  readonly name: string;
  readonly mime: string;
  /** Usual file extension, without the dot. */
  readonly extension: string;
  /** Other extensions that name it (without the dot). */
  readonly aliases?: readonly string[];
  readonly animated: boolean;
  readonly encoders: FormatEncoders;
  /** True when `b` (the file's first bytes, at least 12 of them) starts like this format. */
  readonly sniff: (b: Uint8Array) => boolean;
}

/** A sticker format: also how fast it can play. */
export interface StickerFormatFacts extends FormatFacts {
  readonly animated: true;
  /** Largest frame rate its players honour. */
  readonly maxFps: number;
}

/** A still format: also whether quality changes it. */
export interface StillFormatFacts extends FormatFacts {
  readonly lossy: boolean;
}

const ascii = (b: Uint8Array, at: number, len: number): string =>
  String.fromCharCode(...b.subarray(at, at + len));

const isPng = (b: Uint8Array): boolean =>
  b[0] === 0x89 &&
  ascii(b, 1, 3) === 'PNG' &&
  b[4] === 0x0d &&
  b[5] === 0x0a &&
  b[6] === 0x1a &&
  b[7] === 0x0a;
const isGif = (b: Uint8Array): boolean =>
  ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a';
const isWebp = (b: Uint8Array): boolean => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP';
/** An ISO-BMFF `ftyp` box whose brands (within the first 64 bytes) name AVIF. */
const isAvif = (b: Uint8Array): boolean => {
  if (ascii(b, 4, 4) !== 'ftyp') return false;
  const size = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const end = Math.min(b.length, size >= 16 ? size : 16, 64);
  for (let i = 8; i + 4 <= end; i += 4) {
    const brand = ascii(b, i, 4);
    if (brand === 'avif' || brand === 'avis') return true;
  }
  return false;
};
/** An EBML header whose DocType element (0x42 0x82) says "webm". */
const isWebm = (b: Uint8Array): boolean => {
  if (!(b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3)) return false;
  const head = ascii(b, 0, Math.min(b.length, 64));
  const i = head.indexOf('\x42\x82');
  return i >= 0 && head.indexOf('webm', i + 1) > i;
};

/** GIF players clamp delays under 2 cs, so a GIF cannot show more than 50 frames a second. */
export const MAX_GIF_FPS = 50;
/** Highest frame rate of the video-like sticker formats (WebP, WebM). */
export const MAX_VIDEO_FPS = 60;

/** Every sticker format, in the order a UI should offer them. */
export const STICKER_FORMAT_FACTS = {
  gif: {
    name: 'GIF',
    mime: 'image/gif',
    extension: 'gif',
    animated: true,
    maxFps: MAX_GIF_FPS,
    encoders: { node: 'core', browser: 'core' },
    sniff: isGif,
  },
  webp: {
    name: 'WebP',
    mime: 'image/webp',
    extension: 'webp',
    animated: true,
    maxFps: MAX_VIDEO_FPS,
    encoders: { node: 'sharp', browser: 'canvas+core' },
    sniff: isWebp,
  },
  webm: {
    name: 'WebM',
    mime: 'video/webm',
    extension: 'webm',
    animated: true,
    maxFps: MAX_VIDEO_FPS,
    encoders: { node: 'ffmpeg', browser: 'webcodecs' },
    sniff: isWebm,
  },
} as const satisfies Record<string, StickerFormatFacts>;

/** Every still format, in the order a UI should offer them. `png` is the capture's original format. */
export const STILL_FORMAT_FACTS = {
  png: {
    name: 'PNG',
    mime: 'image/png',
    extension: 'png',
    animated: false,
    lossy: false,
    encoders: { node: 'core', browser: 'canvas' },
    sniff: isPng,
  },
  jpeg: {
    name: 'JPEG',
    mime: 'image/jpeg',
    extension: 'jpg',
    aliases: ['jpeg', 'jpe', 'jfif'],
    animated: false,
    lossy: true,
    encoders: { node: 'sharp', browser: 'canvas' },
    sniff: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  },
  webp: {
    name: 'WebP',
    mime: 'image/webp',
    extension: 'webp',
    animated: false,
    lossy: true,
    encoders: { node: 'sharp', browser: 'canvas' },
    sniff: isWebp,
  },
  avif: {
    name: 'AVIF',
    mime: 'image/avif',
    extension: 'avif',
    animated: false,
    lossy: true,
    encoders: { node: 'sharp', browser: 'canvas' },
    sniff: isAvif,
  },
  gif: {
    name: 'GIF',
    mime: 'image/gif',
    extension: 'gif',
    animated: false,
    lossy: true,
    encoders: { node: 'core', browser: 'core' },
    sniff: isGif,
  },
  bmp: {
    name: 'BMP',
    mime: 'image/bmp',
    extension: 'bmp',
    animated: false,
    lossy: false,
    encoders: { node: 'core', browser: 'core' },
    sniff: (b) => ascii(b, 0, 2) === 'BM',
  },
  tiff: {
    name: 'TIFF',
    mime: 'image/tiff',
    extension: 'tiff',
    aliases: ['tif'],
    animated: false,
    lossy: false,
    encoders: { node: 'sharp', browser: 'core' },
    sniff: (b) =>
      (ascii(b, 0, 2) === 'II' && b[2] === 42 && b[3] === 0) ||
      (ascii(b, 0, 2) === 'MM' && b[2] === 0 && b[3] === 42),
  },
} as const satisfies Record<string, StillFormatFacts>;

/** Containers an animated sticker can be written in. */
export type StickerFormat = keyof typeof STICKER_FORMAT_FACTS;
/** Image formats a still can be written in. `png` is the capture's original format. */
export type StillFormat = keyof typeof STILL_FORMAT_FACTS;
/** Any format Clipchat writes. */
export type OutputFormat = StickerFormat | StillFormat;

/** Every sticker format, in the order a UI should offer them. */
export const STICKER_FORMATS = Object.keys(STICKER_FORMAT_FACTS) as readonly StickerFormat[];
/** Every still format, in the order a UI should offer them. */
export const STILL_FORMATS = Object.keys(STILL_FORMAT_FACTS) as readonly StillFormat[];

/** Facts of a format Clipchat writes (a sticker's when it is both, e.g. WebP); else undefined. */
export function formatFacts(format: string): FormatFacts | undefined {
  const own = (o: object) => Object.prototype.hasOwnProperty.call(o, format);
  if (own(STICKER_FORMAT_FACTS)) return STICKER_FORMAT_FACTS[format as StickerFormat];
  if (own(STILL_FORMAT_FACTS)) return STILL_FORMAT_FACTS[format as StillFormat];
  return undefined;
}

/**
 * The output format `b` (a file's first bytes) is in, or null for none Clipchat writes
 * (a still's name when the format is both, e.g. `webp`).
 */
export function sniffFormat(b: Uint8Array): OutputFormat | null {
  if (b.length < 12) return null;
  // The magic numbers differ in their first byte, except that an ISO-BMFF file (`ftyp`
  // at 4) is AVIF or nothing we write.
  if (ascii(b, 4, 4) === 'ftyp') return isAvif(b) ? 'avif' : null;
  for (const f of STILL_FORMATS) if (STILL_FORMAT_FACTS[f].sniff(b)) return f;
  for (const f of STICKER_FORMATS) if (STICKER_FORMAT_FACTS[f].sniff(b)) return f;
  return null;
}

/** The format an extension (without the dot, any case) names among those Clipchat writes. */
export function formatOfExtension(ext: string): OutputFormat | undefined {
  const e = ext.toLowerCase();
  for (const [f, facts] of [
    ...Object.entries(STILL_FORMAT_FACTS),
    ...Object.entries(STICKER_FORMAT_FACTS),
  ] as [OutputFormat, FormatFacts][]) {
    if (facts.extension === e || facts.aliases?.includes(e)) return f;
  }
  return undefined;
}
