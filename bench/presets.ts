/**
 * Platform presets (`npm run bench:presets`): each preset's sticker of Big Buck Bunny 8–11 s
 * for `contain` and `cover` (Telegram's is `side`), checked as its platform checks it —
 * size, bytes, codec, frames, duration, audio (ffprobe; sharp for animated WebP) — and
 * scored against the source shaped the same way: ffmpeg's SSIM over every sampled frame
 * (`from + k/fps`, the sticker looked at in the middle of each interval), the picture only
 * (a `contain` sticker's transparent bars are not scored). Then Discord's 320×320 at
 * 512 KiB as APNG (ffmpeg's encoder: full colour, and one 256-colour palette with the
 * frame rate lowered until it fits) beside Clipchat's GIF: whether APNG is worth adding.
 *
 * Options: --src FILE --from S --to S (default Big Buck Bunny 8–11 s).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  applyPreset,
  FfmpegWebmWriter,
  getPreset,
  makeSticker,
  openVideo,
  SharpWebpWriter,
  stickerGeometry,
  validateSettings,
  type Preset,
  type SquareFit,
  type StickerGeometry,
} from '../packages/capture/src/node';
import { animation, probe } from '../packages/capture/test/preset-helpers';
import { decodeTimed, onScreen, score, type Seq } from './lib/measure';
import { BBB, FFMPEG, WORK, must } from './lib/proc';
import { fixed, kib, table } from './lib/table';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const SRC = opt('src') ?? BBB;
const FROM = Number(opt('from') ?? 8);
const TO = Number(opt('to') ?? 11);
const DIR = join(WORK, 'presets');

const CASES: Array<[string, SquareFit | undefined]> = [
  ['telegram', undefined],
  ['whatsapp', 'contain'],
  ['whatsapp', 'cover'],
  ['discord', 'contain'],
  ['discord', 'cover'],
  ['slack', 'contain'],
  ['slack', 'cover'],
];

const out: string[] = [];
const say = (s = '') => {
  out.push(s);
  process.stdout.write(`${s}\n`);
};

/** The source's frames on screen at `from + k/fps`, cropped and scaled as the sticker's picture. */
async function reference(g: StickerGeometry, fps: number): Promise<Seq> {
  const start = Math.max(0, FROM - 1);
  const crop = g.crop ? `crop=${g.crop.width}:${g.crop.height}:${g.crop.x}:${g.crop.y}` : '';
  const d = await decodeTimed(
    ['-ss', String(start), '-t', String(TO - start + 0.5)],
    SRC,
    g.width,
    g.height,
    [],
    crop,
  );
  const times = d.times.map((t) => t + start);
  const n = Math.max(1, Math.ceil((TO - FROM) * fps - 1e-9));
  return {
    width: g.width,
    height: g.height,
    frames: Array.from({ length: n }, (_, k) => d.frames[onScreen(times, FROM + k / fps)]!),
  };
}

/** A sticker's picture (the square's bars left out) at the middle of each of `n` intervals of 1/`fps`. */
async function picture(
  bytes: Uint8Array,
  ext: string,
  g: StickerGeometry,
  n: number,
  fps: number,
): Promise<Seq> {
  let frames: Buffer[];
  let times: number[];
  if (ext === 'webp') {
    // ffmpeg before 7.1 cannot decode animated WebP: libwebp through sharp.
    const img = sharp(Buffer.from(bytes), { pages: -1 });
    const meta = await img.metadata();
    const W = meta.width,
      ph = meta.pageHeight ?? meta.height;
    const { data } = await img.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    frames = [];
    for (let p = 0; p < (meta.pages ?? 1); p++) {
      const f = Buffer.alloc(g.width * g.height * 3);
      for (let y = 0; y < g.height; y++) {
        for (let x = 0; x < g.width; x++) {
          const i = ((p * ph + g.y + y) * W + g.x + x) * 4,
            o = (y * g.width + x) * 3;
          f[o] = data[i]!;
          f[o + 1] = data[i + 1]!;
          f[o + 2] = data[i + 2]!;
        }
      }
      frames.push(f);
    }
    times = [];
    let acc = 0;
    for (const d of meta.delay ?? []) {
      times.push(acc / 1000);
      acc += d;
    }
  } else {
    const file = join(DIR, `score.${ext}`);
    await writeFile(file, bytes);
    ({ frames, times } = await decodeTimed(
      [],
      file,
      g.width,
      g.height,
      [],
      `crop=${g.width}:${g.height}:${g.x}:${g.y}`,
    ));
    const t0 = times[0] ?? 0;
    times = times.map((t) => t - t0);
  }
  return {
    width: g.width,
    height: g.height,
    frames: Array.from({ length: n }, (_, k) => frames[onScreen(times, (k + 0.5) / fps)]!),
  };
}

/** What the platform would say of `bytes`: every rule it publishes, checked by ffprobe and sharp. */
async function verdict(
  preset: Preset,
  bytes: Uint8Array,
  format: string,
): Promise<{ ok: boolean; probe: string }> {
  const r = preset.rules!;
  const p = probe(bytes, format);
  const fails: string[] = [];
  let w = p.width,
    h = p.height,
    seconds = p.duration ?? NaN,
    frames = p.frames,
    fps = p.fps;
  if (format !== 'webm') {
    const a = await animation(bytes);
    w = a.width;
    h = a.height;
    frames = a.pages;
    seconds = a.delays.reduce((x, d) => x + d, 0) / 1000;
    fps = frames / seconds;
  }
  if (!r.formats.includes(format as never)) fails.push(`format ${format}`);
  if (bytes.length > r.maxBytes) fails.push(`bytes ${bytes.length} > ${r.maxBytes}`);
  if (r.width !== undefined && (w !== r.width || h !== r.height)) fails.push(`size ${w}×${h}`);
  if (r.side !== undefined && (Math.max(w, h) !== r.side || Math.min(w, h) > r.side))
    fails.push(`size ${w}×${h}`);
  if (seconds > r.maxSeconds + 1e-3) fails.push(`${seconds} s`);
  if (r.maxFps !== undefined && fps !== undefined && fps > r.maxFps + 1e-6)
    fails.push(`${fps} fps`);
  if (p.audioStreams > 0) fails.push('audio');
  if (format === 'webm' && p.codec !== 'vp9') fails.push(`codec ${p.codec}`);
  return {
    ok: fails.length === 0,
    probe: `${p.codec} ${w}×${h}, ${frames} fr, ${fixed(seconds, 2)} s${fails.length ? `; FAILS ${fails.join(', ')}` : ''}`,
  };
}

/** ffmpeg's APNG of RGBA frames: full colour, or one 256-colour palette (APNG has one). */
async function apng(
  frames: Buffer[],
  W: number,
  H: number,
  fps: number,
  palette: boolean,
): Promise<Uint8Array> {
  const raw = join(DIR, 'apng-in.rgba'),
    file = join(DIR, 'out.apng');
  await writeFile(raw, Buffer.concat(frames));
  const vf = palette
    ? [
        '-vf',
        'split[a][b];[a]palettegen=max_colors=256:reserve_transparent=1:stats_mode=full[p];[b][p]paletteuse=dither=none:alpha_threshold=128',
      ]
    : ['-pix_fmt', 'rgba'];
  await must(FFMPEG, [
    '-hide_banner',
    '-v',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgba',
    '-s',
    `${W}x${H}`,
    '-r',
    String(fps),
    '-i',
    raw,
    ...vf,
    '-pred',
    'mixed',
    '-plays',
    '0',
    '-f',
    'apng',
    file,
  ]);
  return new Uint8Array(await readFile(file));
}

/** The picture frames of `seq` on the square of `g` (transparent bars), as RGBA. */
function onCanvas(seq: Seq, g: StickerGeometry): Buffer[] {
  return seq.frames.map((f) => {
    const c = Buffer.alloc(g.canvasWidth * g.canvasHeight * 4);
    for (let y = 0; y < g.height; y++) {
      for (let x = 0; x < g.width; x++) {
        const i = (y * g.width + x) * 3,
          o = ((g.y + y) * g.canvasWidth + g.x + x) * 4;
        c[o] = f[i]!;
        c[o + 1] = f[i + 1]!;
        c[o + 2] = f[i + 2]!;
        c[o + 3] = 255;
      }
    }
    return c;
  });
}

async function main(): Promise<void> {
  await mkdir(DIR, { recursive: true });
  say(`# Platform presets on ${SRC.split('/').at(-1)} ${FROM}–${TO} s`);
  say();
  const rows: string[][] = [];
  const gifSsim: Record<string, { ssim: number; bytes: number; fps: number }> = {};
  for (const [id, fit] of CASES) {
    const preset = getPreset(id);
    const settings = validateSettings(fit ? { fit } : {}, applyPreset(id));
    const src = await openVideo(SRC);
    try {
      const t0 = performance.now();
      const s = await makeSticker(src, {
        from: FROM,
        to: TO,
        settings,
        writers: { webp: new SharpWebpWriter(), webm: new FfmpegWebmWriter() },
      });
      const ms = performance.now() - t0;
      const g = stickerGeometry(src.info.width, src.info.height, settings);
      const ref = await reference(g, settings.fps);
      const sc = await score(
        ref,
        await picture(s.bytes, s.format, g, ref.frames.length, settings.fps),
      );
      const v = await verdict(preset, s.bytes, s.format);
      if (s.format === 'gif')
        gifSsim[`${id} ${fit}`] = { ssim: sc.ssim, bytes: s.bytes.length, fps: s.fps };
      const adapted =
        Object.entries(s.adapted)
          .map(
            ([k, c]) =>
              `${k} ${String((c as { from: unknown }).from)}→${String((c as { to: unknown }).to)}`,
          )
          .join(', ') || 'as asked';
      rows.push([
        id,
        fit ?? 'side',
        `${s.width}×${s.height}`,
        `${g.width}×${g.height}`,
        s.format,
        String(s.bytes.length),
        kib(s.bytes.length),
        `${kib(preset.rules!.maxBytes)}`,
        `${s.frames} at ${s.fps}`,
        fixed(sc.ssim, 4),
        fixed(sc.psnr, 2),
        v.ok ? 'yes' : 'NO',
        v.probe,
        adapted,
        (ms / 1000).toFixed(1),
      ]);
      process.stderr.write(`${id} ${fit ?? 'side'} done\n`);
    } finally {
      await src.close();
    }
  }
  say(
    table(
      [
        'preset',
        'fit',
        'size',
        'picture',
        'format',
        'bytes',
        '',
        'limit',
        'frames at fps',
        'SSIM',
        'PSNR dB',
        'passes',
        'ffprobe / sharp',
        'fitting changed',
        's',
      ],
      rows,
    ),
  );
  say();

  // Discord in APNG beside Clipchat's GIF.
  const discord = getPreset('discord');
  const budget = discord.rules!.maxBytes;
  const arows: string[][] = [];
  for (const fit of ['contain', 'cover'] as const) {
    const settings = validateSettings({ fit }, applyPreset('discord'));
    const src = await openVideo(SRC);
    const g = stickerGeometry(src.info.width, src.info.height, settings);
    await src.close();
    const ref = await reference(g, settings.fps);
    const gif = gifSsim[`discord ${fit}`]!;
    arows.push([
      fit,
      `Clipchat GIF`,
      String(gif.fps),
      String(gif.bytes),
      kib(gif.bytes),
      gif.bytes <= budget ? 'yes' : 'no',
      fixed(gif.ssim, 4),
    ]);
    const full = await apng(onCanvas(ref, g), g.canvasWidth, g.canvasHeight, settings.fps, false);
    const fullScore = await score(
      ref,
      await picture(full, 'apng', g, ref.frames.length, settings.fps),
    );
    arows.push([
      fit,
      'APNG, full colour',
      String(settings.fps),
      String(full.length),
      kib(full.length),
      full.length <= budget ? 'yes' : 'no',
      fixed(fullScore.ssim, 4),
    ]);
    // One palette, the frame rate lowered until it fits (as fitting would).
    for (const fps of [settings.fps, 10, 8, 6, 5, 4, 3, 2, 1].filter(
      (f, i, a) => f <= settings.fps && a.indexOf(f) === i,
    )) {
      const frames = onCanvas(await reference(g, fps), g);
      const pal = await apng(frames, g.canvasWidth, g.canvasHeight, fps, true);
      const fits = pal.length <= budget;
      if (fits || fps === settings.fps) {
        const sc = await score(ref, await picture(pal, 'apng', g, ref.frames.length, settings.fps));
        arows.push([
          fit,
          'APNG, 256 colours',
          String(fps),
          String(pal.length),
          kib(pal.length),
          fits ? 'yes' : 'no',
          fixed(sc.ssim, 4),
        ]);
      }
      if (fits) break;
    }
  }
  say(`## Discord (320×320, ≤ ${kib(budget)}): GIF or APNG`);
  say();
  say(table(['fit', 'made by', 'fps', 'bytes', '', 'within 512 KiB', 'SSIM'], arows));
  await writeFile(join(DIR, 'results.md'), out.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
