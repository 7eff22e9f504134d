/**
 * Whether this page is really connected, said within about 2 s of losing it.
 *
 * A WebSocket whose network vanished (Wi-Fi gone, laptop lid, a proxy that stopped
 * forwarding) can stay "open" for minutes. So the page pings over the socket every
 * PING_EVERY_MS while visible (HIDDEN_PING_EVERY_MS while hidden) and counts any frame
 * as a sign of life: a ping unanswered for PONG_WITHIN_MS marks the socket stale (the
 * badge says "Reconnecting…", queued messages "Waiting for connection"); SILENT_DROP_MS
 * without any frame gives the socket up and connects again. A late pong clears the
 * stale mark without reconnecting, so a slow moment costs no resync. The browser's own
 * `offline`/`online` events say "Offline" at once, and `online` reconnects at once.
 *
 * Worst case on a visible page: connection lost just after a pong → next ping within
 * PING_EVERY_MS → stale PONG_WITHIN_MS later, checked every TICK_MS: 750 + 1000 + 100 ms.
 *
 * Waiting is counted in ticks, not by the wall clock: a page busy for seconds (rendering a
 * long replay) runs no timers and handles no frames, and the pong may sit queued behind
 * the work; a late tick adds at most STALL_MS (1.5 s on a hidden page, whose timers
 * the browser throttles to about one a second), so such a stall never reads as silence.
 */
import { alive } from './alive';
import { dropSocket, liveSocket, onServerFrame } from './connection';
import { chat } from './state';

const PING_EVERY_MS = 750;
const HIDDEN_PING_EVERY_MS = 5000;
const PONG_WITHIN_MS = 1000;
const SILENT_DROP_MS = 6000;
const TICK_MS = 100;
/** The most one late tick counts (visible page): timers late on a loaded machine count, a long stall does not. */
const STALL_MS = 500;

let socket: WebSocket | null = null;
let lastTick = 0;
/** Responsive time (ms) since the last ping went out / since anything was heard. */
let sincePing = 0;
let silence = 0;
let waiting = false;
let timer: ReturnType<typeof setInterval> | null = null;

function tick(): void {
  const ws = liveSocket();
  const now = Date.now();
  // A hidden page's timers are throttled to about one a second: that is not a stall.
  const hidden = document.visibilityState === 'hidden';
  const step = Math.min(Math.max(0, now - lastTick), hidden ? 1500 : STALL_MS);
  lastTick = now;
  if (ws !== socket) {
    // A new socket (or none): its hello was just heard.
    socket = ws;
    waiting = false;
    silence = 0;
    sincePing = Infinity;
    if (alive.get().stale) alive.set({ stale: false });
  }
  if (!ws) return;
  sincePing += step;
  if (waiting) silence += step;
  if (waiting && sincePing >= PONG_WITHIN_MS && !alive.get().stale) alive.set({ stale: true });
  if (waiting && silence >= SILENT_DROP_MS) {
    dropSocket();
    return;
  }
  const every = hidden ? HIDDEN_PING_EVERY_MS : PING_EVERY_MS;
  if (!waiting && sincePing >= every) {
    sincePing = 0;
    silence = 0;
    waiting = true;
    ws.send('{"type":"ping"}');
  }
}

function heard(): void {
  waiting = false;
  silence = 0;
  if (alive.get().stale) alive.set({ stale: false });
}

/** Starts the heartbeat and listens to the browser's network events (once per page). */
export function startLiveness(): void {
  if (timer) return;
  onServerFrame(heard);
  timer = setInterval(tick, TICK_MS);
  window.addEventListener('offline', () => alive.set({ network: false }));
  window.addEventListener('online', () => {
    alive.set({ network: true });
    // Back on the network: try at once instead of waiting out the backoff.
    if (chat.get().me && !liveSocket()) dropSocket();
  });
  document.addEventListener('visibilitychange', tick);
}

/** What the connection badge says, and its class. */
export type Liveness = 'online' | 'connecting' | 'reconnecting' | 'offline';

export function livenessOf(
  connection: 'connecting' | 'online' | 'offline',
  a: { network: boolean; stale: boolean; wasOnline: boolean },
): Liveness {
  if (!a.network) return 'offline';
  if (connection === 'online') return a.stale ? 'reconnecting' : 'online';
  if (connection === 'connecting') return a.wasOnline ? 'reconnecting' : 'connecting';
  return 'offline';
}

export const LIVENESS_TEXT: Record<Liveness, string> = {
  online: 'Connected',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};
