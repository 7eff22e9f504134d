/**
 * WebM (VP9, no audio) stickers in Node through ffmpeg's libvpx-vp9: raw frames are piped
 * in, one key frame opens the clip (it loops cleanly: no audio, no leading gap) and the
 * alpha plane is kept only when a frame has transparent pixels. {@link fitWebm} fits the
 * file to a byte budget, aiming the encoder's rate control at the budget first.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureError } from '../errors';
import type { RgbaImage } from '../types';
import { OverBudgetError, throwIfCancelled, type CancelSignal, type StickerEncodeOptions, type StickerWriter } from '../writer';
import { allOpaque, sharpScaler } from '../webp/sharp.node.ts';
import { fitLadder, type Adaptations, type LadderOptions, type LadderResult } from '../webp/fit-ladder';

/** Knobs of one WebM encode (passed as `StickerEncodeOptions.tuning`). */
export interface WebmTuning {
  /** Target average bitrate in bits/s; with it the encode is two-pass, quality-capped by `quality`. */
  bitrate?: number;
  /** libvpx `-cpu-used` 0–8 (default 2): lower is slower and better. */
  cpuUsed?: number;
  /** Path of the ffmpeg binary (default: CLIPCHAT_FFMPEG, PATH, then the bundled one). */
  ffmpeg?: string;
}

let cachedFfmpeg: string | undefined;

/** Finds ffmpeg: `CLIPCHAT_FFMPEG`, then `ffmpeg` on PATH, then `@ffmpeg-installer/ffmpeg`. */
export function webmFfmpegPath(): string {
  if (cachedFfmpeg) return cachedFfmpeg;
  const env = process.env.CLIPCHAT_FFMPEG;
  if (env && existsSync(env)) return (cachedFfmpeg = env);
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'ffmpeg'))) return (cachedFfmpeg = join(dir, 'ffmpeg'));
  }
  try {
    const req = createRequire(import.meta.url);
    return (cachedFfmpeg = (req('@ffmpeg-installer/ffmpeg') as { path: string }).path);
  } catch {
    throw new CaptureError('ERR_FFMPEG', 'ffmpeg not found: set CLIPCHAT_FFMPEG, put ffmpeg on PATH, or install @ffmpeg-installer/ffmpeg');
  }
}

/** Maps Clipchat quality 1–100 to a VP9 CRF 4–63 (80 → 16, 50 → 34, 1 → 63). */
export function crfFor(quality: number): number {
  const q = Math.max(1, Math.min(100, quality));
  return Math.round(63 - ((q - 1) / 99) * 59);
}

/** Runs ffmpeg, writing `input` chunks to its stdin; rejects with its stderr's tail. */
function run(ffmpeg: string, args: string[], input: readonly Uint8Array[], signal?: CancelSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    const poll = setInterval(() => { if (signal?.aborted) p.kill('SIGKILL'); }, 50);
    p.on('error', (e) => { clearInterval(poll); reject(new CaptureError('ERR_FFMPEG', `cannot run ffmpeg (${ffmpeg}): ${e.message}`)); });
    p.on('close', (code) => {
      clearInterval(poll);
      if (signal?.aborted) return reject(throwIfCancelledError(signal));
      if (code === 0) resolve();
      else reject(new CaptureError('ERR_FFMPEG', `ffmpeg failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
    p.stdin.on('error', () => {}); // ffmpeg may exit early; 'close' reports why
    (async () => {
      for (const chunk of input) {
        if (!p.stdin.write(chunk)) await new Promise<void>((r) => p.stdin.once('drain', () => r()));
      }
      p.stdin.end();
    })().catch(() => {});
  });
}

function throwIfCancelledError(signal: CancelSignal): unknown {
  try { throwIfCancelled(signal); } catch (e) { return e; }
  return new Error('cancelled');
}

/** A frame rate as ffmpeg's rational, from the mean delay (exact for the usual 1000/fps ms). */
function rateOf(delaysMs: readonly number[]): string {
  const total = delaysMs.reduce((a, b) => a + b, 0);
  const fps = (delaysMs.length * 1000) / (total || 1);
  const whole = Math.round(fps);
  if (Math.abs(fps - whole) < 1e-3 * fps) return String(whole);
  return `${Math.round(fps * 1000)}/1000`;
}

/**
 * VP9 WebM writer over ffmpeg. Without `tuning.bitrate` it is one constant-quality pass
 * (`-crf` from `quality`, `-b:v 0`); with it, two passes of constrained quality aiming at
 * that bitrate but never better than `quality` asks. Frames are constant-rate at the mean
 * of `delaysMs`. Output over `maxBytes` throws {@link OverBudgetError}.
 */
export class FfmpegWebmWriter implements StickerWriter {
  readonly format = 'webm' as const;
  readonly mime = 'video/webm';
  readonly maxFps = 60;
  private readonly defaults: WebmTuning;

  constructor(defaults: WebmTuning = {}) {
    this.defaults = defaults;
  }

  async encode(frames: readonly RgbaImage[], delaysMs: readonly number[], options: StickerEncodeOptions): Promise<Uint8Array> {
    if (!frames.length) throw new CaptureError('ERR_EMPTY', 'a sticker needs at least one frame');
    if (delaysMs.length !== frames.length) {
      throw new CaptureError('ERR_DELAYS', `need one delay per frame: ${frames.length} frames, ${delaysMs.length} delays`);
    }
    throwIfCancelled(options.signal);
    const t = { ...this.defaults, ...(options.tuning as WebmTuning | undefined) };
    const ffmpeg = t.ffmpeg ?? webmFfmpegPath();
    const { width, height } = frames[0]!;
    if (width % 2 || height % 2) throw new CaptureError('ERR_FRAME_SIZE', `VP9 4:2:0 needs even sizes, got ${width}×${height}`);
    const alpha = !allOpaque(frames);
    const input = frames.map((f) => new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength));
    const dir = await mkdtemp(join(tmpdir(), 'clipchat-webm-'));
    const out = join(dir, 'out.webm');
    const crf = String(crfFor(options.quality));
    const common = [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${width}x${height}`, '-r', rateOf(delaysMs), '-i', 'pipe:0',
      '-an', '-c:v', 'libvpx-vp9', '-pix_fmt', alpha ? 'yuva420p' : 'yuv420p',
      '-deadline', 'good', '-cpu-used', String(t.cpuUsed ?? 2), '-row-mt', '1', '-threads', '2',
      // One key frame: the clip is short, and every extra key frame costs budget.
      '-g', '9999', '-auto-alt-ref', '1', '-lag-in-frames', '25',
      '-crf', crf,
    ];
    try {
      if (t.bitrate) {
        const b = String(Math.max(1000, Math.round(t.bitrate)));
        const log = join(dir, 'pass');
        await run(ffmpeg, [...common, '-b:v', b, '-pass', '1', '-passlogfile', log, '-f', 'webm', '/dev/null'], input, options.signal);
        options.onProgress?.(0.5);
        await run(ffmpeg, [...common, '-b:v', b, '-pass', '2', '-passlogfile', log, '-f', 'webm', out], input, options.signal);
      } else {
        await run(ffmpeg, [...common, '-b:v', '0', '-f', 'webm', out], input, options.signal);
      }
      const bytes = await readFile(out);
      options.onProgress?.(1);
      if (options.maxBytes !== undefined && bytes.length > options.maxBytes) throw new OverBudgetError(bytes.length, options.maxBytes);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Options of {@link fitWebm}: the fitting ladder's plus WebM knobs. */
export interface FitWebmOptions extends Omit<LadderOptions, 'tuning'> {
  tuning?: Omit<WebmTuning, 'bitrate'>;
}

/**
 * Encodes a VP9 WebM that never exceeds `maxBytes`. First a constant-quality pass at the
 * target quality (kept when it fits). Otherwise two-pass rate control aimed at the
 * budget, corrected from each try's real size (a few tries; the best fitting one wins).
 * Only when the lowest useful bitrate still overshoots does it fall back to the generic
 * ladder (quality, then size, then frame rate).
 * @throws BudgetError when nothing sensible fits, with the smallest size reached.
 */
export async function fitWebm(frames: readonly RgbaImage[], delaysMs: readonly number[], options: FitWebmOptions): Promise<LadderResult> {
  const writer = new FfmpegWebmWriter(options.tuning);
  const quality = Math.max(1, Math.min(100, Math.round(options.quality)));
  const { width, height } = frames[0] ?? { width: 0, height: 0 };
  const seconds = delaysMs.reduce((a, b) => a + b, 0) / 1000 || 1;
  const tries: LadderResult['tries'] = [];
  const result = (bytes: Uint8Array, q: number, adapted: Adaptations): LadderResult => ({
    bytes, quality: q, width, height, fps: options.fps, frames: frames.length, delaysMs: [...delaysMs], adapted, tries,
  });
  const attempt = async (bitrate?: number): Promise<Uint8Array | number> => {
    throwIfCancelled(options.signal);
    try {
      const b = await writer.encode(frames, delaysMs, { quality, maxBytes: options.maxBytes, tuning: { bitrate }, signal: options.signal });
      tries.push({ quality, width, height, fps: options.fps, bytes: b.length, fits: true });
      return b;
    } catch (e) {
      if (!(e instanceof OverBudgetError)) throw e;
      tries.push({ quality, width, height, fps: options.fps, bytes: e.written, fits: false });
      return e.written;
    }
  };
  if (frames.length && width % 2 === 0 && height % 2 === 0) {
    const first = await attempt();
    if (typeof first !== 'number') return result(first, quality, {});
    // Container overhead is ~1 KB; aim a little under what is left.
    let bitrate = Math.max(1000, ((options.maxBytes - 1200) * 8 * 0.93) / seconds);
    let best: Uint8Array | undefined;
    let bestRate = 0;
    const floor = 8000; // bits/s below which VP9 output is mush: shrink instead
    for (let i = 0; i < 5 && bitrate >= floor; i++) {
      const r = await attempt(bitrate);
      options.onProgress?.(Math.min(0.9, (i + 2) / 7));
      if (typeof r === 'number') {
        bitrate *= Math.min(0.9, (options.maxBytes / r) * 0.95);
        continue;
      }
      if (!best || r.length > best.length) { best = r; bestRate = Math.round(bitrate); }
      if (r.length >= options.maxBytes * 0.9) break;
      bitrate *= Math.min(1.25, (options.maxBytes / r.length) * 0.97);
    }
    if (best) {
      options.onProgress?.(1);
      return result(best, quality, { bitrate: bestRate });
    }
  }
  const ladder = await fitLadder(writer, frames, delaysMs, sharpScaler, { minQuality: 10, maxTriesPerStep: 6, ...options, tuning: { ...options.tuning } });
  return { ...ladder, tries: [...tries, ...ladder.tries] };
}
