/**
 * Runs capture requests against one opened video. The same code runs inside
 * `capture.worker.ts` and, when a worker cannot start (or the file needs the `<video>`
 * element fallback), on the main thread; either way it speaks the messages of `shared.ts`.
 */
import {
  gifWriter,
  grab,
  makeSticker,
  sampleTimes,
  stickerShape,
  type CaptureSettings,
  type FrameSource,
  type Still,
  type StickerWriter,
} from '@clipchat/capture';
import {
  BrowserWebmWriter,
  BrowserWebpWriter,
  encodeStillWithCanvas,
} from '@clipchat/capture/browser';
import { CachedFrameSource, MAX_CACHE_BYTES } from './frame-cache';
import { browserStillEncoders, PictureSource } from './stills';
import type { FromWorker, StickerResult, ToWorker } from './shared';

export type Post = (msg: FromWorker, transfer?: Transferable[]) => void;
export type Opener = (file: Blob | string, name: string) => Promise<FrameSource>;

interface Failure {
  code?: string;
  message?: string;
  plain?: string;
  field?: string;
  name?: string;
}

/** Turns whatever a step threw into an `error` message. */
function errorMessage(id: number, e: unknown): FromWorker {
  const f = (e ?? {}) as Failure;
  const code = f.code ?? (f.name === 'AbortError' ? 'ERR_CANCELLED' : 'ERR_CAPTURE');
  // A refused setting carries its message in words (`InvalidSettingError.plain`): that is what the page shows.
  return { id, type: 'error', code, message: f.plain ?? f.message ?? String(e), field: f.field };
}

/** Writers the browser adds to the engine's own (GIF is pure TypeScript in the engine). */
function browserWriters(): Partial<Record<'gif' | 'webp' | 'webm', StickerWriter>> {
  return { webm: new BrowserWebmWriter(), webp: new BrowserWebpWriter() };
}

const KNOBS: Record<string, string> = {
  quality: 'quality',
  colors: 'colours',
  dither: 'dithering',
  lossy: 'lossy compression',
  width: 'width',
  height: 'height',
  fps: 'frame rate',
};

/** Budget fitting's changes, in plain words: "frame rate 24 → 12". */
function describeAdaptations(
  adapted: Record<string, { from: unknown; to: unknown } | undefined>,
): string[] {
  const out: string[] = [];
  for (const [k, c] of Object.entries(adapted ?? {})) {
    if (!c || k === 'height') continue;
    if (k === 'width' && adapted.height)
      out.push(
        `size ${String(c.from)}×${String(adapted.height.from)} → ${String(c.to)}×${String(adapted.height.to)}`,
      );
    else out.push(`${KNOBS[k] ?? k} ${String(c.from)} → ${String(c.to)}`);
  }
  return out;
}

export class CaptureEngine {
  private source: FrameSource | null = null;
  private readonly jobs = new Map<number, AbortController>();
  private readonly post: Post;
  private readonly open: Opener;

  constructor(post: Post, open: Opener) {
    this.post = post;
    this.open = open;
  }

  async handle(msg: ToWorker): Promise<void> {
    if (msg.type === 'cancel') {
      this.jobs.get(msg.id)?.abort();
      return;
    }
    const ctrl = new AbortController();
    this.jobs.set(msg.id, ctrl);
    try {
      switch (msg.type) {
        case 'open': {
          await this.source?.close();
          this.source = null;
          const src = new CachedFrameSource(await this.open(msg.file, msg.name));
          this.source = src;
          this.post({ id: msg.id, type: 'opened', info: { ...src.info }, start: src.startTime });
          break;
        }
        case 'close':
          await this.source?.close();
          this.source = null;
          this.post({ id: msg.id, type: 'closed' });
          break;
        case 'still': {
          const t0 = performance.now();
          // The paused player's own picture skips decoding from the previous key frame.
          const src = msg.picture
            ? new PictureSource(msg.picture, msg.at, this.source?.info)
            : this.need();
          let still: Still;
          try {
            still = await grab(src, {
              at: msg.at,
              settings: msg.settings,
              encoders: browserStillEncoders(),
              signal: ctrl.signal,
            });
          } finally {
            if (msg.picture) await src.close();
          }
          this.post(
            {
              id: msg.id,
              type: 'still',
              result: {
                bytes: still.bytes,
                mime: still.mime,
                width: still.width,
                height: still.height,
                frameTime: still.time,
                via: msg.picture ? 'player' : 'decoder',
                format: msg.settings.stillFormat,
                at: msg.at,
                ms: performance.now() - t0,
              },
            },
            [still.bytes.buffer as ArrayBuffer],
          );
          break;
        }
        case 'sticker': {
          const t0 = performance.now();
          const src = this.need();
          const r = await makeSticker(src, {
            from: msg.from,
            to: msg.to,
            settings: msg.settings,
            crop: msg.settings.crop ?? undefined,
            writers: browserWriters(),
            signal: ctrl.signal,
            onProgress: (p: { stage: string; fraction: number }) => {
              this.post({ id: msg.id, type: 'progress', stage: p.stage, fraction: p.fraction });
            },
          });
          const result: StickerResult = {
            bytes: r.bytes,
            mime: r.mime,
            format: r.format,
            width: r.width,
            height: r.height,
            frames: r.frames,
            fps: r.fps,
            durationMs: r.durationMs,
            from: msg.from,
            to: msg.to,
            budget: msg.settings.maxStickerBytes,
            adapted: describeAdaptations(
              r.adapted as Record<string, { from: unknown; to: unknown } | undefined>,
            ),
            ms: performance.now() - t0,
            decodeMs: r.timings.decodeMs,
            encodeMs: r.timings.encodeMs,
          };
          this.post({ id: msg.id, type: 'sticker', result }, [r.bytes.buffer as ArrayBuffer]);
          break;
        }
        case 'estimate': {
          const bytes = await this.estimate(msg.from, msg.to, msg.settings, ctrl.signal);
          this.post({ id: msg.id, type: 'estimate', bytes, budget: msg.settings.maxStickerBytes });
          break;
        }
      }
    } catch (e) {
      this.post(errorMessage(msg.id, e));
    } finally {
      this.jobs.delete(msg.id);
    }
  }

  private need(): FrameSource {
    if (!this.source)
      throw Object.assign(new Error('open a video first'), { code: 'ERR_NO_VIDEO' });
    return this.source;
  }

  /**
   * A quick size estimate while the range is being chosen. It decodes the range's frames
   * exactly as the sticker will ask for them (so making it right after reuses them), then
   * encodes a few and extrapolates to the whole frame count.
   */
  private async estimate(
    from: number,
    to: number,
    s: CaptureSettings,
    signal: AbortSignal,
  ): Promise<number> {
    const src = this.need();
    // The shape the sticker itself starts from, so its frames come from this decode.
    const shape = stickerShape(src.info.width, src.info.height, s);
    const { width, height } = shape;
    const times = sampleTimes(from, to, s.fps);
    const n = times.length;
    // Decode the whole range only when it would be kept for the sticker; otherwise two frames.
    const wanted =
      n * width * height * 4 <= MAX_CACHE_BYTES
        ? times
        : n > 1
          ? [times[0]!, times[Math.floor(n / 2)]!]
          : times;
    const all = [];
    for await (const f of src.framesAt(wanted, shape, signal)) all.push(f);
    const frames = all.length > 2 ? [all[0]!, all[Math.floor(all.length / 2)]!] : all;
    if (s.stickerFormat === 'gif') {
      const b = await gifWriter.encode(
        frames,
        frames.map(() => 1000 / s.fps),
        { quality: s.stickerQuality },
      );
      // The first frame is full; later frames of a GIF store only what changed.
      const per = frames.length > 1 ? Math.max(b.length / 4, b.length / 2) : b.length;
      return Math.round(b.length + per * (n - frames.length));
    }
    const b = await encodeStillWithCanvas(frames[0]!, 'webp', s.stickerQuality);
    const ratio = s.stickerFormat === 'webm' ? 0.25 : 0.7;
    return Math.round(b.length + b.length * ratio * (n - 1));
  }
}
