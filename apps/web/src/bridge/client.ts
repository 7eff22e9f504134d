/**
 * The chat UI's side of the capture bridge: one request/response API over the worker,
 * with progress callbacks and cancellation. The worker (and mediabunny with it) is only
 * loaded when the first video is opened. When the worker cannot start, or WebCodecs
 * cannot decode the file, the engine runs on the main thread instead (the latter by
 * seeking a `<video>` element, which is slower).
 */
import type { CaptureSettings, VideoInfo } from '@clipchat/capture';
import {
  BridgeError,
  type FromWorker,
  type Request,
  type StickerResult,
  type StillResult,
  type ToWorker,
} from './shared';

type Pending = {
  resolve: (m: FromWorker) => void;
  reject: (e: Error) => void;
  onProgress?: (fraction: number, stage: string) => void;
};

interface Port {
  post(msg: ToWorker, transfer?: Transferable[]): void;
  terminate(): void;
}

/** A job in flight: its promise and a way to cancel it. */
interface Job<T> {
  promise: Promise<T>;
  cancel: () => void;
}

class CaptureClient {
  private port: Port | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** `worker` while frames are decoded in the worker; `main` on the main-thread fallback. */
  mode: 'worker' | 'main' | 'none' = 'none';
  /** Set when frames come from seeking the `<video>` element (slower). */
  slow = false;
  /** Container time of the opened video's first frame (player time 0). */
  start = 0;

  private onMessage = (m: FromWorker) => {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') {
      p.onProgress?.(m.fraction, m.stage);
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'error') p.reject(new BridgeError(m.code, m.message, m.field));
    else p.resolve(m);
  };

  private async workerPort(): Promise<Port> {
    const worker = new Worker(new URL('./capture.worker.ts', import.meta.url), {
      type: 'module',
      name: 'clipchat-capture',
    });
    worker.onmessage = (ev: MessageEvent<FromWorker>) => this.onMessage(ev.data);
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      const err = new BridgeError(
        'ERR_WORKER',
        `the capture worker stopped: ${ev.message || 'failed to load'}`,
      );
      for (const [, p] of this.pending) p.reject(err);
      this.pending.clear();
    };
    return {
      post: (msg, transfer) => worker.postMessage(msg, transfer ?? []),
      terminate: () => worker.terminate(),
    };
  }

  private async mainPort(slow: boolean): Promise<Port> {
    const [{ CaptureEngine }, src] = await Promise.all([
      import('./engine'),
      slow
        ? import('@clipchat/capture/browser/video-element').then((m) => m.VideoElementFrameSource)
        : import('@clipchat/capture/browser/mediabunny').then((m) => m.MediabunnyFrameSource),
    ]);
    const engine = new CaptureEngine(
      (m) => queueMicrotask(() => this.onMessage(m)),
      (file, name) => src.open(file, name),
    );
    return { post: (msg) => void engine.handle(msg), terminate: () => {} };
  }

  private call<T extends FromWorker>(
    req: Request,
    onProgress?: (fraction: number, stage: string) => void,
  ): Job<T> {
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      if (!this.port) return reject(new BridgeError('ERR_NO_VIDEO', 'open a video first'));
      this.pending.set(id, { resolve: resolve as (m: FromWorker) => void, reject, onProgress });
      const picture = (req as { picture?: ImageBitmap }).picture;
      this.port.post({ ...req, id }, picture ? [picture] : []);
    });
    return {
      promise,
      cancel: () => {
        this.port?.post({ id, type: 'cancel' });
        const p = this.pending.get(id);
        if (p) {
          this.pending.delete(id);
          p.reject(new BridgeError('ERR_CANCELLED', 'cancelled'));
        }
      },
    };
  }

  /**
   * Opens a local file for capture. Tries the worker first; if the worker cannot start,
   * the engine runs on the main thread; if WebCodecs cannot decode the codec, frames are
   * taken from a `<video>` element instead (`slow` becomes true).
   */
  async open(file: Blob | string, name: string): Promise<VideoInfo> {
    this.port?.terminate();
    this.port = null;
    this.slow = false;
    const attempt = async (port: Port): Promise<VideoInfo> => {
      this.port = port;
      const r = await this.call<Extract<FromWorker, { type: 'opened' }>>({
        type: 'open',
        file,
        name,
      }).promise;
      this.start = r.start ?? 0;
      return r.info;
    };
    try {
      const info = await attempt(await this.workerPort());
      this.mode = 'worker';
      return info;
    } catch (e) {
      const code = (e as BridgeError).code;
      (this.port as Port | null)?.terminate();
      if (code === 'ERR_NOT_VIDEO' || code === 'ERR_NO_VIDEO') throw e;
      if (code === 'ERR_CODEC') {
        // WebCodecs cannot decode it; the <video> element might. If it cannot either, the
        // codec is what to tell the user about.
        const info = await attempt(await this.mainPort(true)).catch(() => {
          throw e;
        });
        this.mode = 'main';
        this.slow = true;
        return info;
      }
      const info = await attempt(await this.mainPort(false));
      this.mode = 'main';
      return info;
    }
  }

  still(at: number, settings: CaptureSettings, picture?: ImageBitmap): Job<StillResult> {
    const job = this.call<Extract<FromWorker, { type: 'still' }>>({
      type: 'still',
      at,
      settings,
      picture,
    });
    return { promise: job.promise.then((m) => m.result), cancel: job.cancel };
  }

  sticker(
    from: number,
    to: number,
    settings: CaptureSettings,
    onProgress?: (fraction: number, stage: string) => void,
  ): Job<StickerResult> {
    const job = this.call<Extract<FromWorker, { type: 'sticker' }>>(
      { type: 'sticker', from, to, settings },
      onProgress,
    );
    return { promise: job.promise.then((m) => m.result), cancel: job.cancel };
  }

  estimate(from: number, to: number, settings: CaptureSettings): Job<number> {
    const job = this.call<Extract<FromWorker, { type: 'estimate' }>>({
      type: 'estimate',
      from,
      to,
      settings,
    });
    return { promise: job.promise.then((m) => m.bytes), cancel: job.cancel };
  }
}

/** The app's one capture client. */
export const capture = new CaptureClient();
