/**
 * The capture side of the page (the patent's video-capture module as the user drives
 * it): the opened video, the capture mode, the marked range, the crop, the running job
 * and the preview of its result.
 */
import type { CaptureSettings, Rect, VideoInfo } from '@clipchat/capture';
import { capture } from '../bridge/client';
import { clock } from './clock';
import { explain } from './words';
import type { StickerResult, StillResult } from '../bridge/shared';
import { settings } from '../settings/state';
import { Store } from '../store';
import { formatTime } from '../format';

/** `mediaId`: the shared video it was captured from (its caption then leads back to it). */
export type Preview =
  | { kind: 'still'; result: StillResult; url: string; video: string; mediaId?: string }
  | { kind: 'sticker'; result: StickerResult; url: string; video: string; mediaId?: string };

interface Job {
  kind: 'still' | 'sticker';
  fraction: number;
  stage: string;
  cancel: () => void;
}

export interface CaptureState {
  file: File | null;
  /**
   * Object URL of the opened file for the `<video>` element (never uploaded unless shared), or a
   * shared video's `/media/<id>`.
   */
  url: string | null;
  /** Media id of the shared video that is open (played and captured by range requests); null for a local file. */
  sharedId: string | null;
  /**
   * Where to go once the video named `name` is open (a caption's moment): a time, and the
   * sticker range to highlight. Applied by the player when the video is ready.
   */
  goTo: { name: string; at: number; range: { from: number; to: number } | null } | null;
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
  /**
   * The live size estimate of the marked range, for exactly the range and settings in
   * `key`; null (shown as “estimating…”) until the estimate of the current ones arrives.
   */
  estimate: { bytes: number; budget: number; key: string } | null;
}

export const cap = new Store<CaptureState>({
  file: null,
  url: null,
  sharedId: null,
  goTo: null,
  name: '',
  info: null,
  opening: false,
  error: null,
  slowNotice: null,
  mode: 'still',
  range: null,
  rangeNote: null,
  crop: null,
  job: null,
  preview: null,
  estimate: null,
});

/** Settings of the next capture: the saved ones with the drawn crop, if any. */
function effectiveSettings(): CaptureSettings {
  const s = settings.get().capture;
  const crop = cap.get().crop ?? s.crop;
  return { ...s, crop: crop ? { ...crop } : null };
}

/**
 * The crop of the next capture, checked against the opened video's frame: a crop that
 * does not lie inside it is refused before anything is captured, in the engine's words
 * (`makeSticker` says the same), so a still can never be a transparent 5000×5000 PNG.
 */
export function cropProblem(): string | null {
  const info = cap.get().info;
  const c = effectiveSettings().crop;
  if (!info || !c) return null;
  const ok =
    [c.x, c.y, c.width, c.height].every(Number.isInteger) &&
    c.x >= 0 &&
    c.y >= 0 &&
    c.width >= 1 &&
    c.height >= 1 &&
    c.x + c.width <= info.width &&
    c.y + c.height <= info.height;
  return ok
    ? null
    : `Crop ${c.x},${c.y},${c.width},${c.height} must lie inside the ${info.width}×${info.height} frame.`;
}

/** Opens a local file: the player gets an object URL, the capture engine decodes it. */
export async function openFile(file: File): Promise<void> {
  const old = cap.get();
  if (old.url) URL.revokeObjectURL(old.url);
  cap.set({
    file,
    url: URL.createObjectURL(file),
    sharedId: null,
    name: file.name,
    info: null,
    opening: true,
    error: null,
    slowNotice: null,
    range: null,
    rangeNote: null,
    crop: null,
    estimate: null,
  });
  if (old.goTo && old.goTo.name !== file.name) cap.set({ goTo: null });
  await openSource(file, file.name);
}

/**
 * Opens a video shared into a conversation: the player streams `/media/<id>` and the
 * engine reads it by range requests (mediabunny's URL source), so capture is frame-exact
 * as from a local file without downloading it first. `goTo` seeks (and highlights a range).
 */
export async function openShared(
  mediaId: string,
  name: string,
  goTo?: { at: number; range: { from: number; to: number } | null },
): Promise<void> {
  const old = cap.get();
  const target = goTo ? { name, ...goTo } : null;
  if (old.sharedId === mediaId && old.info) {
    cap.set({ goTo: target });
    return;
  }
  if (old.url?.startsWith('blob:')) URL.revokeObjectURL(old.url);
  const url = `/media/${encodeURIComponent(mediaId)}`;
  cap.set({
    file: null,
    url,
    sharedId: mediaId,
    name,
    info: null,
    opening: true,
    error: null,
    slowNotice: null,
    range: null,
    rangeNote: null,
    crop: null,
    estimate: null,
    goTo: target,
  });
  await openSource(new URL(url, location.href).href, name);
}

/** Has the engine read `file` (a File, or a URL read by range requests) and says what it found. */
export async function openSource(file: File | string, name: string): Promise<void> {
  try {
    const info = await capture.open(file, name);
    clock.decoderStart = capture.start;
    cap.set({
      info,
      opening: false,
      slowNotice: capture.slow
        ? 'This browser cannot decode this video directly, so capture works by seeking the player: it may be slower.'
        : null,
    });
  } catch (e) {
    cap.set({ opening: false, error: explain(e, name) });
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
  if (!s.info || s.job) {
    picture?.close();
    return;
  }
  const bad = cropProblem();
  if (bad) {
    picture?.close();
    cap.set({ error: bad });
    return;
  }
  const at = Math.min(Math.max(0, t), Math.max(0, s.info.duration - 1e-6));
  const job = capture.still(at, effectiveSettings(), picture);
  cap.set({
    job: { kind: 'still', fraction: 0, stage: 'capture', cancel: job.cancel },
    error: null,
  });
  try {
    const result = await job.promise;
    setPreview({
      kind: 'still',
      result,
      url: URL.createObjectURL(new Blob([result.bytes as BlobPart], { type: result.mime })),
      video: s.name,
      mediaId: s.sharedId ?? undefined,
    });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_CANCELLED') cap.set({ error: explain(e, s.name) });
  } finally {
    cap.set({ job: null });
  }
}

/** Clamps a range to the video and to the longest allowed sticker. */
function clampRange(
  from: number,
  to: number,
  moving: 'from' | 'to',
): { from: number; to: number; note: string | null } {
  const dur = cap.get().info?.duration ?? Infinity;
  const max = settings.get().capture.maxClipSeconds;
  from = Math.max(0, Math.min(from, dur));
  to = Math.max(0, Math.min(to, dur));
  if (to < from) [from, to] = [to, from];
  let note: string | null = null;
  if (to - from > max + 1e-9) {
    if (moving === 'from') from = to - max;
    else to = from + max;
    const moved =
      moving === 'from'
        ? `it now starts at ${formatTime(from)}`
        : `it now ends at ${formatTime(to)}`;
    note = `A sticker covers at most ${max} s (the “Longest sticker” setting), so ${moved}.`;
  }
  return { from, to, note };
}

export function setRange(from: number, to: number, moving: 'from' | 'to'): void {
  const r = clampRange(from, to, moving);
  // The estimate follows through the store subscription below.
  cap.set({ range: { from: r.from, to: r.to }, rangeNote: r.note, mode: 'sticker' });
}

/** Marks the start at the frame on screen. */
export function markIn(t: number): void {
  const s = cap.get();
  const end =
    s.range && s.range.to > t
      ? s.range.to
      : Math.min(s.info?.duration ?? t + 1, t + Math.min(2, settings.get().capture.maxClipSeconds));
  setRange(t, end, 'to');
}

/**
 * Marks the end so the frame on screen is the sticker's last: `t` is that frame's start
 * (or a time inside it), the range ends where the frame does. A range longer than the
 * longest sticker keeps the start the person marked and ends early (the strip says so).
 */
export function markOut(t: number, frameDuration: number): void {
  const s = cap.get();
  const end = Math.min(s.info?.duration ?? Infinity, t + frameDuration);
  const start = s.range
    ? s.range.from
    : Math.max(0, end - Math.min(2, settings.get().capture.maxClipSeconds));
  setRange(Math.min(start, t), end, 'to');
}

let estimateTimer: ReturnType<typeof setTimeout> | null = null;
let estimateJob: { cancel(): void } | null = null;
/** What an estimate is of: the range, the effective settings (crop included), the file. */
function estimateKey(): string | null {
  const s = cap.get();
  return s.range && s.info
    ? JSON.stringify([s.url, s.range.from, s.range.to, effectiveSettings()])
    : null;
}

/**
 * Recomputes the live size estimate whenever what it depends on changed: the range, the
 * crop, the settings, or the end of a capture job (which held the engine). Until the new
 * number arrives the strip says “estimating…”, never the number of something else.
 */
function scheduleEstimate(): void {
  const key = estimateKey();
  if (cap.get().estimate?.key === key && key) return;
  if (estimateTimer) clearTimeout(estimateTimer);
  estimateJob?.cancel();
  estimateJob = null;
  if (cap.get().estimate) cap.set({ estimate: null });
  if (!key || cropProblem()) return;
  estimateTimer = setTimeout(() => void estimateNow(key), 350);
}

/** The estimate for `key`, unless the range or the settings changed while it waited. */
async function estimateNow(key: string): Promise<void> {
  const s = cap.get();
  if (!s.range || !s.info || s.job || estimateKey() !== key) return;
  const settingsNow = effectiveSettings();
  const job = capture.estimate(s.range.from, s.range.to, settingsNow);
  estimateJob = job;
  try {
    const bytes = await job.promise;
    if (estimateKey() === key)
      cap.set({ estimate: { bytes, budget: settingsNow.maxStickerBytes, key } });
  } catch {
    /* estimates are best effort */
  }
}
let lastKey: string | null = null;
let lastJob = false;
const onChange = () => {
  const key = estimateKey();
  const job = !!cap.get().job;
  if (key === lastKey && job === lastJob) return;
  lastKey = key;
  lastJob = job;
  if (!job) return scheduleEstimate();
  // A capture job has the engine: the estimate waits for it to finish.
  if (estimateTimer) clearTimeout(estimateTimer);
  estimateJob?.cancel();
  estimateJob = null;
};
cap.subscribe(onChange);
settings.subscribe(onChange);

/** Makes the sticker of the marked range, in the worker, with progress. */
export async function makeStickerNow(): Promise<void> {
  const s = cap.get();
  if (!s.info || !s.range || s.job) return;
  const bad = cropProblem();
  if (bad) {
    cap.set({ error: bad });
    return;
  }
  const job = capture.sticker(s.range.from, s.range.to, effectiveSettings(), (fraction, stage) => {
    const j = cap.get().job;
    if (j) cap.set({ job: { ...j, fraction, stage } });
  });
  cap.set({
    job: { kind: 'sticker', fraction: 0, stage: 'decode', cancel: job.cancel },
    error: null,
  });
  try {
    const result = await job.promise;
    setPreview({
      kind: 'sticker',
      result,
      url: URL.createObjectURL(new Blob([result.bytes as BlobPart], { type: result.mime })),
      video: s.name,
      mediaId: s.sharedId ?? undefined,
    });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_CANCELLED') cap.set({ error: explain(e, s.name) });
  } finally {
    cap.set({ job: null });
  }
}

export function discardPreview(): void {
  setPreview(null);
}
