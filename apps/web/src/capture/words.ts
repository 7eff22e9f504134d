/**
 * What the capture view says in words: an engine failure explained, and the marked
 * range summarised. Pure text, so it is checked without a browser.
 */
import { formatTime } from '../capture-config';

/**
 * An engine failure in a sentence a person reads, with what went wrong named when the
 * engine's message does not say it. The first letter is capitalised unless the message
 * begins with the file's name: "holiday.mp4 is not a playable video" keeps the name as
 * the person's file spells it.
 */
export function explain(e: unknown, fileName?: string | null): string {
  const err = e as { code?: string; message?: string };
  const msg = err.message ?? String(e);
  const said = (lead: string) => (msg.toLowerCase().includes(lead) ? msg : `${msg} — ${lead}.`);
  const upper = (t: string) =>
    fileName && t.startsWith(fileName) ? t : t.charAt(0).toUpperCase() + t.slice(1);
  switch (err.code) {
    case 'ERR_NOT_VIDEO':
      return upper(said('not a playable video'));
    case 'ERR_NO_VIDEO':
      return upper(said('no video track'));
    case 'ERR_CODEC':
      return upper(said('cannot decode'));
    default:
      return upper(msg);
  }
}

/** Frames a sticker from `from` to `to` (seconds, end exclusive) has at `fps`: at least one. */
function rangeFrames(from: number, to: number, fps: number): number {
  return Math.max(1, Math.ceil((to - from) * fps - 1e-9));
}

/** "0:02 – 0:02.04 · 0.04 s · 2 frames at 50 fps" ("1 frame" for one). */
export function rangeSummary(from: number, to: number, fps: number): string {
  const frames = rangeFrames(from, to, fps);
  return `${formatTime(from)} – ${formatTime(to)} · ${(to - from).toFixed(2)} s · ${frames} ${frames === 1 ? 'frame' : 'frames'} at ${fps} fps`;
}
