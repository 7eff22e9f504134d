/**
 * What makes a conversation feel alive: who is typing, who is online (and when they were
 * last), how far the others got my messages (delivered, read), and whether this page is
 * connected at all.
 *
 * - Typing: the composer calls {@link typingNow}; a `typing` frame goes out at most every
 *   TYPING_INTERVAL_MS per conversation. Others' frames show for TYPING_SHOW_MS after the
 *   last, and end at once when that person's message arrives.
 * - Presence and receipts: the conversation list carries each member's `online`,
 *   `lastSeen`, `readSeq` and `deliveredSeq`; `presence`, `read` (with `user`) and
 *   `delivered` frames arriving after it are kept here and merged with it (the newer
 *   `lastSeen`, the higher seq), so a list fetched while a frame was on its way never
 *   hides the frame.
 * - Delivered: messages of others that reach this page (live, synced, loaded) are
 *   reported with `delivered` frames, at most one per conversation every
 *   DELIVERED_INTERVAL_MS and a few a second in all (the server's `markDelivered` limit).
 * - Liveness: liveness.ts (heartbeat, the browser's online/offline).
 */
import {
  DELIVERED_INTERVAL_MS,
  TYPING_INTERVAL_MS,
  TYPING_SHOW_MS,
  type ServerFrame,
} from '@clipchat/protocol';
import { Store } from '../store';
import type { Conversation, Message } from '../types';
import { liveSocket, onServerFrame } from './connection';
import { chat } from './state';

type Member = Conversation['members'][number];

export interface AliveState {
  /** conversationId → userId → who is typing there and until when (ms). */
  typing: Record<string, Record<string, { username: string; until: number }>>;
  /** userId → presence from the latest `presence` frame. */
  presence: Record<string, { online: boolean; lastSeen: number | null }>;
  /** `conversationId userId` → positions from receipt frames. */
  receipts: Record<string, { read: number; delivered: number }>;
  /** The browser says it has a network (`navigator.onLine`, `online`/`offline` events). */
  network: boolean;
  /** The socket is open but its heartbeat went unanswered (liveness.ts). */
  stale: boolean;
  /** The page was connected at least once (a lost connection then reads "Reconnecting…"). */
  wasOnline: boolean;
}

export const alive = new Store<AliveState>({
  typing: {},
  presence: {},
  receipts: {},
  network: typeof navigator === 'undefined' ? true : navigator.onLine,
  stale: false,
  wasOnline: false,
});

const key = (conversationId: string, userId: string) => `${conversationId} ${userId}`;

// ---- Typing -----------------------------------------------------------------------

/** conversationId → when my last `typing` frame went out. */
const typingSent = new Map<string, number>();

/** I am composing in `conversationId`: tells the others, at most every TYPING_INTERVAL_MS. */
export function typingNow(conversationId: string): void {
  const ws = liveSocket();
  const now = Date.now();
  if (!ws || now - (typingSent.get(conversationId) ?? -Infinity) < TYPING_INTERVAL_MS) return;
  typingSent.set(conversationId, now);
  ws.send(JSON.stringify({ type: 'typing', conversationId }));
}

let pruneTimer: ReturnType<typeof setTimeout> | null = null;
/** Drops typing entries whose time is up, and waits for the next one to end. */
function pruneTyping(): void {
  if (pruneTimer) {
    clearTimeout(pruneTimer);
    pruneTimer = null;
  }
  const now = Date.now();
  let next = Infinity;
  const typing: AliveState['typing'] = {};
  for (const [cid, users] of Object.entries(alive.get().typing)) {
    const kept = Object.fromEntries(Object.entries(users).filter(([, t]) => t.until > now));
    for (const t of Object.values(kept)) next = Math.min(next, t.until);
    if (Object.keys(kept).length) typing[cid] = kept;
  }
  alive.set({ typing });
  if (next < Infinity) pruneTimer = setTimeout(pruneTyping, next - now + 20);
}

function setTyping(
  conversationId: string,
  userId: string,
  entry: { username: string; until: number } | null,
): void {
  const users = { ...alive.get().typing[conversationId] };
  if (entry) users[userId] = entry;
  else if (users[userId]) delete users[userId];
  else return;
  alive.set((s) => ({ typing: { ...s.typing, [conversationId]: users } }));
  pruneTyping();
}

/** Usernames typing in `conversationId` now, in the order they started. */
export function typersOf(s: AliveState, conversationId: string): string[] {
  const now = Date.now();
  return Object.values(s.typing[conversationId] ?? {})
    .filter((t) => t.until > now)
    .map((t) => t.username);
}

/** "rita is typing…", "rita and sam are typing…", "4 people are typing…". */
export function typingText(names: string[]): string {
  if (!names.length) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length <= 3) return `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are typing…`;
  return `${names.length} people are typing…`;
}

// ---- Presence and receipts ----------------------------------------------------------

/** A member's presence: the list's, or a later `presence` frame's (the newer `lastSeen`). */
export function presenceOf(s: AliveState, m: Member): { online: boolean; lastSeen: number | null } {
  const p = s.presence[m.id];
  if (!p) return { online: m.online, lastSeen: m.lastSeen };
  if (m.lastSeen !== null && (p.lastSeen ?? 0) < m.lastSeen)
    return { online: m.online, lastSeen: m.lastSeen };
  return p;
}

/** How far a member has read and got a conversation: the list's or a later receipt's (read counts as delivered). */
export function positionOf(
  s: AliveState,
  conversationId: string,
  m: Member,
): { read: number; delivered: number } {
  const r = s.receipts[key(conversationId, m.id)];
  const read = Math.max(m.readSeq, r?.read ?? 0);
  return { read, delivered: Math.max(read, m.deliveredSeq ?? 0, r?.delivered ?? 0) };
}

function raiseReceipt(
  conversationId: string,
  userId: string,
  what: 'read' | 'delivered',
  seq: number,
): void {
  alive.set((s) => {
    const k = key(conversationId, userId);
    const had = s.receipts[k] ?? { read: 0, delivered: 0 };
    const next = { ...had, [what]: Math.max(had[what], seq) };
    next.delivered = Math.max(next.delivered, next.read);
    return { receipts: { ...s.receipts, [k]: next } };
  });
}

// ---- Delivered ------------------------------------------------------------------------

/** Frames sent per flush (one a second): 5 / s stays under the server's 60 / 10 s. */
const DELIVERED_PER_FLUSH = 5;
/** conversationId → the highest seq reported (or known to the server) as delivered to me. */
const deliveredSent = new Map<string, number>();
/** conversationId → the highest seq to report. */
const deliveredDue = new Map<string, number>();
/** conversationId → when its last `delivered` frame went out. */
const deliveredAt = new Map<string, number>();
let flushTimer: ReturnType<typeof setTimeout> | null = null;
let pausedUntil = 0;
/** Highest seq from others in each held list (lists are replaced when they change). */
const highestFromOthers = new WeakMap<Message[], number>();

function highest(list: Message[], meId: string): number {
  let h = highestFromOthers.get(list);
  if (h === undefined) {
    h = 0;
    for (const m of list) if (m.senderId !== meId && m.seq > h) h = m.seq;
    highestFromOthers.set(list, h);
  }
  return h;
}

/** Notes what reached this page that the server does not know yet, and schedules the report. */
function noteDelivered(): void {
  const s = chat.get();
  const me = s.me?.id;
  if (!me) return;
  for (const c of s.conversations) {
    const mine = c.members.find((m) => m.id === me);
    const known = Math.max(
      deliveredSent.get(c.id) ?? 0,
      c.readSeq,
      mine?.deliveredSeq ?? 0,
      mine?.readSeq ?? 0,
    );
    let got = s.messages[c.id] ? highest(s.messages[c.id]!, me) : 0;
    if (c.lastMessage && c.lastMessage.senderId !== me) got = Math.max(got, c.lastMessage.seq);
    if (got > known && got > (deliveredDue.get(c.id) ?? 0)) deliveredDue.set(c.id, got);
  }
  if (deliveredDue.size) scheduleFlush(0);
}

function scheduleFlush(ms: number): void {
  if (flushTimer) return;
  flushTimer = setTimeout(flushDelivered, Math.max(ms, pausedUntil - Date.now(), 0));
}

function flushDelivered(): void {
  flushTimer = null;
  const ws = liveSocket();
  if (!ws) return; // sent after the next hello
  const now = Date.now();
  let sent = 0;
  let wait = Infinity;
  for (const [cid, seq] of deliveredDue) {
    const since = now - (deliveredAt.get(cid) ?? -Infinity);
    if (since < DELIVERED_INTERVAL_MS) {
      wait = Math.min(wait, DELIVERED_INTERVAL_MS - since);
      continue;
    }
    if (sent >= DELIVERED_PER_FLUSH) {
      wait = Math.min(wait, DELIVERED_INTERVAL_MS);
      break;
    }
    if (seq > (deliveredSent.get(cid) ?? 0)) {
      ws.send(JSON.stringify({ type: 'delivered', conversationId: cid, seq }));
      deliveredSent.set(cid, seq);
      deliveredAt.set(cid, now);
      sent++;
    }
    deliveredDue.delete(cid);
  }
  if (deliveredDue.size) scheduleFlush(wait === Infinity ? DELIVERED_INTERVAL_MS : wait);
}

// ---- Frames ---------------------------------------------------------------------------

function onFrame(f: ServerFrame): void {
  const me = chat.get().me?.id;
  switch (f.type) {
    case 'typing':
      if (f.user.id !== me)
        setTyping(f.conversationId, f.user.id, {
          username: f.user.username,
          until: Date.now() + TYPING_SHOW_MS,
        });
      break;
    case 'message':
      // Their message is what they were typing.
      if (alive.get().typing[f.message.conversationId]?.[f.message.senderId])
        setTyping(f.message.conversationId, f.message.senderId, null);
      break;
    case 'presence':
      alive.set((s) => ({
        presence: { ...s.presence, [f.user.id]: { online: f.online, lastSeen: f.lastSeen } },
      }));
      break;
    case 'read':
      if (f.user) raiseReceipt(f.conversationId, f.user.id, 'read', f.seq);
      break;
    case 'delivered':
      raiseReceipt(f.conversationId, f.user.id, 'delivered', f.seq);
      break;
    case 'hello':
      alive.set({ wasOnline: true });
      // What was reported on the lost socket may not have arrived: the list says what did.
      deliveredSent.clear();
      noteDelivered();
      break;
    case 'error':
      if (f.frame === 'delivered' && f.error.code === 'ERR_RATE_LIMITED') {
        // Report everything again once allowed (the server keeps the highest).
        pausedUntil = Date.now() + 1000 * Math.max(1, Number(f.error.retryAfter) || 1);
        deliveredSent.clear();
        deliveredAt.clear();
        noteDelivered();
      }
      break;
  }
}

let started = false;
/** Starts listening (once per page). */
export function startAlive(): void {
  if (started) return;
  started = true;
  onServerFrame(onFrame);
  chat.subscribe(noteDelivered);
}

/** Forgets everything of the signed-out user. */
export function resetAlive(): void {
  typingSent.clear();
  deliveredSent.clear();
  deliveredDue.clear();
  deliveredAt.clear();
  alive.set({ typing: {}, presence: {}, receipts: {}, stale: false, wasOnline: false });
}
