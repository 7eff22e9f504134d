/** Identifies an upload by its first bytes — never by name or declared type. */
import {
  STICKER_FORMATS,
  STILL_FORMATS,
  formatFacts,
  sniffFormat,
  type OutputFormat,
} from '@clipchat/capture';

/** The formats an upload may be in: every format Clipchat writes (the engine's `formats.ts`). */
export type Sniffed = OutputFormat;

/** MIME type of each accepted format. */
export const MIME = Object.fromEntries(
  [...STILL_FORMATS, ...STICKER_FORMATS].map((f) => [f, formatFacts(f)!.mime]),
) as Record<Sniffed, string>;

/** The format the bytes claim to be, or null when none we accept. */
export function sniff(b: Buffer): Sniffed | null {
  return sniffFormat(b);
}
