/**
 * Telling the person about messages while they look elsewhere.
 *
 * - The tab title ("(3) Clipchat") and the favicon badge carry the number of unread
 *   messages of conversations that are not muted.
 * - With permission (asked only from a click on the bell, never on load), a message from
 *   someone else arriving while the tab is hidden shows a desktop notification with the
 *   sender and a preview (a still says "Still", a sticker "Sticker"); clicking it focuses
 *   the tab and opens the conversation. One notification per conversation is kept (`tag`).
 * - Mute is per conversation and per device (localStorage): a muted conversation neither
 *   notifies nor counts in the title.
 *
 * New messages are found by watching the conversation list's last message: a seq higher
 * than the one seen before is new. What the first list after sign-in holds is not.
 */
import { Store } from '../store';
import type { Conversation, Message } from '../types';
import { titleOf } from './ConversationList';
import { chat, openConversation } from './state';

const MUTE_KEY = 'clipchat.muted';
const BASE_TITLE = 'Clipchat';
/** Older messages (a long replay after a reconnect) are counted, not notified. */
const NOTIFY_MAX_AGE_MS = 5 * 60_000;

function readMuted(): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(MUTE_KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Notification permission as the bell shows it, and the muted conversations of this device. */
export const notifyState = new Store<{
  permission: NotificationPermission | 'unsupported';
  muted: string[];
}>({
  permission: typeof Notification === 'undefined' ? 'unsupported' : Notification.permission,
  muted: readMuted(),
});

export function isMuted(conversationId: string): boolean {
  return notifyState.get().muted.includes(conversationId);
}

export function setMuted(conversationId: string, muted: boolean): void {
  const now = notifyState.get().muted.filter((id) => id !== conversationId);
  if (muted) now.push(conversationId);
  localStorage.setItem(MUTE_KEY, JSON.stringify(now));
  notifyState.set({ muted: now });
  showUnread();
}

/** Asks for permission to notify; call from a click. */
export async function askPermission(): Promise<void> {
  if (typeof Notification === 'undefined') return;
  await Notification.requestPermission();
  // What the browser holds now (the answer may have changed since, in its settings).
  notifyState.set({ permission: Notification.permission });
}

/** Unread messages of the conversations not muted. */
function unreadCount(list: Conversation[]): number {
  return list.reduce((n, c) => n + (isMuted(c.id) ? 0 : Math.max(0, c.unread ?? 0)), 0);
}

const LOGO =
  "<rect width='16' height='16' rx='4' fill='#4f6df5'/><path d='M5 4l7 4-7 4z' fill='white'/>";
let iconShown = -1;

/** The favicon: the logo, with a red badge and the count when there are unread messages. */
function favicon(n: number): string {
  const label = n > 99 ? '99+' : String(n);
  const badge =
    n > 0
      ? `<circle cx='11.5' cy='4.5' r='4.5' fill='#e5484d'/><text x='11.5' y='6.6' font-size='${label.length > 1 ? 4.6 : 6.4}' font-family='sans-serif' font-weight='bold' text-anchor='middle' fill='white'>${label}</text>`
      : '';
  return `data:image/svg+xml,${encodeURIComponent(`<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>${LOGO}${badge}</svg>`)}`;
}

function showUnread(): void {
  const n = unreadCount(chat.get().conversations);
  const title = n > 0 ? `(${n}) ${BASE_TITLE}` : BASE_TITLE;
  if (document.title !== title) document.title = title;
  if (n === iconShown) return;
  iconShown = n;
  let link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (!link) {
    link = document.createElement('link');
    link.rel = 'icon';
    document.head.append(link);
  }
  link.href = favicon(n);
  link.dataset.unread = String(n);
}

/** What a notification says of a message. */
function previewOf(m: Message): string {
  if (m.deletedAt !== null) return 'message deleted';
  switch (m.kind) {
    case 'text':
      return (m.text ?? '').length > 140 ? `${m.text!.slice(0, 139)}…` : (m.text ?? '');
    case 'still':
      return 'Still';
    case 'sticker':
      return 'Sticker';
    case 'video':
      return 'Video';
    default:
      return m.text ?? '';
  }
}

function notify(c: Conversation, m: Message): void {
  const title = c.kind === 'group' ? `${m.sender} in ${titleOf(c, chat.get().me?.id)}` : m.sender;
  try {
    const n = new Notification(title, {
      body: previewOf(m),
      tag: c.id,
      data: { conversationId: c.id, seq: m.seq },
    });
    n.onclick = () => {
      window.focus();
      n.close();
      void openConversation(c.id).catch(() => {});
    };
  } catch (e) {
    // Some browsers allow notifications only from a service worker: the title still counts.
    console.warn('Clipchat: could not show a notification:', e);
  }
}

/** Conversation id → the highest seq already seen in the list. */
const seen = new Map<string, number>();
let primed = false;

function onChange(): void {
  const s = chat.get();
  showUnread();
  if (!s.me) {
    seen.clear();
    primed = false;
    return;
  }
  const hidden = document.visibilityState === 'hidden';
  for (const c of s.conversations) {
    const m = c.lastMessage;
    const seq = m?.seq ?? 0;
    const before = seen.get(c.id);
    if (before !== undefined && seq <= before) continue;
    seen.set(c.id, seq);
    if (!primed || (before === undefined && c.createdAt < Date.now() - NOTIFY_MAX_AGE_MS)) continue;
    if (!m || m.senderId === s.me.id || m.kind === 'system' || m.deletedAt !== null) continue;
    if (
      !hidden ||
      isMuted(c.id) ||
      typeof Notification === 'undefined' ||
      Notification.permission !== 'granted'
    )
      continue;
    if (Date.now() - m.createdAt > NOTIFY_MAX_AGE_MS) continue;
    notify(c, m);
  }
  if (s.conversations.length || s.connection === 'online') primed = true;
}

let started = false;

/** Starts watching the chat for the title, the favicon and notifications (once). */
export function startNotifications(): void {
  if (started) return;
  started = true;
  chat.subscribe(onChange);
  onChange();
  // Back to the tab: the open conversation is read now.
  document.addEventListener('visibilitychange', () => {
    const id = chat.get().activeId;
    if (
      document.visibilityState === 'visible' &&
      id &&
      (chat.get().conversations.find((c) => c.id === id)?.unread ?? 0) > 0
    ) {
      void openConversation(id).catch(() => {});
    }
  });
  // Permission changed in the browser's own settings.
  void navigator.permissions
    ?.query({ name: 'notifications' })
    .then((st) => {
      st.onchange = () =>
        notifyState.set({
          permission: typeof Notification === 'undefined' ? 'unsupported' : Notification.permission,
        });
    })
    .catch(() => {});
}
