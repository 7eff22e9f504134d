/**
 * WebM (VP9, no audio) stickers in Node through ffmpeg's libvpx-vp9: raw frames are piped
 * in, one key frame opens the clip (it loops cleanly: no audio, no leading gap) and the
 * alpha plane is kept only when a frame has transparent pixels. With a budget, the writer
 * aims the encoder's rate control at it first; `fitSticker` does the rest.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureError } from '../errors';
import { findFfmpeg } from '../ffmpeg.node.ts';
import type { RgbaImage } from '../types';
import {
  OverBudgetError,
  throwIfCancelled,
  type CancelSignal,
  type StickerEncodeOptions,
  type StickerWriter,
} from '../writer';
import { allOpaque } from '../webp/sharp.node.ts';

/** Knobs of one WebM encode (passed as `StickerEncodeOptions.tuning`). */
export interface WebmTuning {
  /** Target average bitrate in bits/s; with it the encode is two-pass, quality-capped by `quality`. */
  bitrate?: number;
  /** libvpx `-cpu-used` 0–8 (default 4: on noisy content 2 is ~15× slower for ~1% SSIM). */
  cpuUsed?: number;
  /** Path of the ffmpeg binary (default: `findFfmpeg()`). */
  ffmpeg?: string;
  /**
   * With `maxBytes`, aim two-pass rate control at the budget (a few tries corrected from
   * real sizes) before giving up (default true). Budget fitting then rarely needs to lower
   * quality, size or rate itself.
   */
  aimAtBudget?: boolean;
  /**
   * The sticker's real budget in bytes, when fitting hands the writer a looser abort
   * limit (`maxBytes`) to learn sizes: rate control aims here, capped by `maxBytes`.
   */
  targetBytes?: number;
}

/** Maps Clipchat quality 1–100 to a VP9 CRF 4–63 (80 → 16, 50 → 34, 1 → 63). */
function crfFor(quality: number): number {
  const q = Math.max(1, Math.min(100, quality));
  return Math.round(63 - ((q - 1) / 99) * 59);
}

/** Runs ffmpeg, writing `input` chunks to its stdin; rejects with its stderr's tail. */
function run(
  ffmpeg: string,
  args: string[],
  input: readonly Uint8Array[],
  signal?: CancelSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    const poll = setInterval(() => {
      if (signal?.aborted) p.kill('SIGKILL');
    }, 50);
    p.on('error', (e) => {
      clearInterval(poll);
      reject(new CaptureError('ERR_FFMPEG', `cannot run ffmpeg (${ffmpeg}): ${e.message}`));
    });
    p.on('close', (code) => {
      clearInterval(poll);
      if (signal?.aborted) return reject(throwIfCancelledError(signal));
      if (code === 0) resolve();
      else
        reject(
          new CaptureError(
            'ERR_FFMPEG',
            `ffmpeg failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
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
  try {
    throwIfCancelled(signal);
  } catch (e) {
    return e;
  }
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
 * VP9 WebM writer over ffmpeg. With `maxBytes` (and `aimAtBudget`, the default) it runs
 * two-pass constrained quality: `-crf` from `quality` caps the quality, the bitrate aims
 * at the budget and is corrected from each try's size (up to 4 tries). Without a budget,
 * one constant-quality pass (`-crf`, `-b:v 0`), or two passes at `tuning.bitrate`.
 * Frames are constant-rate at the mean of `delaysMs`. When no try fits it throws
 * {@link OverBudgetError} with the smallest size reached.
 */
export class FfmpegWebmWriter implements StickerWriter {
  readonly format = 'webm' as const;
  readonly mime = 'video/webm';
  readonly maxFps = 60;
  private readonly defaults: WebmTuning;
  /** Average bits/s of the last output when rate control made it; undefined for constant quality. */
  lastBitrate: number | undefined;

  constructor(defaults: WebmTuning = {}) {
    this.defaults = defaults;
  }

  async encode(
    frames: readonly RgbaImage[],
    delaysMs: readonly number[],
    options: StickerEncodeOptions,
  ): Promise<Uint8Array> {
    if (!frames.length) throw new CaptureError('ERR_EMPTY', 'a sticker needs at least one frame');
    if (delaysMs.length !== frames.length) {
      throw new CaptureError(
        'ERR_DELAYS',
        `need one delay per frame: ${frames.length} frames, ${delaysMs.length} delays`,
      );
    }
    const { width, height } = frames[0]!;
    throwIfCancelled(options.signal);
    const t = { ...this.defaults, ...(options.tuning as WebmTuning | undefined) };
    const limit = options.maxBytes;
    const wanted = options.targetBytes ?? t.targetBytes;
    const max = limit === undefined ? undefined : Math.min(limit, wanted ?? limit);
    this.lastBitrate = undefined;
    const once = (bitrate: number | undefined) =>
      this.encodeOnce(frames, delaysMs, options.quality, bitrate, t, options.signal);
    if (t.bitrate || max === undefined || t.aimAtBudget === false) {
      // One encode: constant quality, or the bitrate asked for.
      const bytes = await once(t.bitrate);
      options.onProgress?.(1);
      if (limit !== undefined && bytes.length > limit)
        throw new OverBudgetError(bytes.length, limit);
      return bytes;
    }
    // Two-pass constrained quality: the CRF of the asked quality caps quality (never better
    // than asked), the bitrate aims at the budget. Each try corrects the bitrate from the
    // size it really gave; the biggest fitting try wins.
    const seconds = delaysMs.reduce((a, d) => a + d, 0) / 1000 || 1;
    const pixelRate = (width * height * frames.length) / seconds;
    const floor = Math.max(4000, 0.006 * pixelRate); // below this VP9 turns to mush: let fitting shrink instead
    let bitrate = ((max - 1200) * 8 * 0.93) / seconds;
    let best: Uint8Array | undefined;
    let bestRate = 0;
    let smallest: Uint8Array | undefined;
    for (let i = 0; i < 4 && bitrate >= floor; i++) {
      const r = await once(bitrate);
      if (options.onProgress?.(Math.min(0.95, (i + 1) / 4)) === false)
        throwIfCancelled({ aborted: true });
      if (!smallest || r.length < smallest.length) smallest = r;
      if (r.length > max) {
        bitrate *= Math.min(0.9, (max / r.length) * 0.95);
        continue;
      }
      if (!best || r.length > best.length) {
        best = r;
        bestRate = bitrate;
      }
      // Near the budget, or far under it: then the quality cap, not the rate, decided.
      if (r.length >= max * 0.9 || r.length < max * 0.7) break;
      bitrate *= Math.min(1.25, (max / r.length) * 0.97);
    }
    // Too little budget for even the floor bitrate: measure the floor, so fitting can size down.
    if (!smallest) smallest = await once(floor);
    if (!best && smallest.length <= max) best = smallest;
    if (!best) {
      // Nothing under the aim; a try under the looser limit still tells fitting its size.
      if (smallest && smallest.length <= limit!) return smallest;
      throw new OverBudgetError(smallest ? smallest.length : limit! + 1, limit!);
    }
    if (best.length >= max * 0.7) this.lastBitrate = Math.round(bestRate);
    options.onProgress?.(1);
    return best;
  }

  private async encodeOnce(
    frames: readonly RgbaImage[],
    delaysMs: readonly number[],
    quality: number,
    bitrate: number | undefined,
    t: WebmTuning,
    signal?: CancelSignal,
  ): Promise<Uint8Array> {
    const ffmpeg = t.ffmpeg ?? findFfmpeg();
    const { width, height } = frames[0]!;
    const alpha = !allOpaque(frames);
    const input = frames.map(
      (f) => new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength),
    );
    const dir = await mkdtemp(join(tmpdir(), 'clipchat-webm-'));
    const out = join(dir, 'out.webm');
    const common = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      '-s',
      `${width}x${height}`,
      '-r',
      rateOf(delaysMs),
      '-i',
      'pipe:0',
      '-an',
      '-c:v',
      'libvpx-vp9',
      '-pix_fmt',
      alpha ? 'yuva420p' : 'yuv420p',
      '-deadline',
      'good',
      '-cpu-used',
      String(t.cpuUsed ?? 4),
      '-row-mt',
      '1',
      '-threads',
      '2',
      // One key frame: the clip is short, and every extra key frame costs budget.
      '-g',
      '9999',
      '-auto-alt-ref',
      '1',
      '-lag-in-frames',
      '25',
      '-crf',
      String(crfFor(quality)),
    ];
    try {
      if (bitrate) {
        const b = String(Math.max(1000, Math.round(bitrate)));
        const log = join(dir, 'pass');
        await run(
          ffmpeg,
          [...common, '-b:v', b, '-pass', '1', '-passlogfile', log, '-f', 'webm', '/dev/null'],
          input,
          signal,
        );
        await run(
          ffmpeg,
          [...common, '-b:v', b, '-pass', '2', '-passlogfile', log, '-f', 'webm', out],
          input,
          signal,
        );
      } else {
        await run(ffmpeg, [...common, '-b:v', '0', '-f', 'webm', out], input, signal);
      }
      const bytes = await readFile(out);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
