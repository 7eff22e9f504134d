/**
 * What an output file's name says about its format, so a name and the bytes written never
 * disagree (`-f gif -o x.mp4` is refused before any work), and with no `-f` the name
 * chooses the format.
 */
import { extname } from 'node:path';
import { formatFacts, formatOfExtension } from '@clipchat/capture';
import { UsageError } from './args.ts';

/** Formats that extensions name that Clipchat never writes (so they are refused, not ignored). */
const FOREIGN_EXT: Record<string, string> = {
  apng: 'apng',
  heic: 'heic',
  heif: 'heic',
  jxl: 'jxl',
  svg: 'svg',
  ico: 'ico',
  mp4: 'mp4',
  m4v: 'mp4',
  mov: 'mov',
  mkv: 'mkv',
  avi: 'avi',
};

const FOREIGN_NAMES: Record<string, string> = {
  apng: 'APNG',
  heic: 'HEIC',
  mov: 'QuickTime',
};

/** A format's name as people write it: `gif` → GIF, `webp` → WebP. */
function formatName(format: string): string {
  return formatFacts(format)?.name ?? FOREIGN_NAMES[format] ?? format.toUpperCase();
}

/** The format the name's extension says (lower case, `jpg` → `jpeg`), if it says one. */
export function formatOfName(file: string): string | undefined {
  if (file === '-') return undefined;
  const ext = extname(file).slice(1).toLowerCase();
  return formatOfExtension(ext) ?? FOREIGN_EXT[ext];
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
    `-o ${file} names ${article} ${name} file, but ${how} writes ${formatName(format)}: name it .${formatFacts(format)?.extension ?? format} or change the format`,
  );
}
