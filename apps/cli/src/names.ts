/**
 * What an output file's name says about its format, so a name and the bytes written never
 * disagree (`-f gif -o x.mp4` is refused before any work), and with no `-f` the name
 * chooses the format.
 */
import { extname } from 'node:path';
import { UsageError } from './args.ts';

/** Formats that extensions name, including ones Clipchat never writes (so they are refused, not ignored). */
const EXT_FORMAT: Record<string, string> = {
  png: 'png',
  apng: 'apng',
  jpg: 'jpeg',
  jpeg: 'jpeg',
  jpe: 'jpeg',
  jfif: 'jpeg',
  webp: 'webp',
  avif: 'avif',
  gif: 'gif',
  bmp: 'bmp',
  tif: 'tiff',
  tiff: 'tiff',
  heic: 'heic',
  heif: 'heic',
  jxl: 'jxl',
  svg: 'svg',
  ico: 'ico',
  webm: 'webm',
  mp4: 'mp4',
  m4v: 'mp4',
  mov: 'mov',
  mkv: 'mkv',
  avi: 'avi',
};

const NAMES: Record<string, string> = {
  jpeg: 'JPEG',
  tiff: 'TIFF',
  webp: 'WebP',
  webm: 'WebM',
  apng: 'APNG',
  heic: 'HEIC',
  mov: 'QuickTime',
};

/** A format's name as people write it: `gif` → GIF, `webp` → WebP. */
function formatName(format: string): string {
  return NAMES[format] ?? format.toUpperCase();
}

/** The format the name's extension says (lower case, `jpg` → `jpeg`), if it says one. */
export function formatOfName(file: string): string | undefined {
  if (file === '-') return undefined;
  return EXT_FORMAT[extname(file).slice(1).toLowerCase()];
}

/**
 * Refuses an output name whose extension says another format than `format`, in one line
 * naming both. `how` says where the format came from (`-f png`, `--preset telegram`).
 */
export function checkNameMatches(file: string, format: string, how: string): void {
  const says = formatOfName(file);
  if (says === undefined || says === format) return;
  const name = formatName(says);
  // Spelled-out letters that start with a vowel sound take "an": an MP4, an AVIF, a GIF.
  const article = /^[AEFHILMNORSX]/.test(name) && name !== 'QuickTime' ? 'an' : 'a';
  throw new UsageError(
    `-o ${file} names ${article} ${name} file, but ${how} writes ${formatName(format)}: name it ${format === 'jpeg' ? '.jpg' : `.${format}`} or change the format`,
  );
}
