/**
 * Keeps the frames of the last range decoded, so the sticker made a moment after the
 * range was chosen starts from frames the live estimate already decoded. Concurrent asks
 * for the same frames share one decode; a caller's cancel stops its own wait, not the
 * shared decode (which is bounded by the range).
 */
import {
  CancelledError,
  type Frame,
  type FrameShape,
  type FrameSource,
  type Seconds,
  type VideoInfo,
} from '@clipchat/capture';

/** Largest set of frames kept, in bytes of RGBA. */
export const MAX_CACHE_BYTES = 192 * 1024 * 1024;

async function collect(it: AsyncIterable<Frame>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of it) out.push(f);
  return out;
}

export class CachedFrameSource implements FrameSource {
  private readonly inner: FrameSource;
  private key: string | null = null;
  private pending: Promise<Frame[]> | null = null;

  constructor(inner: FrameSource) {
    this.inner = inner;
  }

  get info(): VideoInfo {
    return this.inner.info;
  }

  /** Container time of player time 0, when the source knows it. */
  get startTime(): number | undefined {
    return (this.inner as { startTime?: number }).startTime;
  }

  frameAt(t: Seconds, shape?: FrameShape, signal?: AbortSignal): Promise<Frame> {
    return this.inner.frameAt(t, shape, signal);
  }

  async *framesAt(
    times: readonly Seconds[],
    shape?: FrameShape,
    signal?: AbortSignal,
  ): AsyncIterable<Frame> {
    const w = shape?.width ?? shape?.crop?.width ?? this.info.width;
    const h = shape?.height ?? shape?.crop?.height ?? this.info.height;
    if (times.length * w * h * 4 > MAX_CACHE_BYTES) {
      yield* this.inner.framesAt(times, shape, signal);
      return;
    }
    const c = shape?.crop;
    const key = `${w}x${h}|${c ? `${c.x},${c.y},${c.width},${c.height}` : ''}|${times.join(',')}`;
    if (key !== this.key || !this.pending) {
      this.key = key;
      const p = collect(this.inner.framesAt(times, shape));
      this.pending = p;
      p.catch(() => {
        if (this.pending === p) {
          this.key = null;
          this.pending = null;
        }
      });
    }
    const frames = await this.pending;
    for (const f of frames) {
      if (signal?.aborted) throw new CancelledError();
      yield f;
    }
  }

  async close(): Promise<void> {
    this.key = null;
    this.pending = null;
    await this.inner.close();
  }
}
