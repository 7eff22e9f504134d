/**
 * Watch along: while a shared video is open, my play, pause and seeks go to the open
 * conversation as `watch` frames; another member can "Follow alice", and their player then
 * opens the same video and goes where alice goes, until they seek themselves (or stop).
 * A follower sends nothing. Nothing of this is stored; it rides the WebSocket only.
 */
import { WATCH_INTERVAL_MS, type ServerFrame, type WatchFrame } from '@clipchat/protocol';
import { cap, openShared } from '../capture/state';
import { clock } from '../capture/clock';
import { onServerFrame, sendLive } from '../chat/connection';
import { chat } from '../chat/state';
import { Store } from '../store';

/** The last thing a member did with a shared video, as relayed to me. */
export interface Leader {
  user: { id: string; username: string };
  conversationId: string;
  mediaId: string;
  video: string;
  action: WatchFrame['action'];
  at: number;
  playing: boolean;
  /** When it arrived here (performance clock, ms): a playing video has moved on since. */
  receivedAt: number;
}

export interface WatchState {
  /** Members who played, paused or sought a shared video, by user id (last frame each). */
  leaders: Record<string, Leader>;
  /** The user id I follow, or null. */
  following: string | null;
}

export const watchAlong = new Store<WatchState>({ leaders: {}, following: null });

/** Leaders are offered for this long after their last frame, ms. */
const OFFER_MS = 10 * 60_000;
const videoEl = () => document.querySelector<HTMLVideoElement>('video.player-video');

/** Members to offer "Follow …" for in the open conversation (recent ones, not me). */
export function leadersHere(s: WatchState, conversationId: string | null): Leader[] {
  const now = performance.now();
  return Object.values(s.leaders).filter(
    (l) => l.conversationId === conversationId && now - l.receivedAt < OFFER_MS,
  );
}

let applying = 0;
let installed = false;

/** Starts listening (frames in, the player's own moves out); once per page. */
export function installWatchAlong(): void {
  if (installed) return;
  installed = true;
  onServerFrame(onFrame);
  clock.onMove = () => {
    if (applying) return;
    // My own seek or step: I stop following, and lead from here (sent once the seek has landed).
    if (watchAlong.get().following) watchAlong.set({ following: null });
    pendingSeek = true;
  };
  // play/pause/seeked of the player element (bubbling is not needed: capture at the document).
  document.addEventListener('play', (e) => mine(e, 'play'), true);
  document.addEventListener('pause', (e) => mine(e, 'pause'), true);
  document.addEventListener(
    'seeked',
    (e) => {
      if (pendingSeek) {
        pendingSeek = false;
        mine(e, 'seek');
      }
    },
    true,
  );
}

let pendingSeek = false;

function onFrame(f: ServerFrame): void {
  if (f.type !== 'watch') return;
  const l: Leader = {
    user: f.user,
    conversationId: f.conversationId,
    mediaId: f.mediaId,
    video: f.video,
    action: f.action,
    at: f.at,
    playing: f.playing,
    receivedAt: performance.now(),
  };
  watchAlong.set((s) => ({ leaders: { ...s.leaders, [f.user.id]: l } }));
  if (watchAlong.get().following === f.user.id) void follow(l);
}

/** Follows `userId` from their last known position on. */
export function startFollowing(userId: string): void {
  const l = watchAlong.get().leaders[userId];
  if (!l) return;
  watchAlong.set({ following: userId });
  void follow(l);
}

export function stopFollowing(): void {
  watchAlong.set({ following: null });
}

/** Brings my player to where `l` is: the same video, the same time, playing or paused. */
async function follow(l: Leader): Promise<void> {
  applying++;
  try {
    if (cap.get().sharedId !== l.mediaId || !cap.get().info) await openShared(l.mediaId, l.video);
    if (watchAlong.get().following !== l.user.id || cap.get().sharedId !== l.mediaId) return;
    const v = await playerReady(l.mediaId);
    if (!v || watchAlong.get().following !== l.user.id) return;
    const latest = watchAlong.get().leaders[l.user.id];
    if (latest && latest !== l) return; // a newer frame is being applied
    const at = l.playing ? l.at + (performance.now() - l.receivedAt) / 1000 : l.at;
    // Paused: exactly their frame. Playing: only when off by more than a moment.
    // (The clock's pause settles on the frame on screen at once; the element's own pause
    // event would settle later, on top of the seek.)
    if (!l.playing) clock.pause();
    if (!l.playing || l.action === 'seek' || Math.abs(clock.now() - at) > 0.5) clock.seek(at);
    if (l.playing && v.paused) await v.play().catch(() => {});
  } finally {
    // The element's events for what we just did arrive after this: keep them ours.
    setTimeout(() => {
      applying--;
    }, 0);
  }
}

/** The player element once it shows `mediaId` with its metadata, or null after 15 s. */
async function playerReady(mediaId: string): Promise<HTMLVideoElement | null> {
  const end = performance.now() + 15_000;
  while (performance.now() < end) {
    const v = videoEl();
    if (v && v.currentSrc.endsWith(`/media/${mediaId}`) && v.readyState >= 1) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

let lastSent = 0;
let trailing: ReturnType<typeof setTimeout> | null = null;

/**
 * My own play, pause or landed seek of the open shared video: tell the conversation (throttled, the
 * last always sent).
 */
function mine(e: Event, action: WatchFrame['action']): void {
  const v = e.target;
  if (!(v instanceof HTMLVideoElement) || !v.classList.contains('player-video')) return;
  if (applying || watchAlong.get().following) return;
  const c = cap.get();
  const conversationId = chat.get().activeId;
  if (!c.sharedId || !conversationId || !v.currentSrc.endsWith(`/media/${c.sharedId}`)) return;
  const frame: WatchFrame = {
    type: 'watch',
    conversationId,
    mediaId: c.sharedId,
    video: (c.name || 'shared video').slice(0, 200),
    action,
    at: Math.min(86_400, clock.now()),
    playing: action === 'pause' ? false : action === 'play' ? true : !v.paused,
  };
  const wait = lastSent + WATCH_INTERVAL_MS - performance.now();
  if (trailing) clearTimeout(trailing);
  trailing = null;
  // Play and pause go at once; seeks while scrubbing at most every WATCH_INTERVAL_MS, the last one always.
  if (action !== 'seek' || wait <= 0) {
    lastSent = performance.now();
    sendLive(frame);
    return;
  }
  trailing = setTimeout(() => {
    trailing = null;
    lastSent = performance.now();
    sendLive({ ...frame, at: Math.min(86_400, clock.now()) });
  }, wait);
}
