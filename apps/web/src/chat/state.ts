/**
 * The chat model: conversations, messages, the live WebSocket and the outbox.
 *
 * Delivery: every outgoing message gets a `clientId` and is written to the outbox
 * (IndexedDB) before anything is sent. It is sent over the WebSocket when connected and
 * re-sent with the same `clientId` after every reconnect until the server acks it; the
 * server turns repeats into the one message, so resending is always safe. Captures are
 * kept as bytes in the outbox until their upload succeeds.
 */
import { api, ApiError } from '../api';
import { Store } from '../store';
import type { Conversation, MediaMeta, Message, MessageKind, MessageSource, User } from '../types';
import { idb } from './idb';

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
}

export const chat = new Store<ChatState>({
  me: null, conversations: [], activeId: null, messages: {}, hasMore: {}, outbox: [], connection: 'offline', notice: null,
});

const PAGE = 50;
/** The open conversation, restored after a reload of this tab. */
const ACTIVE_KEY = 'clipchat.active';
let socket: WebSocket | null = null;
let retry = 0;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let stopped = true;

const newClientId = () => (crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`);

function mergeMessages(list: Message[] | undefined, add: Message[]): Message[] {
  const bySeq = new Map((list ?? []).map((m) => [m.seq, m]));
  for (const m of add) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
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
    messages[cid] = mergeMessages(messages[cid], list);
    const c = conversations.find((x) => x.id === cid);
    if (!c) { unknownConv = true; continue; }
    const last = list[list.length - 1]!;
    const known = c.lastSeq ?? 0;
    if (!c.lastMessage || last.seq > c.lastMessage.seq) c.lastMessage = last;
    c.lastSeq = Math.max(known, last.seq);
    if (cid === s.activeId && document.visibilityState !== 'hidden') {
      c.readSeq = c.lastSeq;
      c.unread = 0;
    } else {
      // Only messages past what the list already knew are new: a replay never counts twice.
      c.unread = (c.unread ?? 0) + list.filter((m) => m.seq > Math.max(known, c.readSeq ?? 0) && m.senderId !== s.me?.id).length;
    }
  }
  const ackedIds = new Set(msgs.filter((m) => m.senderId === s.me?.id).map((m) => m.clientId));
  const outbox = s.outbox.filter((o) => !ackedIds.has(o.clientId));
  for (const o of s.outbox) if (ackedIds.has(o.clientId)) void idb.delete(o.clientId);
  conversations.sort((a, b) => (b.lastMessage?.createdAt ?? 0) - (a.lastMessage?.createdAt ?? 0));
  chat.set({ messages, conversations, outbox });
  const active = chat.get().activeId;
  if (active && byConv.has(active)) markRead(active);
  if (unknownConv) void refreshConversations();
}

function markRead(conversationId: string): void {
  const c = chat.get().conversations.find((x) => x.id === conversationId);
  const seq = chat.get().messages[conversationId]?.at(-1)?.seq ?? c?.lastSeq ?? 0;
  if (seq && socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'read', conversationId, seq }));
}

export async function refreshConversations(): Promise<void> {
  const list = await api.conversations();
  const active = chat.get().activeId;
  chat.set({ conversations: list.map((c) => (c.id === active ? { ...c, unread: 0 } : c)) });
}

/** Opens a conversation: loads its latest page and marks it read. */
export async function openConversation(id: string): Promise<void> {
  sessionStorage.setItem(ACTIVE_KEY, id);
  chat.set((s) => ({ activeId: id, conversations: s.conversations.map((c) => (c.id === id ? { ...c, unread: 0 } : c)) }));
  const page = await api.messages(id, undefined, PAGE);
  chat.set((s) => ({ messages: { ...s.messages, [id]: mergeMessages(s.messages[id], page.messages) }, hasMore: { ...s.hasMore, [id]: page.before !== null } }));
  markRead(id);
}

/** Loads the page of messages before the oldest one shown. */
export async function loadOlder(id: string): Promise<void> {
  const oldest = chat.get().messages[id]?.[0]?.seq;
  if (!oldest || oldest <= 1) { chat.set((s) => ({ hasMore: { ...s.hasMore, [id]: false } })); return; }
  const page = await api.messages(id, oldest, PAGE);
  chat.set((s) => ({ messages: { ...s.messages, [id]: mergeMessages(s.messages[id], page.messages) }, hasMore: { ...s.hasMore, [id]: page.before !== null } }));
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
  ws.onopen = () => {
    retry = 0;
    chat.set({ connection: 'online', notice: null });
    // Replay what was missed while away, then resend everything still unacknowledged.
    const since: Record<string, number> = {};
    for (const c of chat.get().conversations) since[c.id] = chat.get().messages[c.id]?.at(-1)?.seq ?? c.lastSeq ?? 0;
    ws.send(JSON.stringify({ type: 'sync', since }));
    void refreshConversations().catch(() => {});
    const active = chat.get().activeId;
    if (active) void openConversation(active).catch(() => {});
    for (const item of chat.get().outbox) if (item.state === 'sending') void deliver(item);
  };
  ws.onmessage = (ev) => {
    let msg: Record<string, unknown>;
    try { msg = JSON.parse(String(ev.data)); } catch { return; }
    switch (msg.type) {
      case 'message':
        receive([(msg.message ?? msg) as Message]);
        break;
      case 'ack':
        ackOnly(String(msg.clientId), String(msg.conversationId));
        break;
      case 'read': {
        const cid = String(msg.conversationId);
        const seq = Number(msg.seq);
        chat.set((s) => ({ conversations: s.conversations.map((c) => (c.id === cid ? { ...c, readSeq: Math.max(c.readSeq, seq), unread: seq >= c.lastSeq ? 0 : c.unread } : c)) }));
        break;
      }
      case 'error': {
        const err = (msg.error ?? msg) as { code?: string; message?: string };
        if (msg.clientId) fail(String(msg.clientId), err.message ?? err.code ?? 'refused by the server');
        else chat.set({ notice: err.message ?? 'The server refused a request.' });
        break;
      }
      case 'conversation':
        void refreshConversations().catch(() => {});
        break;
    }
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    if (stopped) return;
    chat.set({ connection: 'offline', notice: 'Connection lost. Messages you send are kept and will go out when it is back.' });
    const delay = Math.min(4000, 400 * 2 ** retry++);
    retryTimer = setTimeout(connect, delay);
  };
}

function ackOnly(clientId: string, conversationId: string): void {
  void idb.delete(clientId);
  chat.set((s) => ({ outbox: s.outbox.filter((o) => o.clientId !== clientId) }));
  // The stored message normally arrives as a `message` frame too; fetch it if it did not.
  setTimeout(() => {
    if (!chat.get().messages[conversationId]?.some((m) => m.clientId === clientId) && chat.get().activeId === conversationId) {
      void openConversation(conversationId).catch(() => {});
    }
  }, 1500);
}

function fail(clientId: string, error: string): void {
  chat.set((s) => ({ outbox: s.outbox.map((o) => (o.clientId === clientId ? { ...o, state: 'failed' as const, error } : o)) }));
  const item = chat.get().outbox.find((o) => o.clientId === clientId);
  if (item) void idb.put(clientId, item);
}

/** Starts the live connection and restores the outbox of the signed-in user. */
export async function startChat(me: User): Promise<void> {
  stopped = false;
  const saved = (await idb.all<OutboxItem & { owner?: string }>()).filter((o) => !o.owner || o.owner === me.id);
  chat.set({ me, outbox: saved.sort((a, b) => a.createdAt - b.createdAt) });
  await refreshConversations().catch(() => {});
  const last = sessionStorage.getItem(ACTIVE_KEY);
  if (last && chat.get().conversations.some((c) => c.id === last)) void openConversation(last).catch(() => {});
  connect();
}

export function stopChat(): void {
  stopped = true;
  if (retryTimer) clearTimeout(retryTimer);
  socket?.close();
  socket = null;
  chat.set({ me: null, conversations: [], messages: {}, activeId: null, outbox: [], connection: 'offline' });
}

// ---- Sending -------------------------------------------------------------------

async function deliver(item: OutboxItem): Promise<void> {
  try {
    if (item.blob && !item.media) {
      const media = await api.upload(item.blob, item.mime ?? item.blob.type);
      item = { ...item, media, blob: undefined };
      chat.set((s) => ({ outbox: s.outbox.map((o) => (o.clientId === item.clientId ? item : o)) }));
      await idb.put(item.clientId, { ...item, owner: chat.get().me?.id });
    }
  } catch (e) {
    if (e instanceof ApiError && e.offline) return; // stays queued; sent on reconnect
    const why = e instanceof ApiError ? `Upload refused: ${e.message}` : `Upload failed: ${(e as Error).message}`;
    fail(item.clientId, why);
    chat.set({ notice: why });
    return;
  }
  const body = {
    clientId: item.clientId, kind: item.kind, text: item.text ?? undefined,
    mediaId: item.stickerId ? undefined : item.media?.id, stickerId: item.stickerId, source: item.source ?? undefined,
  };
  const frame = { type: 'send', conversationId: item.conversationId, ...body };
  if (socket?.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(frame));
    return;
  }
  // No socket: try the REST route (same clientId, so never a duplicate); stay queued when offline.
  try {
    const m = await api.postMessage(item.conversationId, body);
    if (m?.seq) receive([m]);
  } catch (e) {
    if (e instanceof ApiError && !e.offline && e.status < 500) fail(item.clientId, e.message);
  }
}

/** Queues a message (persisted first), then sends it. */
export async function send(conversationId: string, body: { kind: MessageKind; text?: string | null; blob?: Blob; mime?: string; media?: MediaMeta; stickerId?: string; source?: MessageSource | null }): Promise<void> {
  const item: OutboxItem = {
    clientId: newClientId(), conversationId, kind: body.kind, text: body.text ?? null, source: body.source ?? null,
    blob: body.blob, mime: body.mime, media: body.media, stickerId: body.stickerId, state: 'sending', createdAt: Date.now(),
  };
  await idb.put(item.clientId, { ...item, owner: chat.get().me?.id });
  chat.set((s) => ({ outbox: [...s.outbox, item] }));
  await deliver(item);
}

/** Tries a failed message again (same clientId). */
export function retrySend(clientId: string): void {
  const item = chat.get().outbox.find((o) => o.clientId === clientId);
  if (!item) return;
  const again = { ...item, state: 'sending' as const, error: undefined };
  chat.set((s) => ({ outbox: s.outbox.map((o) => (o.clientId === clientId ? again : o)) }));
  void deliver(again);
}

export function discardSend(clientId: string): void {
  void idb.delete(clientId);
  chat.set((s) => ({ outbox: s.outbox.filter((o) => o.clientId !== clientId) }));
}
