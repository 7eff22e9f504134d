/**
 * The live WebSocket: connecting, the backoff after a loss (400 ms doubling to 4 s), and
 * the `hello` after which frames may be sent. Every frame from the server is checked
 * against the protocol's schema (`parseServerFrame`); one that does not fit is logged and
 * ignored, the rest go to the one handler given to {@link startConnection} (the chat,
 * state.ts) and then to the listeners of {@link onServerFrame}. The heartbeat that finds
 * a socket that stopped answering is liveness.ts; it gives the socket up with
 * {@link dropSocket}.
 */
import {
  FrameError,
  parseServerFrame,
  type ClientFrame,
  type ServerFrame,
} from '@clipchat/protocol';
import { chat } from './model';

/** Everything known of the socket; only this module changes it. */
const link = {
  socket: null as WebSocket | null,
  /** The current socket had its `hello`: frames may be sent. */
  ready: false,
  /** Tries since the last `hello`: the backoff grows with them. */
  retry: 0,
  retryTimer: null as ReturnType<typeof setTimeout> | null,
  stopped: true,
  handle: (_f: ServerFrame): void => {},
};

/**
 * Listeners of every checked frame from the server: typing, presence, receipts and the
 * heartbeat (alive.ts, liveness.ts), watch along (share/watch.ts). Returns the remover.
 */
const frameListeners = new Set<(f: ServerFrame) => void>();
export function onServerFrame(fn: (f: ServerFrame) => void): () => void {
  frameListeners.add(fn);
  return () => {
    frameListeners.delete(fn);
  };
}

/** The socket once its `hello` came (frames may be sent), else null. */
export function liveSocket(): WebSocket | null {
  return link.ready && link.socket?.readyState === WebSocket.OPEN ? link.socket : null;
}

/** Sends a live-only frame now (never queued: a signal, lost when offline); false when not connected. */
export function sendLive(frame: ClientFrame): boolean {
  const ws = liveSocket();
  if (!ws) return false;
  sendFrame(ws, frame);
  return true;
}

/** Sends one frame of the protocol on `ws`. */
export function sendFrame(ws: WebSocket, frame: ClientFrame): void {
  ws.send(JSON.stringify(frame));
}

/** Connects, and keeps connecting after every loss until {@link stopConnection}; `handle` gets every checked frame. */
export function startConnection(handle: (f: ServerFrame) => void): void {
  link.stopped = false;
  link.handle = handle;
  connect();
}

export function stopConnection(): void {
  link.stopped = true;
  if (link.retryTimer) clearTimeout(link.retryTimer);
  link.socket?.close();
  link.socket = null;
  link.ready = false;
}

/** Gives up on the current socket (it stopped answering, or the network is back) and connects again now. */
export function dropSocket(): void {
  if (link.stopped) return;
  const ws = link.socket;
  if (ws) {
    lost(ws);
    ws.close();
  }
  if (link.retryTimer) clearTimeout(link.retryTimer);
  link.retry = 0;
  connect();
}

function wsUrl(): string {
  const u = new URL('ws', location.href.replace(/[^/]*$/, ''));
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = '/ws';
  return u.toString();
}

function connect(): void {
  if (link.stopped) return;
  chat.set({ connection: 'connecting' });
  const ws = new WebSocket(wsUrl());
  link.socket = ws;
  link.ready = false;
  ws.onmessage = (ev) => {
    if (link.socket !== ws) return;
    let frame: ServerFrame;
    try {
      frame = parseServerFrame(String(ev.data));
    } catch (e) {
      // A frame this app does not understand (a newer or broken server) is not applied.
      console.warn(
        'Clipchat: ignored a frame from the server that does not fit the protocol:',
        e instanceof FrameError ? e.message : e,
      );
      return;
    }
    if (frame.type === 'hello') {
      // The session is ready: frames may be sent.
      link.retry = 0;
      link.ready = true;
      chat.set({ connection: 'online', notice: null });
    }
    link.handle(frame);
    for (const l of frameListeners) l(frame);
  };
  ws.onclose = () => {
    if (link.socket !== ws) return;
    lost(ws);
    if (link.stopped) return;
    const delay = Math.min(4000, 400 * 2 ** link.retry++);
    link.retryTimer = setTimeout(connect, delay);
  };
}

/** The socket `ws` is gone (closed, or given up on). */
function lost(ws: WebSocket): void {
  if (link.socket !== ws) return;
  link.socket = null;
  link.ready = false;
  if (link.stopped) return;
  chat.set({
    connection: 'offline',
    notice: 'Connection lost. Messages you send are kept and will go out when it is back.',
  });
}
