/**
 * The chat model: conversations, messages, the live WebSocket and the outbox.
 *
 * Delivery: every outgoing message gets a `clientId` and is written to the outbox
 * (IndexedDB) before anything is sent. The outbox goes out over the WebSocket once the
 * server's `hello` says the session is ready, one item after the other in the order they
 * were queued (a capture still uploading holds back the messages queued after it), and
 * is re-sent with the same `clientId` after every reconnect until the server acks it; the
 * server turns repeats into the one message, so resending is always safe. Captures are
 * kept as bytes in the outbox until their upload succeeds.
 *
 * Receiving: live messages may miss some (a dropped node, delivery between nodes
 * interrupted). After each `hello`, and whenever the server sends `resync`, the client
 * asks every conversation for what follows the highest seq it holds with no gap before
 * it, so a message that arrived live after a missed one never hides the missed one.
 *
 * Changes: a message I hold may be edited, reacted to or deleted. Each change comes as an
 * `update` frame with the whole message as it now is; a copy replaces the one held when
 * its `rev` is higher, in place (order is by seq and never changes). `sync` also asks, per
 * conversation, for the changes after the change number this client holds (`synced.revs`,
 * or the conversation list's `lastRev` read before the messages were loaded), so changes
 * made while away arrive after a reconnect too.
 *
 * Frames: every frame from the server is checked against the protocol's schema
 * (`parseServerFrame`); one that does not fit is logged and ignored. Frames sent are the
 * protocol's `ClientFrame`s.
 */
import {
  DEFAULT_EDIT_WINDOW_MS,
  FrameError,
  parseServerFrame,
  type ClientFrame,
  type ServerFrame,
} from '@clipchat/protocol';
import { api, ApiError } from '../api';
import { Store } from '../store';
import type { Conversation, MediaMeta, Message, MessageKind, MessageSource, User } from '../types';
import { idb } from './idb';

/** How long after sending a text message it may be edited (the server's default; it decides). */
const EDIT_WINDOW_MS = DEFAULT_EDIT_WINDOW_MS;

export type Connection = 'connecting' | 'online' | 'offline';

/** A message not yet acknowledged by the server. */
export interface OutboxItem {
  clientId: string;
  conversationId: string;
  kind: MessageKind;
  text: string | null;
  source: MessageSource | null;
  /** Capture bytes still to upload (absent once uploaded). */
  blob?: Blob;
  mime?: string;
  media?: MediaMeta;
  /** Sent from my sticker library: the server reuses the stored media. */
  stickerId?: string;
  /** Id of the message this one answers. */
  replyTo?: string | null;
  state: 'sending' | 'failed';
  error?: string;
  createdAt: number;
}

export interface ChatState {
  me: User | null;
  conversations: Conversation[];
  activeId: string | null;
  messages: Record<string, Message[]>;
  /** Conversation id → true when older messages may exist. */
  hasMore: Record<string, boolean>;
  outbox: OutboxItem[];
  connection: Connection;
  /** Last error worth a banner (refused upload, lost connection…). */
  notice: string | null;
  /** What the composer is doing beside typing a new message: answering one, or editing one of mine. */
  action: ComposerAction | null;
  /** A message just jumped to (from a quote), highlighted briefly. */
  highlight: string | null;
}

/** The composer answers (`reply`) or rewrites (`edit`) the message `messageId` of `conversationId`. */
export interface ComposerAction {
  mode: 'reply' | 'edit';
  conversationId: string;
  messageId: string;
}

export const chat = new Store<ChatState>({
  me: null,
  conversations: [],
  activeId: null,
  messages: {},
  hasMore: {},
  outbox: [],
  connection: 'offline',
  notice: null,
  action: null,
  highlight: null,
});

const PAGE = 50;
/** The open conversation, restored after a reload of this tab. */
const ACTIVE_KEY = 'clipchat.active';
let socket: WebSocket | null = null;
let retry = 0;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let stopped = true;
/** The current socket had its `hello`: frames may be sent. */
let ready = false;
/** clientIds already sent on the current socket (cleared at each `hello`, so all are resent). */
let sentOnSocket = new Set<string>();
let pumping = false;
let pumpAgain = false;
let pumpTimer: ReturnType<typeof setTimeout> | null = null;
/**
 * Conversation id → a seq up to which this client is known to have every message it
 * needs: the top of a loaded page, the end of a sync, or the list's last seq for a
 * conversation whose messages were never loaded. Held messages extend it while they
 * follow on without a gap.
 */
const complete = new Map<string, number>();
/** Conversation id → lastSeq from the last conversation list (its unread count covers up to it). */
const listed = new Map<string, number>();
/**
 * Conversation id → a change number up to which this client holds every change of the
 * messages it holds (the next sync's `changes`): from `synced.revs`, or the list's
 * `lastRev` read before anything of the conversation was loaded.
 */
const revs = new Map<string, number>();

function raiseRev(conversationId: string, rev: number): void {
  if (rev > (revs.get(conversationId) ?? 0)) revs.set(conversationId, rev);
}

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
  return ready && socket?.readyState === WebSocket.OPEN ? socket : null;
}

/** Gives up on the current socket (it stopped answering, or the network is back) and connects again now. */
export function dropSocket(): void {
  if (stopped) return;
  const ws = socket;
  if (ws) {
    lost(ws);
    ws.close();
  }
  if (retryTimer) clearTimeout(retryTimer);
  retry = 0;
  connect();
}

/** Sends one frame of the protocol on the socket. */
function sendFrame(ws: WebSocket, frame: ClientFrame): void {
  ws.send(JSON.stringify(frame));
}

/** Sends a live-only frame now (never queued: a signal, lost when offline); false when not connected. */
export function sendLive(frame: ClientFrame): boolean {
  if (!ready || socket?.readyState !== WebSocket.OPEN) return false;
  sendFrame(socket, frame);
  return true;
}

const newClientId = () =>
  crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;

/** Merges messages by seq; a copy held with a higher `rev` (changed since) is kept. */
function mergeMessages(list: Message[] | undefined, add: Message[]): Message[] {
  const bySeq = new Map((list ?? []).map((m) => [m.seq, m]));
  for (const m of add) {
    const had = bySeq.get(m.seq);
    if (!had || had.id !== m.id || m.rev >= had.rev) bySeq.set(m.seq, m);
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** The highest seq of a conversation with no gap before it: where its sync starts. */
function contiguousSeq(conversationId: string, held: Message[] | undefined): number {
  let seq = complete.get(conversationId) ?? 0;
  for (const m of held ?? []) {
    if (m.seq <= seq) continue;
    if (m.seq !== seq + 1) break;
    seq = m.seq;
  }
  return seq;
}

function raiseComplete(conversationId: string, seq: number): void {
  if (seq > (complete.get(conversationId) ?? 0)) complete.set(conversationId, seq);
}

/** Conversations the last sync page did not reach: the next page asks for them first. */
let unreached = new Set<string>();
/** A sync refused for its rate, to be asked again after `retryAfter`. */
let syncRetry: ReturnType<typeof setTimeout> | null = null;

/**
 * Asks the server for everything after the gap-free part of each conversation held. The
 * server answers one bounded page; `synced.more` brings the next request (see `connect`).
 */
function syncAll(): void {
  if (!ready || socket?.readyState !== WebSocket.OPEN) return;
  if (syncRetry) {
    clearTimeout(syncRetry);
    syncRetry = null;
  }
  const s = chat.get();
  const ids = new Set([...s.conversations.map((c) => c.id), ...Object.keys(s.messages)]);
  // Unreached conversations first: a long list still moves on from page to page.
  const ordered = [
    ...[...ids].filter((id) => unreached.has(id)),
    ...[...ids].filter((id) => !unreached.has(id)),
  ];
  const since: Record<string, number> = {};
  const changes: Record<string, number> = {};
  for (const id of ordered) {
    since[id] = contiguousSeq(id, s.messages[id]);
    if (s.messages[id]?.length) changes[id] = revs.get(id) ?? 0;
  }
  if (ordered.length) sendFrame(socket, { type: 'sync', since, changes });
  unreached = new Set(ordered);
}

/** Adds messages that arrived (live, synced or paged) and updates the conversation list. */
function receive(msgs: Message[]): void {
  if (!msgs.length) return;
  const s = chat.get();
  const messages = { ...s.messages };
  const byConv = new Map<string, Message[]>();
  for (const m of msgs) byConv.set(m.conversationId, [...(byConv.get(m.conversationId) ?? []), m]);
  let unknownConv = false;
  const conversations = s.conversations.map((c) => ({ ...c }));
  for (const [cid, list] of byConv) {
    const heldBefore = new Set((messages[cid] ?? []).map((m) => m.seq));
    messages[cid] = mergeMessages(messages[cid], list);
    const c = conversations.find((x) => x.id === cid);
    if (!c) {
      unknownConv = true;
      continue;
    }
    const last = list[list.length - 1]!;
    const known = c.lastSeq ?? 0;
    if (!c.lastMessage || last.seq > c.lastMessage.seq) c.lastMessage = last;
    c.lastSeq = Math.max(known, last.seq);
    if (cid === s.activeId && document.visibilityState !== 'hidden') {
      c.readSeq = c.lastSeq;
      c.unread = 0;
    } else {
      // Only messages not held before and past what the list counted are new: a replay
      // never counts twice, and one missed live and synced later still counts.
      const floor = Math.max(listed.get(cid) ?? 0, c.readSeq ?? 0);
      const fresh = new Set(
        list
          .filter((m) => !heldBefore.has(m.seq) && m.seq > floor && m.senderId !== s.me?.id)
          .map((m) => m.seq),
      );
      c.unread = (c.unread ?? 0) + fresh.size;
    }
  }
  const ackedIds = new Set(msgs.filter((m) => m.senderId === s.me?.id).map((m) => m.clientId));
  const outbox = s.outbox.filter((o) => !ackedIds.has(o.clientId));
  for (const o of s.outbox) if (ackedIds.has(o.clientId)) void idb.delete(o.clientId);
  conversations.sort((a, b) => (b.lastMessage?.createdAt ?? 0) - (a.lastMessage?.createdAt ?? 0));
  chat.set({ messages, conversations, outbox });
  const active = chat.get().activeId;
  // Read only when seen: a hidden tab keeps them unread (the title counts them) until shown.
  if (active && byConv.has(active) && document.visibilityState !== 'hidden') markRead(active);
  // A system message (members, title) changed the conversation: the list has it as it now is.
  if (unknownConv || msgs.some((m) => m.kind === 'system'))
    void refreshConversations().catch(() => {});
}

/**
 * A message as it now is (an `update` frame, a sync replay or the answer to my own
 * change): replaces the copy held when newer, in place. A message not held is left for
 * history or sync to bring.
 */
function applyUpdate(m: Message): void {
  chat.set((s) => {
    const cid = m.conversationId;
    const list = s.messages[cid];
    const i = list ? list.findIndex((x) => x.id === m.id) : -1;
    let messages = s.messages;
    if (list && i >= 0 && m.rev > list[i]!.rev) {
      const next = list.slice();
      next[i] = m;
      messages = { ...s.messages, [cid]: next };
    }
    const conversations = s.conversations.map((c) =>
      c.id === cid && c.lastMessage?.id === m.id && m.rev > c.lastMessage.rev
        ? { ...c, lastMessage: m }
        : c,
    );
    const action = s.action?.messageId === m.id && m.deletedAt !== null ? null : s.action;
    return { messages, conversations, action };
  });
}

function markRead(conversationId: string): void {
  const c = chat.get().conversations.find((x) => x.id === conversationId);
  const seq = chat.get().messages[conversationId]?.at(-1)?.seq ?? c?.lastSeq ?? 0;
  if (seq && ready && socket?.readyState === WebSocket.OPEN)
    sendFrame(socket, { type: 'read', conversationId, seq });
}

/** Conversations listed before and missing now (I left or was removed): forgotten at once, closed when open. */
function dropGone(list: Conversation[]): void {
  const now = new Set(list.map((c) => c.id));
  const gone = chat
    .get()
    .conversations.filter((c) => !now.has(c.id))
    .map((c) => c.id);
  if (!gone.length) return;
  if (gone.includes(chat.get().activeId ?? '')) sessionStorage.removeItem(ACTIVE_KEY);
  chat.set((s) => ({
    activeId: s.activeId && gone.includes(s.activeId) ? null : s.activeId,
    messages: Object.fromEntries(Object.entries(s.messages).filter(([id]) => !gone.includes(id))),
    action: s.action && gone.includes(s.action.conversationId) ? null : s.action,
  }));
}

export async function refreshConversations(): Promise<void> {
  // Conversations of which nothing is held before the list is read: every change up to
  // the list's lastRev is in what gets loaded later.
  const heldBefore = new Set(
    Object.keys(chat.get().messages).filter((id) => chat.get().messages[id]?.length),
  );
  const list = await api.conversations();
  dropGone(list);
  const active = chat.get().activeId;
  const held = chat.get().messages;
  for (const c of list) {
    listed.set(c.id, c.lastSeq ?? 0);
    if (!heldBefore.has(c.id)) raiseRev(c.id, c.lastRev ?? 0);
    // Nothing held up to the list's last seq: the list accounts for all of it.
    if (!((held[c.id]?.[0]?.seq ?? Infinity) <= (c.lastSeq ?? 0)))
      raiseComplete(c.id, c.lastSeq ?? 0);
  }
  chat.set({ conversations: list.map((c) => (c.id === active ? { ...c, unread: 0 } : c)) });
}

/** Opens a conversation: loads its latest page and marks it read. */
export async function openConversation(id: string): Promise<void> {
  sessionStorage.setItem(ACTIVE_KEY, id);
  chat.set((s) => ({
    activeId: id,
    conversations: s.conversations.map((c) => (c.id === id ? { ...c, unread: 0 } : c)),
  }));
  // The list was read before this page: its lastRev is a change number the page includes.
  const lastRev = chat.get().conversations.find((c) => c.id === id)?.lastRev;
  const page = await api.messages(id, undefined, PAGE);
  if (!revs.has(id)) revs.set(id, lastRev ?? 0);
  // The latest page holds every message up to its last one.
  raiseComplete(id, page.messages.at(-1)?.seq ?? 0);
  chat.set((s) => ({
    messages: { ...s.messages, [id]: mergeMessages(s.messages[id], page.messages) },
    hasMore: { ...s.hasMore, [id]: page.before !== null },
  }));
  markRead(id);
}

/** Loads the page of messages before the oldest one shown. */
export async function loadOlder(id: string): Promise<void> {
  const oldest = chat.get().messages[id]?.[0]?.seq;
  if (!oldest || oldest <= 1) {
    chat.set((s) => ({ hasMore: { ...s.hasMore, [id]: false } }));
    return;
  }
  const page = await api.messages(id, oldest, PAGE);
  chat.set((s) => ({
    messages: { ...s.messages, [id]: mergeMessages(s.messages[id], page.messages) },
    hasMore: { ...s.hasMore, [id]: page.before !== null },
  }));
}

// ---- WebSocket ---------------------------------------------------------------

function wsUrl(): string {
  const u = new URL('ws', location.href.replace(/[^/]*$/, ''));
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = '/ws';
  return u.toString();
}

function connect(): void {
  if (stopped) return;
  chat.set({ connection: 'connecting' });
  const ws = new WebSocket(wsUrl());
  socket = ws;
  ready = false;
  ws.onmessage = (ev) => {
    if (socket !== ws) return;
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
    onFrame(frame);
    for (const l of frameListeners) l(frame);
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    lost(ws);
    if (stopped) return;
    const delay = Math.min(4000, 400 * 2 ** retry++);
    retryTimer = setTimeout(connect, delay);
  };
}

/** The socket `ws` is gone (closed, or given up on). */
function lost(ws: WebSocket): void {
  if (socket !== ws) return;
  socket = null;
  ready = false;
  if (stopped) return;
  chat.set({
    connection: 'offline',
    notice: 'Connection lost. Messages you send are kept and will go out when it is back.',
  });
}

/** Applies one checked frame from the server. */
function onFrame(msg: ServerFrame): void {
  switch (msg.type) {
    case 'hello':
      // The session is ready: replay what was missed while away, then resend everything
      // still unacknowledged, oldest first.
      retry = 0;
      ready = true;
      sentOnSocket = new Set();
      chat.set({ connection: 'online', notice: null });
      syncAll();
      void refreshConversations().catch(() => {});
      if (chat.get().activeId) void openConversation(chat.get().activeId!).catch(() => {});
      void pump();
      break;
    case 'resync':
      // Live delivery between server nodes was interrupted: sync every conversation.
      syncAll();
      break;
    case 'synced':
      for (const [cid, seq] of Object.entries(msg.until)) {
        unreached.delete(cid);
        if (Number.isSafeInteger(seq)) raiseComplete(cid, seq);
      }
      for (const [cid, rev] of Object.entries(msg.revs))
        if (Number.isSafeInteger(rev)) raiseRev(cid, rev);
      // One page of a longer replay: ask for the next from where we now stand.
      if (msg.more) syncAll();
      break;
    case 'message':
      receive([msg.message]);
      break;
    case 'update':
      applyUpdate(msg.message);
      break;
    case 'ack':
      ackOnly(msg.clientId, msg.conversationId);
      break;
    case 'read': {
      // Another member's read receipt says nothing of what I have read (alive.ts shows it).
      if (msg.user && msg.user.id !== chat.get().me?.id) break;
      const { conversationId: cid, seq } = msg;
      chat.set((s) => ({
        conversations: s.conversations.map((c) =>
          c.id === cid
            ? { ...c, readSeq: Math.max(c.readSeq, seq), unread: seq >= c.lastSeq ? 0 : c.unread }
            : c,
        ),
      }));
      break;
    }
    case 'error': {
      const err = msg.error;
      if (msg.frame === 'typing' || msg.frame === 'delivered') break; // hints, retried by alive.ts
      if (msg.frame === 'sync') {
        // A sync asked too often is asked again when allowed; other sync refusals (a
        // conversation left meanwhile) need nothing from the person.
        if (err.code === 'ERR_RATE_LIMITED' && !syncRetry) {
          syncRetry = setTimeout(
            () => {
              syncRetry = null;
              syncAll();
            },
            1000 * Math.max(1, Number(err.retryAfter) || 1),
          );
        }
        break;
      }
      if (msg.clientId) fail(msg.clientId, err.message || err.code || 'refused by the server');
      else chat.set({ notice: err.message || 'The server refused a request.' });
      break;
    }
    case 'conversation':
      void refreshConversations().catch(() => {});
      break;
    case 'pong':
      break;
  }
}

function ackOnly(clientId: string, conversationId: string): void {
  void idb.delete(clientId);
  chat.set((s) => ({ outbox: s.outbox.filter((o) => o.clientId !== clientId) }));
  // The stored message normally arrives as a `message` frame too; fetch it if it did not.
  setTimeout(() => {
    if (
      !chat.get().messages[conversationId]?.some((m) => m.clientId === clientId) &&
      chat.get().activeId === conversationId
    ) {
      void openConversation(conversationId).catch(() => {});
    }
  }, 1500);
}

function fail(clientId: string, error: string): void {
  chat.set((s) => ({
    outbox: s.outbox.map((o) =>
      o.clientId === clientId ? { ...o, state: 'failed' as const, error } : o,
    ),
  }));
  const item = chat.get().outbox.find((o) => o.clientId === clientId);
  if (item) void idb.put(clientId, item);
}

/** Starts the live connection and restores the outbox of the signed-in user. */
export async function startChat(me: User): Promise<void> {
  stopped = false;
  const saved = (await idb.all<OutboxItem & { owner?: string }>()).filter(
    (o) => !o.owner || o.owner === me.id,
  );
  chat.set({ me, outbox: saved.sort((a, b) => a.createdAt - b.createdAt) });
  await refreshConversations().catch(() => {});
  const last = sessionStorage.getItem(ACTIVE_KEY);
  if (last && chat.get().conversations.some((c) => c.id === last))
    void openConversation(last).catch(() => {});
  connect();
}

export function stopChat(): void {
  stopped = true;
  if (retryTimer) clearTimeout(retryTimer);
  socket?.close();
  socket = null;
  ready = false;
  sentOnSocket = new Set();
  if (pumpTimer) clearTimeout(pumpTimer);
  if (syncRetry) {
    clearTimeout(syncRetry);
    syncRetry = null;
  }
  unreached = new Set();
  complete.clear();
  listed.clear();
  revs.clear();
  chat.set({
    me: null,
    conversations: [],
    messages: {},
    activeId: null,
    outbox: [],
    connection: 'offline',
    action: null,
    highlight: null,
  });
}

// ---- Sending -------------------------------------------------------------------

/**
 * Sends the outbox over the ready socket, strictly in queue order: an item is sent only
 * after every older one still to deliver was sent on this socket (its upload done first).
 * Acks and refusals arrive later and never reorder anything: the server stores the
 * frames of one socket in arrival order.
 */
async function pump(): Promise<void> {
  if (pumping) {
    pumpAgain = true;
    return;
  }
  pumping = true;
  pumpAgain = false;
  try {
    for (;;) {
      const ws = socket;
      if (!ready || !ws || ws.readyState !== WebSocket.OPEN) return;
      const next = chat
        .get()
        .outbox.find((o) => o.state === 'sending' && !sentOnSocket.has(o.clientId));
      if (!next) return;
      const item = await prepare(next);
      if (item === 'failed') continue;
      if (item === 'offline') {
        // Stays queued, and holds back what follows; try again shortly.
        if (pumpTimer) clearTimeout(pumpTimer);
        pumpTimer = setTimeout(() => {
          pumpTimer = null;
          void pump();
        }, 2000);
        return;
      }
      // The socket went away during the upload: the next `hello` sends it.
      if (socket !== ws || !ready || ws.readyState !== WebSocket.OPEN) return;
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
      sentOnSocket.add(item.clientId);
    }
  } finally {
    pumping = false;
    if (pumpAgain) void pump();
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
  sentOnSocket.delete(clientId);
  void pump();
}

export function discardSend(clientId: string): void {
  void idb.delete(clientId);
  chat.set((s) => ({ outbox: s.outbox.filter((o) => o.clientId !== clientId) }));
}

// ---- Replies, reactions, edits, deletes ------------------------------------------

/** Says why a change was refused, in the banner. */
function refused(what: string, e: unknown): void {
  const why = e instanceof ApiError ? e.message : (e as Error).message;
  chat.set({ notice: `${what}: ${why}` });
}

/** The composer answers `m` (a menu item, a swipe). */
export function startReply(m: Message): void {
  if (m.deletedAt !== null) return;
  chat.set({ action: { mode: 'reply', conversationId: m.conversationId, messageId: m.id } });
}

/** The composer rewrites `m`, a text message of mine. */
export function startEdit(m: Message): void {
  if (!canEdit(m)) return;
  chat.set({ action: { mode: 'edit', conversationId: m.conversationId, messageId: m.id } });
}

export function cancelAction(): void {
  chat.set({ action: null });
}

/** Whether I may edit `m`: my own text message, not deleted, within the edit window. */
export function canEdit(m: Message): boolean {
  const me = chat.get().me;
  return (
    !!me &&
    m.senderId === me.id &&
    m.kind === 'text' &&
    m.deletedAt === null &&
    Date.now() - m.createdAt < EDIT_WINDOW_MS
  );
}

/** Whether I may delete `m` for everyone: my own, not yet deleted. */
export function canDelete(m: Message): boolean {
  const me = chat.get().me;
  return !!me && m.senderId === me.id && m.deletedAt === null;
}

/** Saves new text for a message of mine; true when the server took it. */
export async function editMessage(m: Message, text: string): Promise<boolean> {
  try {
    applyUpdate(await api.editMessage(m.id, text));
    chat.set((s) => ({ action: s.action?.messageId === m.id ? null : s.action }));
    return true;
  } catch (e) {
    refused('Could not edit the message', e);
    return false;
  }
}

/** Deletes a message of mine for everyone (it stays in place as a tombstone). */
export async function deleteMessage(m: Message): Promise<void> {
  try {
    const now = await api.deleteMessage(m.id);
    if (now) applyUpdate(now);
  } catch (e) {
    refused('Could not delete the message', e);
  }
}

/** Adds my reaction `emoji` to `m`, or removes it when I already reacted so. */
export async function toggleReaction(m: Message, emoji: string): Promise<void> {
  const me = chat.get().me;
  const held = chat.get().messages[m.conversationId]?.find((x) => x.id === m.id) ?? m;
  const mine =
    !!me && held.reactions.some((r) => r.emoji === emoji && r.users.includes(me.username));
  try {
    const now = mine ? await api.unreact(m.id, emoji) : await api.react(m.id, emoji);
    if (now) applyUpdate(now);
  } catch (e) {
    refused(mine ? 'Could not remove the reaction' : 'Could not add the reaction', e);
  }
}

/**
 * Brings message `id` of the open conversation into view and highlights it briefly,
 * loading older pages until it is there (a quote of an old message).
 */
export async function jumpTo(conversationId: string, id: string): Promise<boolean> {
  for (let pages = 0; pages < 100; pages++) {
    if (chat.get().messages[conversationId]?.some((m) => m.id === id)) {
      chat.set({ highlight: id });
      setTimeout(() => {
        if (chat.get().highlight === id) chat.set({ highlight: null });
      }, 1600);
      return true;
    }
    if (chat.get().hasMore[conversationId] === false || chat.get().activeId !== conversationId)
      return false;
    const before = chat.get().messages[conversationId]?.[0]?.seq;
    await loadOlder(conversationId);
    if (chat.get().messages[conversationId]?.[0]?.seq === before) return false;
  }
  return false;
}

/**
 * Adds a page of history loaded out of order (around a search result, or filling a gap
 * between held messages) to what is held. `older`: messages before the page may exist.
 */
export function addHistory(conversationId: string, page: Message[], older: boolean): void {
  chat.set((s) => {
    const held = s.messages[conversationId];
    const first = held?.[0]?.seq ?? Infinity;
    const hasMore =
      (page[0]?.seq ?? Infinity) < first ? { ...s.hasMore, [conversationId]: older } : s.hasMore;
    return { messages: { ...s.messages, [conversationId]: mergeMessages(held, page) }, hasMore };
  });
}
