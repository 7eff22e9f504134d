/**
 * The local video player with capture gestures: open by picker or drop (the file stays
 * on this device), play/pause, seek, frame step, double-click to capture, drag to crop.
 */
import { FilmIcon } from '../icons';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Rect } from '@clipchat/capture';
import { formatTime } from '../format';
import { useStore } from '../store';
import { capture } from '../bridge/client';
import { clock } from './clock';
import { cap, captureStill, markIn, markOut, openFile, playerFailed, setRange } from './state';
import { ShareButton } from '../share/ShareButton';
import { OpenLink } from '../share/OpenLink';
import { WatchAlong } from '../share/WatchAlong';
import { isLink } from '../share/link';

/** Seconds one frame stays on screen (nominal). */
export function frameDuration(): number {
  const fps = cap.get().info?.frameRate;
  return fps && fps > 0 ? 1 / fps : 1 / 30;
}

let gestures: Promise<void> = Promise.resolve();

/**
 * The capture gesture: a still in still mode; start, then end, in sticker mode. Gestures
 * run in the order they were made (each waits for a pending seek to land), so a fast
 * `I`, `.`, `.`, `O`, `Enter` means what it says.
 */
export function captureGesture(kind: 'still' | 'in' | 'out' | 'auto'): Promise<void> {
  gestures = gestures.then(() => gesture(kind)).catch(() => {});
  return gestures;
}

/** Resolves when every gesture made so far has taken effect. */
export function gesturesDone(): Promise<void> {
  return gestures;
}

async function gesture(kind: 'still' | 'in' | 'out' | 'auto'): Promise<void> {
  const s = cap.get();
  if (!s.info) return;
  // The frame on screen (after a pause has settled on it): every gesture names this one.
  const { at, start } = await clock.shown();
  if (kind === 'still' || (kind === 'auto' && s.mode === 'still'))
    return captureStill(at, await pausedPicture());
  // The end is exclusive: the end of the frame on screen, so it is the sticker's last.
  const end = () => markOut(start ?? at, frameDuration());
  if (kind === 'in') {
    awaitingEnd = true;
    return markIn(at);
  }
  if (kind === 'out') {
    awaitingEnd = false;
    return end();
  }
  // Double-click in sticker mode: first marks the start, the second the end.
  if (!awaitingEnd) {
    markIn(at);
    awaitingEnd = true;
  } else {
    end();
    awaitingEnd = false;
  }
}
let awaitingEnd = false;

/**
 * While paused, the player's own picture is the frame on screen: taking it skips decoding
 * from the previous key frame. While playing, the picture moves on before it could be
 * taken, so the frame is decoded from the file at the presented frame's time instead.
 */
async function pausedPicture(): Promise<ImageBitmap | undefined> {
  const v = document.querySelector<HTMLVideoElement>('video.player-video');
  // Only the opened file's own picture, fully loaded (never a frame of the previous file).
  if (
    !v ||
    !v.paused ||
    v.seeking ||
    v.readyState < 2 ||
    !v.videoWidth ||
    v.currentSrc !== cap.get().url
  )
    return undefined;
  try {
    return await createImageBitmap(v);
  } catch {
    return undefined;
  }
}

/** Plays, or pauses on the frame on screen (the clock settles the element on it). */
export function togglePlay(): void {
  const v = document.querySelector<HTMLVideoElement>('video.player-video');
  if (!v) return;
  if (v.paused) void v.play();
  else clock.pause();
}

/** One frame forward or back from the frame on screen (pausing on it first if playing). */
export function stepFrame(dir: 1 | -1): void {
  clock.step(dir);
}

function toVideoRect(
  el: HTMLElement,
  video: HTMLVideoElement,
  a: { x: number; y: number },
  b: { x: number; y: number },
): Rect | null {
  const vw = video.videoWidth,
    vh = video.videoHeight;
  if (!vw || !vh) return null;
  const r = el.getBoundingClientRect();
  const k = Math.min(r.width / vw, r.height / vh);
  const ox = (r.width - vw * k) / 2,
    oy = (r.height - vh * k) / 2;
  const x0 = Math.max(0, Math.min(vw, (Math.min(a.x, b.x) - ox) / k));
  const y0 = Math.max(0, Math.min(vh, (Math.min(a.y, b.y) - oy) / k));
  const x1 = Math.max(0, Math.min(vw, (Math.max(a.x, b.x) - ox) / k));
  const y1 = Math.max(0, Math.min(vh, (Math.max(a.y, b.y) - oy) / k));
  const rect = {
    x: Math.floor(x0),
    y: Math.floor(y0),
    width: Math.round(x1 - x0),
    height: Math.round(y1 - y0),
  };
  return rect.width >= 8 && rect.height >= 8 ? rect : null;
}

function cropStyle(el: HTMLElement | null, video: HTMLVideoElement | null, c: Rect) {
  if (!el || !video?.videoWidth) return { display: 'none' };
  const r = el.getBoundingClientRect();
  const k = Math.min(r.width / video.videoWidth, r.height / video.videoHeight);
  const ox = (r.width - video.videoWidth * k) / 2,
    oy = (r.height - video.videoHeight * k) / 2;
  return {
    left: `${ox + c.x * k}px`,
    top: `${oy + c.y * k}px`,
    width: `${c.width * k}px`,
    height: `${c.height * k}px`,
  };
}

export function Player() {
  const s = useStore(cap);
  const videoRef = useRef<HTMLVideoElement>(null);
  const stageRef = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const [now, setNow] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [dragOver, setDragOver] = useState(false);
  const [drag, setDrag] = useState<{
    a: { x: number; y: number };
    b: { x: number; y: number };
  } | null>(null);

  useEffect(() => {
    const v = videoRef.current;
    if (!v || !s.url) return;
    clock.attach(v);
    clock.frameDuration = frameDuration;
    clock.onFrame = (t) => setNow(t);
    return () => clock.detach();
  }, [s.url]);

  // A caption's moment: once its video is open and readable, go there (and mark the range).
  useEffect(() => {
    const g = s.goTo;
    if (!g || !s.info || g.name !== s.name) return;
    cap.set({ goTo: null });
    // Half a millisecond in: the time was rounded to ms and must land inside its frame.
    clock.seek(g.at + 0.0005);
    if (g.range) setRange(g.range.from, g.range.to, 'to');
  }, [s.goTo, s.info]);

  const pick = (files: FileList | null | undefined) => {
    const f = files?.[0];
    if (f) void openFile(f);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragOver(false);
    pick(e.dataTransfer?.files);
  };

  const local = (e: PointerEvent | MouseEvent) => {
    const r = stageRef.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };

  const duration = s.info?.duration ?? videoRef.current?.duration ?? 0;

  return (
    <section
      class={`player ${dragOver ? 'drag-over' : ''}`}
      aria-label="Video player"
      data-engine={s.info ? capture.mode : undefined}
      onDragOver={(e) => {
        e.preventDefault();
        setDragOver(true);
      }}
      onDragLeave={() => setDragOver(false)}
      onDrop={onDrop}
    >
      <input
        ref={inputRef}
        type="file"
        accept="video/*,.mkv,.webm,.mp4,.mov"
        class="visually-hidden"
        aria-label="Video file"
        tabIndex={-1}
        data-testid="video-input"
        onChange={(e) => pick(e.currentTarget.files)}
      />
      {!s.url && (
        <button class="drop-zone" onClick={() => inputRef.current?.click()}>
          <strong>Open a video</strong>
          <span>
            Choose a file or drop it here. It plays on this device and is uploaded only if you press
            “Share this video”.
          </span>
        </button>
      )}
      <OpenLink />
      <WatchAlong />
      {s.url && (
        <>
          <div class="player-head">
            <span class="video-name" title={s.name}>
              <FilmIcon /> {s.name}
            </span>
            {s.file && <ShareButton file={s.file} />}
            {s.sharedId && (
              <span class="small muted" data-testid="shared-note">
                shared in the conversation
              </span>
            )}
            <button class="link" onClick={() => inputRef.current?.click()}>
              Open another…
            </button>
          </div>
          <div
            class="stage"
            ref={stageRef}
            onDblClick={(e) => {
              e.preventDefault();
              void captureGesture('auto');
            }}
            onPointerDown={(e) => {
              if (e.button === 0) {
                setDrag({ a: local(e), b: local(e) });
                (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
              }
            }}
            onPointerMove={(e) => drag && setDrag({ a: drag.a, b: local(e) })}
            onPointerUp={() => {
              if (drag && videoRef.current && stageRef.current) {
                const rect = toVideoRect(stageRef.current, videoRef.current, drag.a, drag.b);
                if (rect) cap.set({ crop: rect });
              }
              setDrag(null);
            }}
          >
            <video
              ref={videoRef}
              class="player-video"
              src={s.url}
              crossOrigin={isLink(s.url) ? 'anonymous' : undefined}
              preload="auto"
              playsInline
              muted
              data-testid="player"
              onPlay={() => setPlaying(true)}
              onPause={() => setPlaying(false)}
              onTimeUpdate={(e) => {
                if (e.currentTarget.paused) setNow(clock.now());
              }}
              onSeeked={() => setNow(clock.now())}
              onError={() => playerFailed()}
            />
            {drag && Math.abs(drag.a.x - drag.b.x) > 4 && (
              <div
                class="crop-box dragging"
                style={{
                  left: `${Math.min(drag.a.x, drag.b.x)}px`,
                  top: `${Math.min(drag.a.y, drag.b.y)}px`,
                  width: `${Math.abs(drag.a.x - drag.b.x)}px`,
                  height: `${Math.abs(drag.a.y - drag.b.y)}px`,
                }}
              />
            )}
            {!drag && s.crop && (
              <div class="crop-box" style={cropStyle(stageRef.current, videoRef.current, s.crop)} />
            )}
            {s.opening && <div class="stage-note">Reading the video…</div>}
          </div>
          <div class="transport">
            <button
              class="icon"
              onClick={togglePlay}
              aria-label={playing ? 'Pause' : 'Play'}
              aria-keyshortcuts="Space"
              title="Play/pause (Space)"
            >
              {playing ? '❚❚' : '▶'}
            </button>
            <button
              class="icon"
              onClick={() => stepFrame(-1)}
              aria-label="Previous frame"
              aria-keyshortcuts=","
              title="Previous frame (,)"
            >
              ‹
            </button>
            <button
              class="icon"
              onClick={() => stepFrame(1)}
              aria-label="Next frame"
              aria-keyshortcuts="."
              title="Next frame (.)"
            >
              ›
            </button>
            <input
              class="seek"
              type="range"
              min={0}
              max={duration || 0}
              step="any"
              value={now}
              aria-label="Seek"
              onInput={(e) => clock.seek(Number(e.currentTarget.value))}
            />
            <span class="time" data-testid="time">
              {formatTime(now)} / {formatTime(duration || 0)}
            </span>
          </div>
          {s.crop && (
            <div class="crop-note">
              Crop {s.crop.width}×{s.crop.height} at {s.crop.x},{s.crop.y}
              <button class="link" onClick={() => cap.set({ crop: null })}>
                Clear crop
              </button>
            </div>
          )}
        </>
      )}
      {s.slowNotice && (
        <p class="notice warn" role="status">
          {s.slowNotice}
        </p>
      )}
      {s.error && (
        <p class="notice error" role="alert" data-testid="capture-error">
          {s.error}
        </p>
      )}
    </section>
  );
}
