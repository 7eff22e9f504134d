/**
 * The sockets this node holds, by user, and delivery of bus events to them. A message is
 * serialised once and the same string goes to every socket of every member.
 */
import type { WebSocket } from 'ws';
import type { Bus, BusEvent } from '../bus/types';
import { messageToWire } from './wire';

/** Close a socket whose unsent backlog passes this (a client that stopped reading). */
const MAX_BUFFERED = 16 * 1024 * 1024;

export class Hub {
  #byUser = new Map<string, Set<WebSocket>>();
  #session = new WeakMap<WebSocket, string>();
  #unsubscribe: () => void;
  #unresync: (() => void) | undefined;
  delivered = 0;

  constructor(bus: Bus) {
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
    let set = this.#byUser.get(userId);
    if (!set) { set = new Set(); this.#byUser.set(userId, set); }
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
      case 'message': {
        let data: string | undefined;
        for (const uid of e.memberIds) {
          const set = this.#byUser.get(uid);
          if (!set) continue;
          data ??= JSON.stringify({ type: 'message', message: messageToWire(e.message) });
          for (const ws of set) { send(ws, data); this.delivered++; }
        }
        break;
      }
      case 'read':
        this.sendToUser(e.userId, JSON.stringify({ type: 'read', conversationId: e.conversationId, seq: e.seq }));
        break;
      case 'conversation': {
        const data = JSON.stringify({ type: 'conversation', conversationId: e.conversationId });
        for (const uid of e.memberIds) this.sendToUser(uid, data);
        break;
      }
      case 'logout': {
        const set = this.#byUser.get(e.userId);
        if (set) for (const ws of set) if (this.#session.get(ws) === e.tokenHash) ws.close(4001, 'logged out');
        break;
      }
    }
  }

  /** Closes every socket (server shutdown) with 1001 "going away". */
  closeAll(): void {
    this.#unsubscribe();
    this.#unresync?.();
    for (const set of this.#byUser.values()) for (const ws of set) ws.close(1001, 'server shutting down');
    this.#byUser.clear();
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

/** Sends if open; drops a client whose backlog shows it stopped reading (it will resync). */
export function send(ws: WebSocket, data: string): void {
  if (ws.readyState !== 1) return;
  if (ws.bufferedAmount > MAX_BUFFERED) { ws.close(1013, 'too slow; reconnect and sync'); return; }
  const raw = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  if (raw && !corked.has(raw)) {
    raw.cork();
    corked.add(raw);
    if (!uncorkScheduled) { uncorkScheduled = true; setImmediate(uncorkAll); }
  }
  ws.send(data);
}
