/**
 * Checking a preset's output the way its platform would: ffprobe for container facts
 * (codec, size, frames, rate, audio), sharp for every frame's pixels (animated WebP, which
 * ffmpeg cannot decode), and ffmpeg's ssim filter against the source frame shaped the same
 * way (read by the ffmpeg command line, not by the engine's own source).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/** What ffprobe says of a file's streams. */
export interface Probe {
  codec: string;
  width: number;
  height: number;
  audioStreams: number;
  /** Frames and average rate, when ffprobe can count them (not for animated WebP). */
  frames?: number;
  fps?: number;
  duration?: number;
}

/** ffprobe's view of `bytes`. */
export function probe(bytes: Uint8Array, ext: string): Probe {
  const dir = mkdtempSync(join(tmpdir(), 'clipchat-probe-'));
  try {
    const f = join(dir, `x.${ext}`);
    writeFileSync(f, bytes);
    // ffmpeg cannot decode animated WebP: for it, only the stream's codec is asked.
    const count = ext === 'webp' ? [] : ['-count_frames'];
    const j = JSON.parse(
      execFileSync(
        'ffprobe',
        [
          '-v',
          'error',
          ...count,
          '-show_entries',
          'stream=codec_type,codec_name,width,height,nb_read_frames,avg_frame_rate:format=duration',
          '-of',
          'json',
          f,
        ],
        { encoding: 'utf8' },
      ),
    );
    const streams = (j.streams ?? []) as Array<Record<string, string | number>>;
    const v = streams.find((s) => s.codec_type === 'video')!;
    const [n, d] = String(v.avg_frame_rate ?? '0/1')
      .split('/')
      .map(Number);
    return {
      codec: String(v.codec_name),
      width: Number(v.width),
      height: Number(v.height),
      audioStreams: streams.filter((s) => s.codec_type === 'audio').length,
      frames: v.nb_read_frames !== undefined ? Number(v.nb_read_frames) : undefined,
      fps: d ? n! / d : undefined,
      duration: j.format?.duration !== undefined ? Number(j.format.duration) : undefined,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One decoded frame (RGBA) of an animated image, by sharp. */
export interface Page {
  width: number;
  height: number;
  data: Buffer;
}

/** Frame `page` of an animated GIF/WebP as sharp (libvips) decodes it, with its metadata. */
export async function pageOf(bytes: Uint8Array, page: number): Promise<Page> {
  const { data, info } = await sharp(bytes, { page, animated: false })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/** sharp's metadata of an animated image: size of a frame, frames, delays (ms), loop. */
export async function animation(
  bytes: Uint8Array,
): Promise<{ width: number; height: number; pages: number; delays: number[] }> {
  const m = await sharp(bytes, { animated: true }).metadata();
  return {
    width: m.width,
    height: m.pageHeight ?? m.height,
    pages: m.pages ?? 1,
    delays: m.delay ?? [],
  };
}

/** Alpha of pixel (x, y). */
export const alphaAt = (p: Page, x: number, y: number): number =>
  p.data[(y * p.width + x) * 4 + 3]!;

/** An RGBA page's region as a PNG file in `dir`. */
async function regionPng(
  p: Page,
  r: { x: number; y: number; width: number; height: number },
  file: string,
): Promise<void> {
  await sharp(p.data, { raw: { width: p.width, height: p.height, channels: 4 } })
    .extract({ left: r.x, top: r.y, width: r.width, height: r.height })
    .removeAlpha()
    .png()
    .toFile(file);
}

/**
 * The time ffmpeg's `-ss` needs to land on the frame on screen at `t` (the last one
 * presented at or before it; `-ss` itself takes the first at or after), from ffprobe's
 * packet list.
 */
function seekToFrameAt(video: string, t: number): number {
  const j = JSON.parse(
    execFileSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-select_streams',
        'v:0',
        '-show_entries',
        'packet=pts_time:stream=start_time',
        '-of',
        'json',
        video,
      ],
      { encoding: 'utf8' },
    ),
  );
  const start = Number(j.streams?.[0]?.start_time ?? 0);
  const times = (j.packets as Array<{ pts_time: string }>)
    .map((p) => Number(p.pts_time) - start)
    .sort((a, b) => a - b);
  let on = times[0]!;
  for (const x of times) if (x <= t + 1e-9) on = x;
  return Math.max(0, on - 1e-4);
}

/**
 * ffmpeg's SSIM (All) between `region` of `page` and the frame of `video` at `at` seconds,
 * cropped by `crop` (ffmpeg's crop filter) and scaled (lanczos) to the region's size.
 */
export async function ssimAgainstSource(
  page: Page,
  region: { x: number; y: number; width: number; height: number },
  video: string,
  at: number,
  crop: { x: number; y: number; width: number; height: number } | null,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'clipchat-ssim-'));
  try {
    const a = join(dir, 'a.png'),
      b = join(dir, 'b.png');
    await regionPng(page, region, a);
    const vf = [
      crop ? `crop=${crop.width}:${crop.height}:${crop.x}:${crop.y}` : '',
      `scale=${region.width}:${region.height}:flags=lanczos+accurate_rnd`,
      'format=rgb24',
    ]
      .filter(Boolean)
      .join(',');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-ss',
      seekToFrameAt(video, at).toFixed(6),
      '-i',
      video,
      '-frames:v',
      '1',
      '-vf',
      vf,
      b,
    ]);
    // ffmpeg prints the SSIM summary on stderr.
    const r = spawnSync(
      'ffmpeg',
      ['-hide_banner', '-i', a, '-i', b, '-lavfi', 'ssim', '-f', 'null', '-'],
      { encoding: 'utf8' },
    );
    const m = /All:([\d.]+)/.exec(r.stderr);
    if (!m) throw new Error(`no SSIM in ffmpeg's output: ${r.stderr.slice(-300)}`);
    return Number(m[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
