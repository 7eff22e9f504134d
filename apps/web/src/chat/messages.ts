/**
 * What this client holds of each conversation: the conversation list, pages of history,
 * messages arriving live or by sync, and the changes to them.
 *
 * Changes: a message I hold may be edited, reacted to or deleted. Each change comes as an
 * `update` frame with the whole message as it now is; a copy replaces the one held when
 * its `rev` is higher, in place (order is by seq and never changes).
 *
 * Unread: a conversation's count is the list's, plus messages of others that arrive past
 * what the list counted and were not held before (a replay never counts twice); the open
 * conversation of a visible tab is read at once.
 */
import type { ReadUpdateFrame } from '@clipchat/protocol';
import { api } from '../api';
import type { Conversation, Message } from '../types';
import { liveSocket, sendFrame } from './connection';
import { chat, mergeMessages } from './model';
import { listedSeq, noteListed, raiseComplete, raiseRev, startRevs } from './sync';

const PAGE = 50;
/** The open conversation, restored after a reload of this tab. */
const ACTIVE_KEY = 'clipchat.active';

/** Adds messages that arrived (live or synced) and updates the conversation list. */
export function receive(msgs: Message[]): void {
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
      const floor = Math.max(listedSeq(cid), c.readSeq ?? 0);
      const fresh = new Set(
        list
          .filter((m) => !heldBefore.has(m.seq) && m.seq > floor && m.senderId !== s.me?.id)
          .map((m) => m.seq),
      );
      c.unread = (c.unread ?? 0) + fresh.size;
    }
  }
  conversations.sort((a, b) => (b.lastMessage?.createdAt ?? 0) - (a.lastMessage?.createdAt ?? 0));
  chat.set({ messages, conversations });
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
export function applyUpdate(m: Message): void {
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

/** A read position moved: mine (from this or another device) lowers the unread count. */
export function readMoved(f: ReadUpdateFrame): void {
  // Another member's read receipt says nothing of what I have read (alive.ts shows it).
  if (f.user && f.user.id !== chat.get().me?.id) return;
  const { conversationId: cid, seq } = f;
  chat.set((s) => ({
    conversations: s.conversations.map((c) =>
      c.id === cid
        ? { ...c, readSeq: Math.max(c.readSeq, seq), unread: seq >= c.lastSeq ? 0 : c.unread }
        : c,
    ),
  }));
}

function markRead(conversationId: string): void {
  const c = chat.get().conversations.find((x) => x.id === conversationId);
  const seq = chat.get().messages[conversationId]?.at(-1)?.seq ?? c?.lastSeq ?? 0;
  const ws = liveSocket();
  if (seq && ws) sendFrame(ws, { type: 'read', conversationId, seq });
}

/**
 * My message `clientId` was stored: it normally arrives as a `message` frame too; when
 * it has not after 1.5 s and its conversation is open, the latest page brings it.
 */
export function expectStored(conversationId: string, clientId: string): void {
  setTimeout(() => {
    if (
      !chat.get().messages[conversationId]?.some((m) => m.clientId === clientId) &&
      chat.get().activeId === conversationId
    ) {
      void openConversation(conversationId).catch(() => {});
    }
  }, 1500);
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
    noteListed(c.id, c.lastSeq ?? 0);
    if (!heldBefore.has(c.id)) raiseRev(c.id, c.lastRev ?? 0);
    // Nothing held up to the list's last seq: the list accounts for all of it.
    if (!((held[c.id]?.[0]?.seq ?? Infinity) <= (c.lastSeq ?? 0)))
      raiseComplete(c.id, c.lastSeq ?? 0);
  }
  chat.set({ conversations: list.map((c) => (c.id === active ? { ...c, unread: 0 } : c)) });
}

/** Opens the conversation that was open before this tab reloaded, if it is still listed. */
export function reopenLast(): void {
  const last = sessionStorage.getItem(ACTIVE_KEY);
  if (last && chat.get().conversations.some((c) => c.id === last))
    void openConversation(last).catch(() => {});
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
  startRevs(id, lastRev ?? 0);
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
