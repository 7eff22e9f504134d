/**
 * `clipchat grab <video> --at <time> [-f fmt] [-q 1-100] [--width N] [--crop x,y,w,h] -o <file> [--json]`:
 * writes the frame on screen at a time point as a still.
 */
import { grab, parseTime, STILL_FORMATS, validateSettings } from '@clipchat/capture/node';
import { num, parseArgs, parseCrop, str, UsageError } from '../args.ts';
import { runCapture } from '../capture-run.ts';
import { checkNameMatches, formatOfName } from '../names.ts';
import { checkOutputPath } from '../output.ts';

export const USAGE = `usage: clipchat grab <video> --at <time> [-f ${STILL_FORMATS.join('|')}] [-q 1-100] [--width N] [--crop x,y,w,h] -o <file> [--json]
  --at TIME         time of the frame: 90, 90.5, 1:30, 1:30.5 or 01:01:30.250
  -f, --format F    image format (default: from the output's extension, else png)
  -q, --quality Q   quality of lossy formats, 1-100 (default 90)
  --width N         output width in pixels (height keeps the aspect)
  --crop x,y,w,h    keep this region (video pixels, after rotation)
  -o, --output F    file to write ('-' for stdout); its extension must name the format written
  --json            print one JSON line describing the result (on stderr when the image goes to stdout)
  -h, --help        show this help`;

/** The flags grab takes (each is listed in {@link USAGE}). */
export const FLAGS = [
  { name: 'at' },
  { name: 'format', short: 'f' },
  { name: 'quality', short: 'q' },
  { name: 'width' },
  { name: 'crop' },
  { name: 'output', short: 'o' },
  { name: 'json', switch: true },
  { name: 'help', short: 'h', switch: true },
];

const ALIASES: Record<string, string> = { jpg: 'jpeg', tif: 'tiff' };

/** The still format an output name implies, if it names one grab writes. */
function formatFromName(file: string): string | undefined {
  const f = formatOfName(file);
  return f !== undefined && (STILL_FORMATS as readonly string[]).includes(f) ? f : undefined;
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
        ? `grab takes one video, got ${p.positionals.length} arguments`
        : 'missing the video to grab from',
    );
  const video = p.positionals[0]!;
  const at = str(p, 'at');
  if (at === undefined) throw new UsageError('missing --at <time>');
  const out = str(p, 'output');
  if (out === undefined) throw new UsageError('missing -o <file>');

  const fmtFlag = str(p, 'format');
  const format =
    fmtFlag !== undefined
      ? (ALIASES[fmtFlag.toLowerCase()] ?? fmtFlag.toLowerCase())
      : (formatFromName(out) ?? 'png');
  const settings = validateSettings({
    stillFormat: format,
    stillQuality: num(p, 'quality', '-q'),
    crop: parseCrop(str(p, 'crop')),
  });
  const width = num(p, 'width');
  const time = parseTime(at, '--at');
  checkNameMatches(out, settings.stillFormat, fmtFlag !== undefined ? `-f ${fmtFlag}` : 'grab');
  await checkOutputPath(out);

  return runCapture('grab', video, out, p.flags.has('json'), async (source, signal, onProgress) => {
    const still = await grab(source, { at: time, settings, width, signal, onProgress });
    return {
      bytes: still.bytes,
      timings: still.timings,
      report: {
        format: still.format,
        width: still.width,
        height: still.height,
        frames: 1,
        fps: null,
        durationMs: 0,
        adapted: {},
        time: still.time,
        frameIndex: still.frameIndex,
        passthrough: still.passthrough,
      },
    };
  });
}
