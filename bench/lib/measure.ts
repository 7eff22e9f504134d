/**
 * Quality measurement exactly as Clipchat's sticker benchmark defines it:
 * - reference: the frame on screen at each sample time `from + k/fps` (last frame with
 *   presentation time ≤ t), scaled to the requested width with lanczos;
 * - sticker: decoded by ffmpeg (animated WebP by libwebp through sharp: ffmpeg before
 *   7.1 cannot decode it), each frame looked at in the middle of its interval,
 *   `(k + 0.5)/fps`, scaled to the reference size with lanczos if it was shrunk;
 * - score: ffmpeg's `ssim` on yuv444p (the `All:` value) and `psnr` (`average:`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { FFMPEG, WORK, must } from './proc';

/** A benchmark request: a stretch of a video at a rate, width and byte budget. */
export interface Request {
  id: string;
  /** Content class (film, animation, noise, flat graphics, fast motion, fades). */
  kind: string;
  src: string;
  from: number;
  to: number;
  fps: number;
  width: number;
  maxBytes: number;
}

/** Frames as packed RGB24, all one size. */
export interface Seq {
  width: number;
  height: number;
  frames: Buffer[];
}

export interface Score {
  ssim: number;
  psnr: number;
}

/** Presentation size of a video's first stream. */
async function videoSize(src: string): Promise<{ width: number; height: number }> {
  const r = await must('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height',
    '-of',
    'csv=p=0',
    src,
  ]);
  const [w, h] = r.stdout.toString().trim().split(',').map(Number);
  return { width: w!, height: h! };
}

/** Reference size of a request: the requested width, height by the aspect (rounded). */
async function referenceSize(req: Request): Promise<{ width: number; height: number }> {
  const v = await videoSize(req.src);
  return { width: req.width, height: Math.round((v.height * req.width) / v.width) };
}

/**
 * Decodes with ffmpeg, every frame (no resampling), scaled to w×h, with its time in
 * seconds. `filters` run before the scaling (e.g. a crop).
 */
export async function decodeTimed(
  pre: string[],
  file: string,
  w: number,
  h: number,
  post: string[] = [],
  filters = '',
): Promise<{ frames: Buffer[]; times: number[] }> {
  const r = await must(FFMPEG, [
    '-hide_banner',
    '-loglevel',
    'info',
    ...pre,
    '-i',
    file,
    ...post,
    '-vf',
    `${filters ? `${filters},` : ''}scale=${w}:${h}:flags=lanczos,showinfo`,
    '-vsync',
    'passthrough',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ]);
  // Exact times from the integer pts and the time base: showinfo prints pts_time with six
  // significant digits, and a rounded-up 1.41667 would put frame 34 after t = 17/12.
  const tb = /config in time_base:\s*(\d+)\/(\d+)/.exec(r.stderr);
  if (!tb) throw new Error(`no time base in ffmpeg's showinfo output for ${file}`);
  const times = [...r.stderr.matchAll(/\] n:\s*\d+ pts:\s*(-?\d+) pts_time:/g)].map(
    (m) => (Number(m[1]) * Number(tb[1])) / Number(tb[2]),
  );
  const size = w * h * 3;
  const frames: Buffer[] = [];
  for (let o = 0; o + size <= r.stdout.length; o += size)
    frames.push(r.stdout.subarray(o, o + size));
  if (frames.length !== times.length)
    throw new Error(`decoded ${frames.length} frames but ${times.length} timestamps from ${file}`);
  return { frames, times };
}

/** Index of the last time ≤ t (0 when all are later). */
export function onScreen(times: readonly number[], t: number): number {
  let j = 0;
  for (let i = 0; i < times.length; i++) if (times[i]! <= t + 1e-9) j = i;
  return j;
}

/** The reference frames of a request (see the module comment). */
export async function referenceFrames(req: Request): Promise<Seq> {
  const { width, height } = await referenceSize(req);
  const start = Math.max(0, req.from - 1);
  const d = await decodeTimed(
    ['-ss', String(start), '-t', String(req.to - start + 0.5)],
    req.src,
    width,
    height,
  );
  const n = Math.max(1, Math.ceil((req.to - req.from) * req.fps - 1e-9));
  const frames: Buffer[] = [];
  for (let k = 0; k < n; k++)
    frames.push(
      d.frames[
        onScreen(
          d.times.map((t) => t + start),
          req.from + k / req.fps,
        )
      ]!,
    );
  return { width, height, frames };
}

/** Samples a sticker's frames at (k + 0.5)/fps, scaled to the reference size. */
export async function stickerFrames(
  file: string,
  format: 'gif' | 'webp' | 'webm',
  ref: Seq,
  fps: number,
): Promise<Seq> {
  const { width, height } = ref;
  let frames: Buffer[];
  let times: number[];
  if (format === 'webp') {
    // From bytes, not the path: libvips caches decoded files by name, and the benchmark
    // rewrites files of the same name.
    const img = sharp(await readFile(file), { pages: -1 });
    const meta = await img.metadata();
    const ph = meta.pageHeight ?? meta.height;
    const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const pages = Math.round(info.height / ph);
    frames = [];
    for (let i = 0; i < pages; i++) {
      let f = data.subarray(i * info.width * ph * 3, (i + 1) * info.width * ph * 3);
      if (info.width !== width || ph !== height) {
        f = await sharp(f, { raw: { width: info.width, height: ph, channels: 3 } })
          .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
          .raw()
          .toBuffer();
      }
      frames.push(f);
    }
    const delays = meta.delay ?? frames.map(() => 1000 / fps);
    times = [];
    let acc = 0;
    for (const dl of delays) {
      times.push(acc / 1000);
      acc += dl;
    }
  } else {
    ({ frames, times } = await decodeTimed([], file, width, height));
    const t0 = times[0] ?? 0;
    times = times.map((t) => t - t0);
  }
  const out: Buffer[] = [];
  for (let k = 0; k < ref.frames.length; k++) out.push(frames[onScreen(times, (k + 0.5) / fps)]!);
  return { width, height, frames: out };
}

/** ffmpeg's SSIM (All) and PSNR (average) between two sequences, on yuv444p. */
export async function score(a: Seq, b: Seq): Promise<Score> {
  const fa = join(WORK, 'score-a.rgb');
  const fb = join(WORK, 'score-b.rgb');
  await writeFile(fa, Buffer.concat(a.frames));
  await writeFile(fb, Buffer.concat(b.frames));
  const raw = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${a.width}x${a.height}`, '-r', '10'];
  const r = await must(FFMPEG, [
    '-hide_banner',
    ...raw,
    '-i',
    fa,
    ...raw,
    '-i',
    fb,
    '-lavfi',
    '[0]format=yuv444p,split[a1][a2];[1]format=yuv444p,split[b1][b2];[a1][b1]ssim[s];[a2][b2]psnr[p]',
    '-map',
    '[s]',
    '-f',
    'null',
    '-',
    '-map',
    '[p]',
    '-f',
    'null',
    '-',
  ]);
  const ssim = /SSIM .*All:([\d.]+)/.exec(r.stderr);
  const psnr = /PSNR .*average:([\d.]+|inf)/.exec(r.stderr);
  if (!ssim || !psnr) throw new Error(`no SSIM/PSNR in ffmpeg output: ${r.stderr.slice(-400)}`);
  return { ssim: Number(ssim[1]), psnr: psnr[1] === 'inf' ? Infinity : Number(psnr[1]) };
}
