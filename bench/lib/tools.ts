/**
 * The sticker makers compared side by side. Clipchat's go through the real pipeline
 * (`openVideo` → `makeSticker`: decode, scale, encode, fit); the others get the reference
 * frames (so they are judged on encoding alone) and their time is encoding only.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
// gifenc is CommonJS with no type declarations.
// @ts-expect-error — plain JS module
import gifencModule from 'gifenc';
import { makeSticker } from '../../packages/capture/src/clip';
import { validateSettings } from '../../packages/capture/src/config';
import { openVideo } from '../../packages/capture/src/node';
import type { StickerFormat } from '../../packages/capture/src/writer';
import { SharpWebpWriter } from '../../packages/capture/src/webp/sharp.node.ts';
import { FfmpegWebmWriter } from '../../packages/capture/src/webm/ffmpeg.node.ts';
import type { Request, Seq } from './measure';
import { FFMPEG, GIFSKI, WORK, must } from './proc';

/** One sticker made by one tool for one request. */
export interface Made {
  tool: string;
  format: StickerFormat;
  file: string;
  bytes: number;
  /** Wall time in seconds (see each tool for what it covers). */
  seconds: number;
  /** Tool-specific detail: chosen quality, adaptations, … */
  note: string;
  /** False when the tool could not make a sticker at all. */
  ok: boolean;
}

/** Quality Clipchat is asked for in the benchmark: the best that fits, like gifski's search. */
const CLIPCHAT_QUALITY = 100;

const delaysMs = (n: number, fps: number) =>
  Array.from(
    { length: n },
    (_, k) => Math.round(((k + 1) * 1000) / fps) - Math.round((k * 1000) / fps),
  );

/** Clipchat's full pipeline, in process: open, decode the range, scale, encode, fit. */
export async function clipchat(req: Request, format: StickerFormat, out: string): Promise<Made> {
  const t0 = performance.now();
  const source = await openVideo(req.src);
  try {
    const settings = validateSettings({
      stickerFormat: format,
      maxStickerBytes: req.maxBytes,
      fps: req.fps,
      maxSide: Math.max(64, req.width),
      stickerQuality: CLIPCHAT_QUALITY,
      maxClipSeconds: 30,
    });
    const s = await makeSticker(source, {
      from: req.from,
      to: req.to,
      settings,
      width: req.width,
      // The WebM writer aims its rate control at the real budget (fitting's tries pass looser limits).
      writers: {
        webp: new SharpWebpWriter(),
        webm: new FfmpegWebmWriter({ targetBytes: req.maxBytes }),
      },
    });
    await writeFile(out, s.bytes);
    const a = Object.entries(s.adapted)
      .map(([k, v]) => `${k} ${String((v as { to: unknown }).to)}`)
      .join(', ');
    return {
      tool: `clipchat-${format}`,
      format,
      file: out,
      bytes: s.bytes.length,
      seconds: (performance.now() - t0) / 1000,
      note: a || 'as asked',
      ok: true,
    };
  } catch (e) {
    return {
      tool: `clipchat-${format}`,
      format,
      file: out,
      bytes: 0,
      seconds: (performance.now() - t0) / 1000,
      note: (e as Error).message.slice(0, 120),
      ok: false,
    };
  } finally {
    await source.close();
  }
}

/** Writes the reference frames as numbered PNGs (gifski's input). */
export async function writePngs(ref: Seq, dir: string): Promise<string[]> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return Promise.all(
    ref.frames.map(async (f, k) => {
      const p = join(dir, `f${String(k).padStart(5, '0')}.png`);
      await sharp(f, { raw: { width: ref.width, height: ref.height, channels: 3 } })
        .png({ compressionLevel: 1 })
        .toFile(p);
      return p;
    }),
  );
}

/** One gifski run at quality `q`. */
async function gifskiAt(
  pngs: string[],
  fps: number,
  width: number,
  q: number,
  out: string,
): Promise<{ bytes: number; ms: number }> {
  const r = await must(GIFSKI, [
    '--quiet',
    '--fps',
    String(fps),
    '--quality',
    String(q),
    '--width',
    String(width),
    '-o',
    out,
    ...pngs,
  ]);
  return { bytes: (await stat(out)).size, ms: r.ms };
}

/**
 * gifski at a budget: binary search of --quality for the best that fits. Its time is one
 * run at the chosen quality (what a user who knew the quality would pay); `searchSeconds`
 * says what finding it cost.
 */
export async function gifskiFit(
  req: Request,
  pngs: string[],
  out: string,
): Promise<Made & { quality: number; searchSeconds: number }> {
  let lo = 0; // best fitting quality so far (0 = none)
  let hi = 101; // smallest quality known not to fit
  let search = 0;
  const tmp = `${out}.try.gif`;
  const at = async (q: number) => {
    const r = await gifskiAt(pngs, req.fps, req.width, q, tmp);
    search += r.ms;
    return r;
  };
  let best: { q: number; bytes: number; ms: number } | undefined;
  // gifski's default, then bisect.
  let q = 90;
  while (hi - lo > 1) {
    const r = await at(q);
    if (r.bytes <= req.maxBytes) {
      lo = q;
      best = { q, ...r };
      await writeFile(out, await readFile(tmp));
    } else hi = q;
    q = Math.floor((lo + hi) / 2);
    if (q <= lo) break;
  }
  if (!best) {
    const r = await gifskiAt(pngs, req.fps, req.width, 1, out);
    return {
      tool: 'gifski',
      format: 'gif',
      file: out,
      bytes: r.bytes,
      seconds: r.ms / 1000,
      note: 'no quality fits (Q=1 shown)',
      ok: true,
      quality: 1,
      searchSeconds: search / 1000,
    };
  }
  await rm(tmp, { force: true });
  return {
    tool: 'gifski',
    format: 'gif',
    file: out,
    bytes: best.bytes,
    seconds: best.ms / 1000,
    note: `Q=${best.q}`,
    ok: true,
    quality: best.q,
    searchSeconds: search / 1000,
  };
}

/** ffmpeg palettegen + paletteuse (defaults) over the reference frames; no size control. */
export async function ffmpegPalette(req: Request, ref: Seq, out: string): Promise<Made> {
  const raw = join(WORK, 'ref.rgb');
  await writeFile(raw, Buffer.concat(ref.frames));
  const r = await must(FFMPEG, [
    '-v',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    `${ref.width}x${ref.height}`,
    '-r',
    String(req.fps),
    '-i',
    raw,
    '-lavfi',
    'split[a][b];[a]palettegen[p];[b][p]paletteuse',
    out,
  ]);
  return {
    tool: 'ffmpeg-palette',
    format: 'gif',
    file: out,
    bytes: (await stat(out)).size,
    seconds: r.ms / 1000,
    note: 'palettegen+paletteuse',
    ok: true,
  };
}

/** gifenc (JS): a 256-colour palette per frame, as its README shows; no size control. */
type GifencApi = {
  GIFEncoder: () => {
    writeFrame(index: Uint8Array, w: number, h: number, o: object): void;
    finish(): void;
    bytes(): Uint8Array;
  };
  quantize: (rgba: Uint8Array, n: number) => number[][];
  applyPalette: (rgba: Uint8Array, palette: number[][]) => Uint8Array;
};
const { GIFEncoder, applyPalette, quantize } = gifencModule as GifencApi;

export async function gifenc(req: Request, ref: Seq, out: string): Promise<Made> {
  const t0 = performance.now();
  const gif = GIFEncoder();
  const d = delaysMs(ref.frames.length, req.fps);
  const rgba = new Uint8Array(ref.width * ref.height * 4);
  ref.frames.forEach((f, k) => {
    for (let i = 0, j = 0; i < f.length; i += 3, j += 4) {
      rgba[j] = f[i]!;
      rgba[j + 1] = f[i + 1]!;
      rgba[j + 2] = f[i + 2]!;
      rgba[j + 3] = 255;
    }
    const palette = quantize(rgba, 256);
    gif.writeFrame(applyPalette(rgba, palette), ref.width, ref.height, { palette, delay: d[k] });
  });
  gif.finish();
  const bytes: Uint8Array = gif.bytes();
  const seconds = (performance.now() - t0) / 1000;
  await writeFile(out, bytes);
  return {
    tool: 'gifenc',
    format: 'gif',
    file: out,
    bytes: bytes.length,
    seconds,
    note: 'per-frame palette',
    ok: true,
  };
}

/** sharp's GIF writer (libvips + cgif + libimagequant) with its defaults; no size control. */
export async function sharpGif(req: Request, ref: Seq, out: string): Promise<Made> {
  const t0 = performance.now();
  const buf = await sharp(Buffer.concat(ref.frames), {
    raw: {
      width: ref.width,
      height: ref.height * ref.frames.length,
      channels: 3,
      pageHeight: ref.height,
    },
  })
    .gif({ delay: delaysMs(ref.frames.length, req.fps), loop: 0 })
    .toBuffer();
  const seconds = (performance.now() - t0) / 1000;
  await writeFile(out, buf);
  return {
    tool: 'sharp-gif',
    format: 'gif',
    file: out,
    bytes: buf.length,
    seconds,
    note: 'defaults',
    ok: true,
  };
}
