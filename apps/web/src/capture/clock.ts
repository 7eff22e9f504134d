/**
 * Which frame is on screen — the one source of truth for every capture gesture (still,
 * sticker start and end, frame step), the time readout and the capture's recorded origin.
 *
 * The truth is the *presented frame*: the media time `requestVideoFrameCallback` reports
 * for the frame the player last put on screen. `currentTime` is not it: while playing it
 * runs ahead of the picture, and right after a pause it may name the frame before or
 * after the one shown (measured in Chromium: 14 of 32 sticker starts marked right after
 * pausing were one frame off). So pausing *settles* the element: it seeks to the frame
 * that was on screen when the person paused, and from then on the element's time, its
 * picture and this clock agree. Times handed out are player time: 0 is the first
 * presented frame.
 */

/**
 * How far past a frame's start the clock points inside it (seconds). rVFC media times
 * are rounded to microseconds (1.368033 for a frame that starts at 1.3680333…), and
 * player↔container offsets add float error, so a time exactly at the start could name
 * the frame before; a millisecond in is still inside any frame of a video up to 1000 fps.
 */
const INSIDE = 1e-3;

class FrameClock {
  private video: HTMLVideoElement | null = null;
  private handle = 0;
  /** mediaTime of the last presented frame (element time). */
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
  /**
   * Element time inside the frame on screen (or the one a pending seek will show).
   * When `exact`, it is that frame's start + INSIDE, from a presented frame's mediaTime.
   */
  private pos = 0;
  private exact = false;
  /** True from `play` until the pause is settled: the picture is moving. */
  private running = false;
  /** Seconds one frame stays on screen (nominal), for steps and refinement. */
  frameDuration: () => number = () => 1 / 30;
  private waiters: Array<() => void> = [];
  private listeners: Array<[string, EventListener]> = [];
  onFrame: ((playerTime: number) => void) | null = null;
  /** Told of every seek and frame step asked of the clock (watch along: a follower's own seek stops following). */
  onMove: (() => void) | null = null;

  attach(video: HTMLVideoElement): void {
    this.detach();
    this.video = video;
    this.presented = null;
    this.firstShown = 0;
    this.decoderStart = 0;
    this.firstKnown = false;
    this.pos = video.currentTime;
    this.exact = false;
    this.running = !video.paused;
    const on = (type: string, fn: () => void) => {
      video.addEventListener(type, fn);
      this.listeners.push([type, fn]);
    };
    on('play', () => {
      this.running = true;
    });
    // A pause not made through `pause()` (the end of the file, the browser): settle too.
    on('pause', () => {
      if (this.running) this.settle();
    });
    if (!('requestVideoFrameCallback' in video)) return;
    const cb = (_now: number, meta: VideoFrameCallbackMetadata) => {
      // The first frame shown at load is player time 0, whatever its container time
      // (files may start at 2 s): that offset maps the element's times to player times.
      if (!this.firstKnown && video.currentTime < 0.001) {
        this.firstShown = meta.mediaTime;
        this.firstKnown = true;
      }
      this.presented = meta.mediaTime;
      this.refine(video, meta.mediaTime);
      for (const w of this.waiters.splice(0)) w();
      this.onFrame?.(this.pos - this.first);
      this.handle = video.requestVideoFrameCallback(cb);
    };
    this.handle = video.requestVideoFrameCallback(cb);
  }

  /**
   * A presented frame moves the clock while playing; after a seek it pins the clock to
   * the exact start of the frame the seek showed (frames presented while a seek is still
   * in flight can be stale, and one that does not contain the target is not the seek's).
   */
  private refine(video: HTMLVideoElement, mediaTime: number): void {
    if (video.seeking) return;
    if (this.running) {
      this.pos = mediaTime + INSIDE;
      this.exact = true;
      return;
    }
    if (this.exact) return;
    // Only the frame the seek aims inside: a step aims a quarter frame into its frame, a
    // seek a hair past a frame's start, so the target's start lies less than 0.9 frame
    // before `pos`. The frame left behind (a report delivered late, after `seeked`) lies
    // 1.25 frames before a forward step's aim, or after a backward one's: never accepted.
    if (mediaTime <= this.pos + 1e-6 && this.pos < mediaTime + 0.9 * this.frameDuration()) {
      this.pos = mediaTime + INSIDE;
      this.exact = true;
    }
  }

  detach(): void {
    if (this.video && this.handle) this.video.cancelVideoFrameCallback?.(this.handle);
    for (const [type, fn] of this.listeners) this.video?.removeEventListener(type, fn);
    this.listeners = [];
    this.video = null;
    this.handle = 0;
  }

  private nextFrame(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /**
   * Waits until the seek in flight has landed and the frame it aimed at has been
   * presented (its start known), or `timeoutMs` passed: a seek that lands on the frame
   * already shown presents nothing new, and a hidden tab presents nothing at all.
   */
  private async landed(v: HTMLVideoElement, timeoutMs = 250): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (v.seeking && this.video === v && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        v.addEventListener(
          'seeked',
          () => {
            clearTimeout(t);
            r();
          },
          { once: true },
        );
      });
    }
    while (!this.exact && this.video === v && Date.now() < deadline)
      await this.nextFrame(deadline - Date.now());
  }

  /**
   * Pins the element to the frame that was on screen when playback stopped: the last
   * presented one. Seeking to it makes `currentTime`, the picture and later gestures agree.
   */
  private settle(): void {
    const v = this.video;
    this.running = false;
    if (!v) return;
    const shown = this.presented ?? v.currentTime;
    this.pos = shown + INSIDE;
    this.exact = this.presented !== null;
    v.currentTime = this.pos;
  }

  /** Pauses playback on the frame on screen (see `settle`). */
  pause(): void {
    const v = this.video;
    if (!v || v.paused) return;
    v.pause();
    this.settle();
  }

  /** True while the picture is moving. */
  get playing(): boolean {
    return this.running;
  }

  /**
   * The frame on screen now, in player time: `at` lies inside it (its start + INSIDE when
   * known), `start` is its start when known. Waits for a pending seek (or settle) to land.
   */
  async shown(): Promise<{ at: number; start: number | null }> {
    const v = this.video;
    if (!v) return { at: 0, start: null };
    await this.steps;
    if (v.seeking) await this.landed(v, 2000);
    const at = Math.max(0, this.pos - this.first);
    return { at, start: this.exact ? Math.max(0, at - INSIDE) : null };
  }

  /** Player time inside the frame on screen (waits for a pending seek to land). */
  async onScreen(): Promise<number> {
    return (await this.shown()).at;
  }

  /** Player time shown now without waiting (for displays). */
  now(): number {
    return Math.max(0, this.pos - this.first);
  }

  /** Seeks so the frame on screen is the one at player time `t`. */
  seek(t: number): void {
    if (!this.video) return;
    this.onMove?.();
    // A seek names where to be: steps still waiting to run would move on from it.
    this.gen++;
    // A hair past the frame's start, so float rounding never lands on the frame before.
    this.pos = Math.max(0, t + this.first + 1e-4);
    this.exact = false;
    this.video.currentTime = this.pos;
  }

  /** Steps made and not yet presented, in order (see `step`). */
  private steps: Promise<void> = Promise.resolve();
  /** Bumped by `seek`: queued steps made before it are dropped. */
  private gen = 0;

  /**
   * Shows the next (`dir` 1) or previous (-1) frame. From a known frame start it aims a
   * quarter frame into the neighbour, which absorbs timestamps rounded to the container's
   * timescale (WebM's milliseconds make 29.97 fps frames 33 or 34 ms long).
   *
   * Steps run one after another: each waits until the frame the one before aimed at is
   * presented, and steps from that frame's start. Stepping from a seek still in flight
   * (a quick `.`, `.`) would add up aims a quarter frame off each time, and a report of
   * the frame left behind could be taken for the new one.
   */
  step(dir: 1 | -1): void {
    const v = this.video;
    if (!v) return;
    this.onMove?.();
    if (!v.paused) this.pause();
    const gen = this.gen;
    this.steps = this.steps
      .then(async () => {
        await this.landed(v);
        if (gen !== this.gen || this.video !== v || !v.paused) return;
        const d = this.frameDuration();
        const base = this.exact ? this.pos - INSIDE + d / 4 : this.pos;
        this.pos = Math.max(this.first + INSIDE, base + dir * d);
        this.exact = false;
        v.currentTime = this.pos;
      })
      .catch(() => {});
  }
}

export const clock = new FrameClock();
