/**
 * The sticker range on a strip of the whole video: drag the handles to trim, drag the
 * middle to move. The range never exceeds the longest allowed sticker, and the strip says
 * so while dragging.
 */
import { useRef, useState } from 'preact/hooks';
import { formatBytes, formatTime } from '../format';
import { settings } from '../settings/state';
import { useStore } from '../store';
import { clock } from './clock';
import { frameDuration } from './Player';
import { cap, cropProblem, setRange } from './state';
import { rangeSummary } from './words';

export function Timeline() {
  const s = useStore(cap);
  const st = useStore(settings);
  const strip = useRef<HTMLDivElement>(null);
  const [dragging, setDragging] = useState<null | 'from' | 'to' | 'move'>(null);
  const [grab, setGrab] = useState(0);
  const dur: number = s.info?.duration ?? 0;
  if (!s.info || !dur) return null;
  const r = s.range;
  const pct = (t: number) => `${(100 * t) / dur}%`;
  const timeAt = (e: PointerEvent) => {
    const b = strip.current!.getBoundingClientRect();
    return Math.max(0, Math.min(dur, ((e.clientX - b.left) / b.width) * dur));
  };
  const onMove = (e: PointerEvent) => {
    if (!dragging || !r) return;
    const t = timeAt(e);
    if (dragging === 'from') {
      setRange(t, r.to, 'from');
      clock.seek(t);
    } else if (dragging === 'to') {
      setRange(r.from, t, 'to');
      clock.seek(Math.max(r.from, t - 1e-3));
    } else {
      const len = r.to - r.from;
      const from = Math.max(0, Math.min(dur - len, t - grab));
      setRange(from, from + len, 'to');
    }
  };
  const start = (which: 'from' | 'to' | 'move') => (e: PointerEvent) => {
    e.stopPropagation();
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    if (which === 'move' && r) setGrab(timeAt(e) - r.from);
    setDragging(which);
  };
  // The keyboard path for the handles: arrows move one video frame, with Shift ten; Home
  // and End go as far as the range allows (setRange keeps it within the longest sticker).
  const nudge = (which: 'from' | 'to') => (e: KeyboardEvent) => {
    if (!r) return;
    const step = frameDuration() * (e.shiftKey ? 10 : 1);
    const by: Record<string, number> = {
      ArrowLeft: -step,
      ArrowDown: -step,
      ArrowRight: step,
      ArrowUp: step,
      Home: -dur,
      End: dur,
    };
    const d = by[e.key];
    if (d === undefined) return;
    e.preventDefault();
    e.stopPropagation();
    if (which === 'from') {
      const t = Math.max(0, Math.min(r.to - frameDuration(), r.from + d));
      setRange(t, r.to, 'from');
      clock.seek(t);
    } else {
      const t = Math.min(dur, Math.max(r.from + frameDuration(), r.to + d));
      setRange(r.from, t, 'to');
      clock.seek(Math.max(r.from, t - 1e-3));
    }
  };
  const fps = st.capture.fps;
  const bad = cropProblem();
  return (
    <div class="timeline">
      <div
        class="strip"
        ref={strip}
        onPointerMove={onMove}
        onPointerUp={() => {
          setDragging(null);
          cap.set({ rangeNote: null });
        }}
        onClick={(e) => {
          if (!dragging && e.target === strip.current)
            clock.seek(timeAt(e as unknown as PointerEvent));
        }}
      >
        {r && (
          <div
            class="range"
            style={{ left: pct(r.from), width: pct(r.to - r.from) }}
            onPointerDown={start('move')}
          >
            <span
              class="handle from"
              role="slider"
              tabIndex={0}
              aria-label="Sticker start"
              aria-valuemin={0}
              aria-valuemax={dur}
              aria-valuenow={r.from}
              aria-valuetext={formatTime(r.from)}
              onPointerDown={start('from')}
              onKeyDown={nudge('from')}
            />
            <span
              class="handle to"
              role="slider"
              tabIndex={0}
              aria-label="Sticker end"
              aria-valuemin={0}
              aria-valuemax={dur}
              aria-valuenow={r.to}
              aria-valuetext={formatTime(r.to)}
              onPointerDown={start('to')}
              onKeyDown={nudge('to')}
            />
          </div>
        )}
        <div class="playhead" style={{ left: pct(clock.now()) }} />
      </div>
      {r ? (
        <div class="range-info" data-testid="range">
          <span>{rangeSummary(r.from, r.to, fps)}</span>
          {bad ? (
            <span class="over">{bad}</span>
          ) : s.estimate ? (
            <span
              class={s.estimate.bytes > s.estimate.budget ? 'over' : ''}
              data-testid="estimate"
              data-bytes={s.estimate.bytes}
            >
              ≈ {formatBytes(s.estimate.bytes)} of {formatBytes(s.estimate.budget)}
              {s.estimate.bytes > s.estimate.budget ? ' — will be reduced to fit' : ''}
            </span>
          ) : (
            <span class="muted" data-testid="estimate">
              estimating…
            </span>
          )}
        </div>
      ) : (
        <div class="range-info muted">
          Press I (or double-click) at the first frame, O at the last. Max{' '}
          {st.capture.maxClipSeconds} s.
        </div>
      )}
      {s.rangeNote && (
        <div class="range-note" role="status">
          {s.rangeNote}
        </div>
      )}
    </div>
  );
}
