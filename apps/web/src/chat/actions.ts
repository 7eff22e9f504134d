/**
 * What I do to messages beside sending: answer one (the composer's reply), edit or
 * delete one of mine, react to any. Changes go over HTTP; the answer, the message as it
 * now is, is applied at once (the `update` frame that follows changes nothing more).
 */
import { DEFAULT_EDIT_WINDOW_MS } from '@clipchat/protocol';
import { api, ApiError } from '../api';
import type { Message } from '../types';
import { applyUpdate } from './messages';
import { chat } from './model';

/** How long after sending a text message it may be edited (the server's default; it decides). */
const EDIT_WINDOW_MS = DEFAULT_EDIT_WINDOW_MS;

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
