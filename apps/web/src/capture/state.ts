/**
 * The capture side of the page (the patent's video-capture module as the user drives
 * it): the opened video, the capture mode, the marked range, the crop, the running job
 * and the preview of its result.
 */
import type { CaptureSettings, Rect, VideoInfo } from '@clipchat/capture';
import { capture } from '../bridge/client';
import { clock } from './clock';
import type { StickerResult, StillResult } from '../bridge/shared';
import { settings } from '../settings/state';
import { Store } from '../store';

export type Preview =
  | { kind: 'still'; result: StillResult; url: string; video: string }
  | { kind: 'sticker'; result: StickerResult; url: string; video: string };

export interface Job {
  kind: 'still' | 'sticker';
  fraction: number;
  stage: string;
  cancel(): void;
}

export interface CaptureState {
  file: File | null;
  /** Object URL of the opened file for the `<video>` element (never uploaded). */
  url: string | null;
  name: string;
  info: VideoInfo | null;
  opening: boolean;
  error: string | null;
  /** Shown when frames come from seeking the player (slower capture). */
  slowNotice: string | null;
  mode: 'still' | 'sticker';
  /** Sticker range [from, to) in player seconds. */
  range: { from: number; to: number } | null;
  /** Said while a range is clamped to the longest allowed sticker. */
  rangeNote: string | null;
  /** Crop drawn on the video, in video pixels; overrides the saved crop. */
  crop: Rect | null;
  job: Job | null;
  preview: Preview | null;
  estimate: { bytes: number; budget: number } | null;
}

export const cap = new Store<CaptureState>({
  file: null, url: null, name: '', info: null, opening: false, error: null, slowNotice: null, mode: 'still',
  range: null, rangeNote: null, crop: null, job: null, preview: null, estimate: null,
});

/** Settings of the next capture: the saved ones with the drawn crop, if any. */
export function effectiveSettings(): CaptureSettings {
  const s = settings.get().capture;
  const crop = cap.get().crop ?? s.crop;
  return { ...s, crop: crop ? { ...crop } : null };
}

function explain(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = err.message ?? String(e);
  const said = (lead: string) => (msg.toLowerCase().includes(lead) ? msg : `${msg} — ${lead}.`);
  const upper = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);
  switch (err.code) {
    case 'ERR_NOT_VIDEO': return upper(said('not a playable video'));
    case 'ERR_NO_VIDEO': return upper(said('no video track'));
    case 'ERR_CODEC': return upper(said('cannot decode'));
    default: return upper(msg);
  }
}

/** Opens a local file: the player gets an object URL, the capture engine decodes it. */
export async function openFile(file: File): Promise<void> {
  const old = cap.get();
  if (old.url) URL.revokeObjectURL(old.url);
  cap.set({
    file, url: URL.createObjectURL(file), name: file.name, info: null, opening: true, error: null, slowNotice: null,
    range: null, rangeNote: null, crop: null, estimate: null,
  });
  try {
    const info = await capture.open(file, file.name);
    clock.decoderStart = capture.start;
    cap.set({
      info, opening: false,
      slowNotice: capture.slow ? 'This browser cannot decode this video directly, so capture works by seeking the player: it may be slower.' : null,
    });
  } catch (e) {
    cap.set({ opening: false, error: explain(e) });
  }
}

/** Called when the `<video>` element itself cannot play the file. */
export function playerFailed(): void {
  const s = cap.get();
  if (s.info && !capture.slow) return; // decodable by WebCodecs: capture still works
  cap.set({ error: s.error ?? `${s.name || 'This file'} is not a playable video.` });
}

function setPreview(p: Preview | null): void {
  const old = cap.get().preview;
  if (old) URL.revokeObjectURL(old.url);
  cap.set({ preview: p });
}

/** Captures the frame on screen at player time `t` as a still. */
export async function captureStill(t: number, picture?: ImageBitmap): Promise<void> {
  const s = cap.get();
  if (!s.info || s.job) { picture?.close(); return; }
  const at = Math.min(Math.max(0, t), Math.max(0, s.info.duration - 1e-6));
  const job = capture.still(at, effectiveSettings(), picture);
  cap.set({ job: { kind: 'still', fraction: 0, stage: 'capture', cancel: job.cancel }, error: null });
  try {
    const result = await job.promise;
    setPreview({ kind: 'still', result, url: URL.createObjectURL(new Blob([result.bytes as BlobPart], { type: result.mime })), video: s.name });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_CANCELLED') cap.set({ error: explain(e) });
  } finally {
    cap.set({ job: null });
  }
}

/** Clamps a range to the video and to the longest allowed sticker. */
export function clampRange(from: number, to: number, moving: 'from' | 'to'): { from: number; to: number; note: string | null } {
  const dur = cap.get().info?.duration ?? Infinity;
  const max = settings.get().capture.maxClipSeconds;
  from = Math.max(0, Math.min(from, dur));
  to = Math.max(0, Math.min(to, dur));
  if (to < from) [from, to] = [to, from];
  let note: string | null = null;
  if (to - from > max + 1e-9) {
    if (moving === 'from') from = to - max;
    else to = from + max;
    note = `A sticker covers at most ${max} s (the “Longest sticker” setting).`;
  }
  return { from, to, note };
}

export function setRange(from: number, to: number, moving: 'from' | 'to'): void {
  const r = clampRange(from, to, moving);
  cap.set({ range: { from: r.from, to: r.to }, rangeNote: r.note, mode: 'sticker' });
  scheduleEstimate();
}

/** Marks the start at the frame on screen. */
export function markIn(t: number): void {
  const s = cap.get();
  const end = s.range && s.range.to > t ? s.range.to : Math.min(s.info?.duration ?? t + 1, t + Math.min(2, settings.get().capture.maxClipSeconds));
  setRange(t, end, 'to');
}

/** Marks the end so the frame on screen is the sticker's last. */
export function markOut(t: number, frameDuration: number): void {
  const s = cap.get();
  const end = Math.min(s.info?.duration ?? Infinity, t + frameDuration);
  const start = s.range ? s.range.from : Math.max(0, end - Math.min(2, settings.get().capture.maxClipSeconds));
  setRange(Math.min(start, t), end, 'from');
}

let estimateTimer: ReturnType<typeof setTimeout> | null = null;
let estimateJob: { cancel(): void } | null = null;
function scheduleEstimate(): void {
  if (estimateTimer) clearTimeout(estimateTimer);
  estimateTimer = setTimeout(async () => {
    const s = cap.get();
    if (!s.range || !s.info || s.job) return;
    estimateJob?.cancel();
    const settingsNow = effectiveSettings();
    const job = capture.estimate(s.range.from, s.range.to, settingsNow);
    estimateJob = job;
    try {
      const bytes = await job.promise;
      cap.set({ estimate: { bytes, budget: settingsNow.maxStickerBytes } });
    } catch { /* estimates are best effort */ }
  }, 350);
}

/** Makes the sticker of the marked range, in the worker, with progress. */
export async function makeStickerNow(): Promise<void> {
  const s = cap.get();
  if (!s.info || !s.range || s.job) return;
  estimateJob?.cancel();
  const job = capture.sticker(s.range.from, s.range.to, effectiveSettings(), (fraction, stage) => {
    const j = cap.get().job;
    if (j) cap.set({ job: { ...j, fraction, stage } });
  });
  cap.set({ job: { kind: 'sticker', fraction: 0, stage: 'decode', cancel: job.cancel }, error: null });
  try {
    const result = await job.promise;
    setPreview({ kind: 'sticker', result, url: URL.createObjectURL(new Blob([result.bytes as BlobPart], { type: result.mime })), video: s.name });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_CANCELLED') cap.set({ error: explain(e) });
  } finally {
    cap.set({ job: null });
  }
}

export function discardPreview(): void {
  setPreview(null);
}
