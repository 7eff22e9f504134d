/** Small display helpers. */
import { formatTime } from './capture-config';
import type { MessageSource } from './types';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

/** "clip.mp4 · 0:01.5" or "clip.mp4 · 0:01–0:03.5". */
export function describeSource(s: MessageSource): string {
  if (s.from !== undefined && s.to !== undefined)
    return `${s.video} · ${formatTime(s.from)}–${formatTime(s.to)}`;
  if (s.at !== undefined) return `${s.video} · ${formatTime(s.at)}`;
  return s.video;
}

export function clockTime(ms: number): string {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export { formatTime };
