/**
 * Which frame is on screen. While playing, `currentTime` runs ahead of what is shown, so
 * the presented frame's `mediaTime` from `requestVideoFrameCallback` is used; while
 * paused, the frame on screen is the one at `currentTime` (once a seek has landed).
 * Times handed out are player time: 0 is the first presented frame.
 */
export class FrameClock {
  private video: HTMLVideoElement | null = null;
  private handle = 0;
  /** mediaTime of the last presented frame. */
  presented: number | null = null;
  /**
   * Element time of the first frame (player time 0): the decoder's first timestamp until
   * the player reports the first frame it shows at load.
   */
  get first(): number {
    return this.firstKnown ? this.firstShown : this.decoderStart;
  }
  private firstShown = 0;
  /** The decoder's container time of the first frame, set once the file is opened. */
  decoderStart = 0;
  private firstKnown = false;
  private waiters: Array<() => void> = [];
  onFrame: ((playerTime: number) => void) | null = null;

  attach(video: HTMLVideoElement): void {
    this.detach();
    this.video = video;
    this.presented = null;
    this.firstShown = 0;
    this.decoderStart = 0;
    this.firstKnown = false;
    if (!('requestVideoFrameCallback' in video)) return;
    const cb = (_now: number, meta: VideoFrameCallbackMetadata) => {
      // The first frame shown at load is player time 0, whatever its container time
      // (files may start at 2 s): that offset maps the element's times to player times.
      if (!this.firstKnown && video.currentTime < 0.001) {
        this.firstShown = meta.mediaTime;
        this.firstKnown = true;
      }
      this.presented = meta.mediaTime;
      for (const w of this.waiters.splice(0)) w();
      this.onFrame?.(meta.mediaTime - this.first);
      this.handle = video.requestVideoFrameCallback(cb);
    };
    this.handle = video.requestVideoFrameCallback(cb);
  }

  detach(): void {
    if (this.video && this.handle) this.video.cancelVideoFrameCallback?.(this.handle);
    this.video = null;
    this.handle = 0;
  }

  private nextFrame(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => { clearTimeout(t); resolve(); });
    });
  }

  /** Player time of the frame on screen now (waits for a pending seek to land). */
  async onScreen(): Promise<number> {
    const v = this.video;
    if (!v) return 0;
    if (v.seeking) {
      await new Promise<void>((r) => v.addEventListener('seeked', () => r(), { once: true }));
      await this.nextFrame(120);
    }
    const t = !v.paused && this.presented !== null ? this.presented : v.currentTime;
    return Math.max(0, t - this.first);
  }

  /** Player time shown now without waiting (for displays). */
  now(): number {
    const v = this.video;
    if (!v) return 0;
    const t = !v.paused && this.presented !== null ? this.presented : v.currentTime;
    return Math.max(0, t - this.first);
  }

  /** Seeks so the frame on screen is the one at player time `t`. */
  seek(t: number): void {
    if (!this.video) return;
    // A hair past the frame's start, so float rounding never lands on the frame before.
    this.video.currentTime = Math.max(0, t + this.first + 1e-4);
  }
}

export const clock = new FrameClock();
