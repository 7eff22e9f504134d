/**
 * What a command prints when it is done: one JSON line with --json, else a short
 * sentence; and how engine errors become one-line messages.
 */
import { CaptureError, formatTime } from '@clipchat/capture';
import { UsageError } from './args.ts';

/** The --json line of grab and clip. */
export interface JsonReport {
  file: string;
  format: string;
  width: number;
  height: number;
  frames: number;
  fps: number | null;
  bytes: number;
  durationMs: number;
  adapted: Record<string, unknown>;
  timings: { decodeMs: number; encodeMs: number; totalMs: number };
  [extra: string]: unknown;
}

/** Engine timings with opening the video counted as decoding, and the total from `start`. */
export function withOpen(
  t: { decodeMs: number; encodeMs: number },
  openMs: number,
  start: number,
): JsonReport['timings'] {
  return {
    decodeMs: t.decodeMs + openMs,
    encodeMs: t.encodeMs,
    totalMs: Math.round(performance.now() - start),
  };
}

export function printReport(r: JsonReport, json: boolean): void {
  // With -o - the image is on stdout: the JSON line goes to stderr, never after its bytes.
  if (json) {
    (r.file === '-' ? process.stderr : process.stdout).write(JSON.stringify(r) + '\n');
    return;
  }
  const what =
    r.frames > 1 || r.fps
      ? `${r.frames} ${r.frames === 1 ? 'frame' : 'frames'} at ${r.fps} fps, ${formatTime(r.durationMs / 1000)}`
      : `frame ${(r.frameIndex as number | undefined) ?? '?'} at ${formatTime(Number(r.time ?? 0))}`;
  const adapted = Object.entries(r.adapted)
    .map(([k, v]) => {
      const c = v as { from?: unknown; to?: unknown };
      return `${k} ${String(c.from)}→${String(c.to)}`;
    })
    .join(', ');
  const dest = r.file === '-' ? 'stdout' : r.file;
  // With -o - the image is on stdout, so the sentence goes to stderr.
  const out = r.file === '-' ? process.stderr : process.stdout;
  out.write(
    `wrote ${dest}: ${r.format} ${r.width}x${r.height}, ${what}, ${sizeText(r.bytes)}${adapted ? ` (adapted: ${adapted})` : ''} in ${r.timings.totalMs} ms\n`,
  );
}

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/** Command-line flag of each engine setting, to point at in error messages. */
const FLAG_OF: Record<string, string> = {
  stillFormat: '-f',
  stickerFormat: '-f',
  stillQuality: '-q',
  stickerQuality: '--quality',
  fps: '--fps',
  maxStickerBytes: '--max-bytes',
  maxClipSeconds: '--max-clip-seconds',
  maxSide: '--preset',
  crop: '--crop',
  width: '--width',
  preset: '--preset',
  fit: '--fit',
  from: '--from',
  to: '--to',
  at: '--at',
  time: '--at',
};

/** Exit code and one-line message for an error thrown by a command. */
export function describeError(e: unknown): { code: number; message: string } {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  if (e instanceof UsageError) return { code: 2, message: oneLine(e.message) };
  if (e instanceof CaptureError) {
    if (e.code === 'ERR_CANCELLED') return { code: 130, message: 'cancelled' };
    // The words a person reads ("Frames per second must be 1–50 for GIF, got 60"), and the
    // flag that set the value; a field that is a flag already (`--max-bytes`) is its own.
    const flag = e.field ? (e.field.startsWith('-') ? e.field : FLAG_OF[e.field]) : undefined;
    const hint = flag && !e.plain.includes(flag) ? ` (${flag})` : '';
    // Bad input (a setting, a time, a time outside this video) exits 2 like a usage error.
    const usage = ['ERR_INVALID_SETTING', 'ERR_INVALID_TIME', 'ERR_TIME_OUT_OF_RANGE'].includes(
      e.code,
    );
    return { code: usage ? 2 : 1, message: oneLine(e.plain) + hint };
  }
  const err = e as NodeJS.ErrnoException;
  return { code: 1, message: `internal error: ${oneLine(err?.message ?? String(e))}` };
}
