/**
 * `clipchat clip <video> --from <time> --to <time> [...] -o <file> [--json]`: writes the
 * range [from, to) as an animated sticker (GIF, WebP or WebM) that fits the byte budget.
 */
import {
  applyPreset,
  checkPresetRules,
  DEFAULT_SETTINGS,
  getPreset,
  SQUARE_FITS,
  makeSticker,
  nodeStickerWriters,
  parseBytes,
  parseTime,
  PRESETS,
  STICKER_FORMATS,
  validateSettings,
  formatTime,
  type FrameSource,
  type Progress,
} from '@clipchat/capture/node';
import { num, parseArgs, parseCrop, str, UsageError } from '../args.ts';
import { runCapture, type Captured } from '../capture-run.ts';
import { checkNameMatches, formatOfName } from '../names.ts';
import { checkOutputPath } from '../output.ts';

export const USAGE = `usage: clipchat clip <video> --from <time> --to <time> [options] -o <file> [--json]
  --from TIME, --to TIME   the range [from, to): 90, 90.5, 1:30, 1:30.5 or 01:01:30.250
  --fps N                  frames per second (default 12; GIF at most 50, WebP/WebM 60)
  --width N                width asked for (fitting may shrink it, and says so)
  --max-bytes N            size limit: 65536, 500KB (1000), 256KiB (1024), 1MiB (default 1MiB)
  --max-clip-seconds S     longest range allowed (default 6, at most 30)
  -f, --format F           ${STICKER_FORMATS.join(', ')} (default: from the output's extension, else gif)
  -q, --quality Q          quality to aim for, 1-100 (default 80; fitting never goes above it)
  --preset NAME            ${PRESETS.map((x) => x.id).join(', ')}: what that platform accepts (size, bytes, length, rate)
  --fit ${SQUARE_FITS.join('|')}     square presets: the whole frame with transparent bars, or cropped to a square
                           (the centre, or --crop extended to a square); default contain
  --crop x,y,w,h           keep this region (video pixels, after rotation)
  -o, --output F           file to write ('-' for stdout); its extension must name the format written
  --json                   print one JSON line describing the result (on stderr when the sticker goes to stdout)
  -h, --help               show this help`;

/** The flags clip takes (each is listed in {@link USAGE}). */
export const FLAGS = [
  { name: 'from' },
  { name: 'to' },
  { name: 'fps' },
  { name: 'width' },
  { name: 'max-bytes' },
  { name: 'max-clip-seconds' },
  { name: 'format', short: 'f' },
  { name: 'quality', short: 'q' },
  { name: 'preset' },
  { name: 'fit' },
  { name: 'crop' },
  { name: 'output', short: 'o' },
  { name: 'json', switch: true },
  { name: 'help', short: 'h', switch: true },
];

/** The sticker format an output name implies, if it names one clip writes. */
function formatFromName(file: string): string | undefined {
  const f = formatOfName(file);
  return f !== undefined && (STICKER_FORMATS as readonly string[]).includes(f) ? f : undefined;
}

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, FLAGS);
  if (p.flags.has('help')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (p.positionals.length !== 1)
    throw new UsageError(
      p.positionals.length
        ? `clip takes one video, got ${p.positionals.length} arguments`
        : 'missing the video to clip from',
    );
  const video = p.positionals[0]!;
  const fromText = str(p, 'from'),
    toText = str(p, 'to'),
    out = str(p, 'output');
  if (fromText === undefined) throw new UsageError('missing --from <time>');
  if (toText === undefined) throw new UsageError('missing --to <time>');
  if (out === undefined) throw new UsageError('missing -o <file>');

  const preset = str(p, 'preset');
  const base = preset !== undefined ? applyPreset(preset) : DEFAULT_SETTINGS;
  const fmt =
    str(p, 'format')?.toLowerCase() ?? (preset === undefined ? formatFromName(out) : undefined);
  const maxBytes = str(p, 'max-bytes');
  const settings = validateSettings(
    {
      stickerFormat: fmt,
      fps: num(p, 'fps'),
      stickerQuality: num(p, 'quality'),
      maxStickerBytes: maxBytes !== undefined ? parseBytes(maxBytes, '--max-bytes') : undefined,
      maxClipSeconds: num(p, 'max-clip-seconds'),
      crop: parseCrop(str(p, 'crop')),
      fit: str(p, 'fit'),
    },
    base,
  );
  if (p.flags.has('fit') && settings.frameSize !== 'square') {
    throw new UsageError(
      `--fit applies to square stickers (--preset ${PRESETS.filter(
        (x) => x.settings.frameSize === 'square',
      )
        .map((x) => x.id)
        .join(', ')}); this one is not square`,
    );
  }
  if (preset !== undefined) checkPresetRules(getPreset(preset), settings);
  const fmtFlag = str(p, 'format');
  checkNameMatches(
    out,
    settings.stickerFormat,
    fmtFlag !== undefined ? `-f ${fmtFlag}` : preset !== undefined ? `--preset ${preset}` : 'clip',
  );
  const width = num(p, 'width');
  if (width !== undefined && (!Number.isInteger(width) || width < 1))
    throw new UsageError(`--width must be a whole number of pixels ≥ 1, got ${width}`);
  const from = parseTime(fromText, '--from');
  const to = parseTime(toText, '--to');
  // Checked before touching the video, so a typo fails fast.
  if (!(to > from))
    throw new UsageError(`--to (${formatTime(to)}) must be after --from (${formatTime(from)})`);
  if (to - from > settings.maxClipSeconds + 1e-9) {
    throw new UsageError(
      `the range ${formatTime(from)}–${formatTime(to)} is ${+(to - from).toFixed(3)} s long; --max-clip-seconds allows at most ${settings.maxClipSeconds} s`,
    );
  }
  await checkOutputPath(out);

  return await runCapture('clip', video, out, p.flags.has('json'), (source, signal, onProgress) =>
    clip(source, signal, onProgress),
  );

  async function clip(
    source: FrameSource,
    signal: AbortSignal,
    onProgress: (p: Progress) => void,
  ): Promise<Captured> {
    const sticker = await makeSticker(source, {
      from,
      to,
      settings,
      width,
      signal,
      onProgress,
      writers: nodeStickerWriters(),
    });
    return {
      bytes: sticker.bytes,
      timings: sticker.timings,
      report: {
        format: sticker.format,
        width: sticker.width,
        height: sticker.height,
        frames: sticker.frames,
        fps: sticker.fps,
        durationMs: sticker.durationMs,
        adapted: sticker.adapted as Record<string, unknown>,
        maxBytes: settings.maxStickerBytes,
      },
    };
  }
}
