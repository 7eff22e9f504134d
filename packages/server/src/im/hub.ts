/**
 * The sockets this node holds, by user, and delivery of bus events to them. A message is
 * serialised once and the same string goes to every socket of every member.
 */
import type { WebSocket } from 'ws';
import type { Bus, BusEvent } from '../bus/types';
import { WS_CLOSE_TOO_SLOW } from '@clipchat/protocol';
import { messageToWire } from './wire';

/** Default bound of a socket's unsent backlog (see `WsLimits.maxBufferedBytes`). */
const MAX_BUFFERED = 4 * 1024 * 1024;

/** Close code of a socket dropped for not reading what it is sent (RFC 6455 "Try Again Later"). */
const CLOSE_TOO_SLOW = WS_CLOSE_TOO_SLOW;

/** What `send` needs to know of a socket registered with a hub. */
interface SocketState {
  maxBuffered: number;
  hub: Hub;
}
const states = new WeakMap<WebSocket, SocketState>();

/** Close code of a draining node: "service restart", the client reconnects (to another node). */
const CLOSE_RESTARTING = 1012;

export class Hub {
  #byUser = new Map<string, Set<WebSocket>>();
  #session = new WeakMap<WebSocket, string>();
  #unsubscribe: () => void;
  #unresync: (() => void) | undefined;
  delivered = 0;
  /** Sockets closed with {@link CLOSE_TOO_SLOW} because their backlog passed the bound. */
  slowClosed = 0;
  readonly #maxBuffered: number;

  /** `maxBuffered`: unsent bytes after which a socket is closed with 1013. */
  constructor(bus: Bus, maxBuffered = MAX_BUFFERED) {
    this.#maxBuffered = maxBuffered;
    this.#unsubscribe = bus.subscribe((e) => this.#deliver(e));
    // A bus between nodes (Redis) that lost events while disconnected asks, once back,
    // for every client to sync; the in-process bus never does.
    this.#unresync = bus.onResync?.(() => this.broadcast('{"type":"resync"}'));
  }

  /** Sends a frame to every socket on this node. */
  broadcast(data: string): void {
    for (const set of this.#byUser.values()) for (const ws of set) send(ws, data);
  }

  /** Registers a socket of a user; `tokenHash` lets a logout close exactly that session's sockets. */
  add(userId: string, ws: WebSocket, tokenHash?: string): void {
    if (tokenHash) this.#session.set(ws, tokenHash);
    states.set(ws, { maxBuffered: this.#maxBuffered, hub: this });
    let set = this.#byUser.get(userId);
    if (!set) {
      set = new Set();
      this.#byUser.set(userId, set);
    }
    set.add(ws);
  }

  remove(userId: string, ws: WebSocket): void {
    const set = this.#byUser.get(userId);
    if (!set) return;
    set.delete(ws);
    if (!set.size) this.#byUser.delete(userId);
  }

  get sockets(): number {
    let n = 0;
    for (const s of this.#byUser.values()) n += s.size;
    return n;
  }

  /** Sends a frame to every socket of a user on this node. */
  sendToUser(userId: string, data: string): void {
    const set = this.#byUser.get(userId);
    if (set) for (const ws of set) send(ws, data);
  }

  #deliver(e: BusEvent): void {
    switch (e.type) {
      case 'message':
      case 'update': {
        let data: string | undefined;
        for (const uid of e.memberIds) {
          const set = this.#byUser.get(uid);
          if (!set) continue;
          data ??= JSON.stringify({ type: e.type, message: messageToWire(e.message) });
          for (const ws of set) {
            send(ws, data);
            this.delivered++;
          }
        }
        break;
      }
      case 'read': {
        this.sendToUser(
          e.userId,
          JSON.stringify({ type: 'read', conversationId: e.conversationId, seq: e.seq }),
        );
        if (e.user && e.memberIds) {
          const data = JSON.stringify({
            type: 'read',
            conversationId: e.conversationId,
            user: e.user,
            seq: e.seq,
          });
          for (const uid of e.memberIds) if (uid !== e.userId) this.sendToUser(uid, data);
        }
        break;
      }
      case 'delivered': {
        const data = JSON.stringify({
          type: 'delivered',
          conversationId: e.conversationId,
          user: e.user,
          seq: e.seq,
        });
        for (const uid of e.memberIds) if (uid !== e.user.id) this.sendToUser(uid, data);
        break;
      }
      case 'typing': {
        const data = JSON.stringify({
          type: 'typing',
          conversationId: e.conversationId,
          user: e.user,
        });
        for (const uid of e.memberIds) if (uid !== e.user.id) this.sendToUser(uid, data);
        break;
      }
      case 'watch': {
        const { memberIds, ...frame } = e;
        const data = JSON.stringify(frame);
        for (const uid of memberIds) if (uid !== e.user.id) this.sendToUser(uid, data);
        break;
      }
      case 'presence': {
        const data = JSON.stringify({
          type: 'presence',
          user: e.user,
          online: e.online,
          lastSeen: e.lastSeen,
        });
        for (const uid of e.memberIds) if (uid !== e.user.id) this.sendToUser(uid, data);
        break;
      }
      case 'members':
        break;
      case 'conversation': {
        const data = JSON.stringify({ type: 'conversation', conversationId: e.conversationId });
        for (const uid of e.memberIds) this.sendToUser(uid, data);
        break;
      }
      case 'logout': {
        const set = this.#byUser.get(e.userId);
        if (set)
          for (const ws of set)
            if (this.#session.get(ws) === e.tokenHash) ws.close(4001, 'logged out');
        break;
      }
    }
  }

  /** Closes every socket (server shutdown) with 1001 "going away". */
  closeAll(code = 1001, reason = 'server shutting down'): void {
    this.#unsubscribe();
    this.#unresync?.();
    for (const set of this.#byUser.values()) for (const ws of set) ws.close(code, reason);
    this.#byUser.clear();
  }

  /** Sends read off a socket whose ack (or error) has not gone out yet, on this node. */
  #sendsInFlight = 0;
  #idle: (() => void)[] = [];
  /** True once {@link drain} began: frames still read are dropped (their senders resend them elsewhere). */
  draining = false;

  /** A `send` frame was read: its ack or error is owed. */
  sendStarted(): void {
    this.#sendsInFlight++;
  }
  /** The ack or error of a `send` went out. */
  sendSettled(): void {
    if (--this.#sendsInFlight === 0) for (const f of this.#idle.splice(0)) f();
  }

  /**
   * A node being stopped (SIGTERM) drains instead of dropping its clients: it stops
   * reading their sockets (a frame not read is a frame not acked, which the client's
   * outbox sends again on its next node), waits up to `timeoutMs` for the acks of the
   * sends already read, then closes every socket with 1012 (service restart: reconnect,
   * to another node). So no client resends a message this node stored, and none is lost.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    for (const set of this.#byUser.values()) for (const ws of set) ws.pause();
    if (this.#sendsInFlight > 0) {
      await new Promise<void>((done) => {
        const t = setTimeout(done, timeoutMs);
        this.#idle.push(() => {
          clearTimeout(t);
          done();
        });
      });
    }
    // Acks of the last turn are corked until the end of the turn: let them out first.
    await new Promise((r) => setImmediate(r));
    // Reading again lets each client's close frame in (frames before it are dropped, above),
    // so the close handshake ends now rather than at ws's 30 s close timeout.
    for (const set of this.#byUser.values()) for (const ws of set) ws.resume();
    this.closeAll(CLOSE_RESTARTING, 'node restarting; reconnect');
  }
}

// Frames sent in one event-loop turn (a committed batch's acks and fan-out) go out in one
// write per socket: the socket is corked at its first frame and uncorked after the turn.
const corked = new Set<{ uncork(): void }>();
let uncorkScheduled = false;
function uncorkAll(): void {
  uncorkScheduled = false;
  for (const s of corked) s.uncork();
  corked.clear();
}

type RawSocket = {
  cork(): void;
  uncork(): void;
  on(e: 'drain', f: () => void): void;
  off(e: 'drain', f: () => void): void;
};
const rawOf = (ws: WebSocket) => (ws as unknown as { _socket?: RawSocket })._socket;

/**
 * Closes a socket that does not read what it is sent, with {@link CLOSE_TOO_SLOW}. Nothing
 * more is queued on it (it is CLOSING), so its memory stays what it was; ws destroys it
 * if the close handshake does not finish within 30 s.
 */
export function closeSlow(ws: WebSocket, why: string): void {
  if (ws.readyState !== 1) return;
  const st = states.get(ws);
  if (st) st.hub.slowClosed++;
  ws.close(CLOSE_TOO_SLOW, `too slow: ${why}; reconnect and sync`.slice(0, 120));
}

/**
 * Sends if open; drops a client whose backlog shows it stopped reading (it will resync).
 * Returns whether the frame was queued.
 */
export function send(ws: WebSocket, data: string): boolean {
  if (ws.readyState !== 1) return false;
  const max = states.get(ws)?.maxBuffered ?? MAX_BUFFERED;
  if (ws.bufferedAmount > max) {
    closeSlow(ws, `over ${max} bytes unsent`);
    return false;
  }
  const raw = rawOf(ws);
  if (raw && !corked.has(raw)) {
    raw.cork();
    corked.add(raw);
    if (!uncorkScheduled) {
      uncorkScheduled = true;
      setImmediate(uncorkAll);
    }
  }
  ws.send(data);
  return true;
}

/**
 * Resolves true once at most `below` bytes wait unsent on `ws` (at once when that is
 * already so), false when the socket closes or `timeoutMs` passes first. Lets a producer
 * (sync) hold back instead of queueing what the client has not read.
 */
export function drained(ws: WebSocket, below: number, timeoutMs: number): Promise<boolean> {
  if (ws.readyState !== 1) return Promise.resolve(false);
  if (ws.bufferedAmount <= below) return Promise.resolve(true);
  const raw = rawOf(ws);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      clearInterval(poll);
      raw?.off('drain', check);
      ws.off('close', closed);
      resolve(ok);
    };
    const check = () => {
      if (ws.readyState !== 1) done(false);
      else if (ws.bufferedAmount <= below) done(true);
    };
    const closed = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    // 'drain' fires when the kernel took everything; the poll catches a partial drain below the bound.
    const poll = setInterval(check, 100);
    raw?.on('drain', check);
    ws.on('close', closed);
  });
}
