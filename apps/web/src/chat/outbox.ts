/**
 * Delivery: every outgoing message gets a `clientId` and is written to the outbox
 * (IndexedDB) before anything is sent. The outbox goes out over the WebSocket once the
 * server's `hello` says the session is ready, one item after the other in the order they
 * were queued (a capture still uploading holds back the messages queued after it), and
 * is re-sent with the same `clientId` after every reconnect until the server has it; the
 * server turns repeats into the one message, so resending is always safe. Captures are
 * kept as bytes in the outbox until their upload succeeds. An item leaves the outbox in
 * one place, {@link settle}: on its `ack`, or when my stored message arrives first (its
 * ack lost with the socket).
 */
import { api, ApiError } from '../api';
import type { MediaMeta, MessageKind, MessageSource, User } from '../types';
import { liveSocket, sendFrame } from './connection';
import { idb } from './idb';
import { chat, type OutboxItem } from './model';

/** The sender's own state; only this module changes it. */
const queue = {
  /** clientIds already sent on the current socket (cleared at each `hello`, so all are resent). */
  sentOnSocket: new Set<string>(),
  pumping: false,
  pumpAgain: false,
  pumpTimer: null as ReturnType<typeof setTimeout> | null,
  /** The server pushed back (busy): nothing is sent before this time (ms since epoch). */
  pausedUntil: 0,
};

const newClientId = () =>
  crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;

/** Reads back the outbox `me` left (a reload, a crash), oldest first. */
export async function restoreOutbox(me: User): Promise<void> {
  const saved = (await idb.all<OutboxItem & { owner?: string }>()).filter(
    (o) => !o.owner || o.owner === me.id,
  );
  chat.set({ me, outbox: saved.sort((a, b) => a.createdAt - b.createdAt) });
}

/** A new socket had its `hello`: everything still in the outbox goes out again, oldest first. */
export function resend(): void {
  queue.sentOnSocket = new Set();
  void pump();
}

/** Forgets the signed-out user's queue (what is in IndexedDB stays for their next sign-in). */
export function resetOutbox(): void {
  queue.sentOnSocket = new Set();
  if (queue.pumpTimer) clearTimeout(queue.pumpTimer);
}

/** The server has stored the message `clientId`: it leaves the outbox, here and in IndexedDB. */
export function settle(clientId: string): void {
  if (!chat.get().outbox.some((o) => o.clientId === clientId)) return;
  void idb.delete(clientId);
  chat.set((s) => ({ outbox: s.outbox.filter((o) => o.clientId !== clientId) }));
}

/**
 * The server is busy and asked for the message `clientId` again after `retryAfterSec`
 * (`ERR_UNAVAILABLE` or `ERR_RATE_LIMITED` with `retryAfter`): it stays queued, and it
 * and everything queued after it are sent again, in order, once the time has passed. The
 * server refuses the later sends of the socket for that long too, so none overtakes it.
 */
export function later(clientId: string, retryAfterSec: number): void {
  const items = chat.get().outbox;
  const at = items.findIndex((o) => o.clientId === clientId);
  if (at < 0) return;
  for (const o of items.slice(at)) queue.sentOnSocket.delete(o.clientId);
  const wait = 1000 * Math.min(60, Math.max(1, retryAfterSec || 1));
  queue.pausedUntil = Math.max(queue.pausedUntil, Date.now() + wait);
  schedulePump(queue.pausedUntil - Date.now());
}

function schedulePump(ms: number): void {
  if (queue.pumpTimer) clearTimeout(queue.pumpTimer);
  queue.pumpTimer = setTimeout(() => {
    queue.pumpTimer = null;
    void pump();
  }, ms);
}

/** The server refused the message `clientId` (or its upload failed): it waits for retry or discard. */
export function fail(clientId: string, error: string): void {
  chat.set((s) => ({
    outbox: s.outbox.map((o) =>
      o.clientId === clientId ? { ...o, state: 'failed' as const, error } : o,
    ),
  }));
  const item = chat.get().outbox.find((o) => o.clientId === clientId);
  if (item) void idb.put(clientId, item);
}

/**
 * Sends the outbox over the ready socket, strictly in queue order: an item is sent only
 * after every older one still to deliver was sent on this socket (its upload done first).
 * Acks and refusals arrive later and never reorder anything: the server stores the
 * frames of one socket in arrival order.
 */
async function pump(): Promise<void> {
  if (queue.pumping) {
    queue.pumpAgain = true;
    return;
  }
  queue.pumping = true;
  queue.pumpAgain = false;
  try {
    for (;;) {
      const ws = liveSocket();
      if (!ws) return;
      if (Date.now() < queue.pausedUntil) return schedulePump(queue.pausedUntil - Date.now());
      const next = chat
        .get()
        .outbox.find((o) => o.state === 'sending' && !queue.sentOnSocket.has(o.clientId));
      if (!next) return;
      const item = await prepare(next);
      if (item === 'failed') continue;
      if (item === 'offline') {
        // Stays queued, and holds back what follows; try again shortly.
        schedulePump(2000);
        return;
      }
      // The socket went away during the upload: the next `hello` sends it.
      if (liveSocket() !== ws) return;
      // Acked, discarded or refused meanwhile: nothing to send.
      if (!chat.get().outbox.some((o) => o.clientId === item.clientId && o.state === 'sending'))
        continue;
      sendFrame(ws, {
        type: 'send',
        clientId: item.clientId,
        conversationId: item.conversationId,
        kind: item.kind,
        text: item.text ?? undefined,
        mediaId: item.stickerId ? undefined : item.media?.id,
        stickerId: item.stickerId,
        source: item.source ?? undefined,
        replyTo: item.replyTo ?? undefined,
      });
      queue.sentOnSocket.add(item.clientId);
    }
  } finally {
    queue.pumping = false;
    if (queue.pumpAgain) void pump();
  }
}

/** Uploads a capture's bytes if still needed; the item ready to send, or why not. */
async function prepare(item: OutboxItem): Promise<OutboxItem | 'offline' | 'failed'> {
  if (!item.blob || item.media) return item;
  try {
    const media = await api.upload(item.blob, item.mime ?? item.blob.type);
    const done: OutboxItem = { ...item, media, blob: undefined };
    chat.set((s) => ({
      outbox: s.outbox.map((o) =>
        o.clientId === done.clientId ? { ...o, media, blob: undefined } : o,
      ),
    }));
    await idb.put(done.clientId, { ...done, owner: chat.get().me?.id });
    return done;
  } catch (e) {
    if (e instanceof ApiError && e.offline) return 'offline';
    const why =
      e instanceof ApiError
        ? `Upload refused: ${e.message}`
        : `Upload failed: ${(e as Error).message}`;
    fail(item.clientId, why);
    chat.set({ notice: why });
    return 'failed';
  }
}

/** Queues a message (persisted first); it is sent after every older one, once connected. */
export async function send(
  conversationId: string,
  body: {
    kind: MessageKind;
    text?: string | null;
    blob?: Blob;
    mime?: string;
    media?: MediaMeta;
    stickerId?: string;
    source?: MessageSource | null;
    replyTo?: string | null;
  },
): Promise<void> {
  // A message sent while a reply is open answers it (stills and stickers too).
  const a = chat.get().action;
  const replyTo =
    body.replyTo !== undefined
      ? body.replyTo
      : a?.mode === 'reply' && a.conversationId === conversationId
        ? a.messageId
        : null;
  if (a?.mode === 'reply' && a.conversationId === conversationId) chat.set({ action: null });
  const item: OutboxItem = {
    clientId: newClientId(),
    conversationId,
    kind: body.kind,
    text: body.text ?? null,
    source: body.source ?? null,
    blob: body.blob,
    mime: body.mime,
    media: body.media,
    stickerId: body.stickerId,
    replyTo,
    state: 'sending',
    createdAt: Date.now(),
  };
  await idb.put(item.clientId, { ...item, owner: chat.get().me?.id });
  chat.set((s) => ({ outbox: [...s.outbox, item] }));
  void pump();
}

/** Tries a failed message again (same clientId). */
export function retrySend(clientId: string): void {
  const item = chat.get().outbox.find((o) => o.clientId === clientId);
  if (!item) return;
  const again = { ...item, state: 'sending' as const, error: undefined };
  chat.set((s) => ({ outbox: s.outbox.map((o) => (o.clientId === clientId ? again : o)) }));
  queue.sentOnSocket.delete(clientId);
  void pump();
}

export function discardSend(clientId: string): void {
  void idb.delete(clientId);
  chat.set((s) => ({ outbox: s.outbox.filter((o) => o.clientId !== clientId) }));
}
