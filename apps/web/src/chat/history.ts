/**
 * Going to a message that may not be loaded (a search result): the conversation is opened,
 * and when the message is not held, the page of history around it is fetched
 * (`?around=seq`) and merged in. What lies between that page and the newest messages is
 * a gap in the held seqs; the message list shows it as a "Show newer messages" line that
 * fills it page by page (`?after=seq`).
 */
import { api } from '../api';
import type { Message } from '../types';
import { addHistory, chat, jumpTo, openConversation } from './state';

const PAGE = 50;

/** Opens `m`'s conversation, loads the history around `m` when needed, and highlights it. */
export async function openMessage(
  m: Pick<Message, 'id' | 'conversationId' | 'seq'>,
): Promise<boolean> {
  const cid = m.conversationId;
  if (chat.get().activeId !== cid || !chat.get().messages[cid]?.length) await openConversation(cid);
  if (!chat.get().messages[cid]?.some((x) => x.id === m.id)) {
    const page = await api.messagesAt(cid, { around: m.seq }, PAGE);
    addHistory(cid, page.messages, page.before !== null);
  }
  // Another conversation may have been opened meanwhile: then nothing to highlight here.
  return chat.get().activeId === cid && jumpTo(cid, m.id);
}

const filling = new Set<string>();

/** Loads the page after `afterSeq` into a gap of held messages (once at a time per gap). */
export async function fillGap(conversationId: string, afterSeq: number): Promise<void> {
  const key = `${conversationId}:${afterSeq}`;
  if (filling.has(key)) return;
  filling.add(key);
  try {
    const page = await api.messagesAt(conversationId, { after: afterSeq }, PAGE);
    addHistory(conversationId, page.messages, true);
  } finally {
    filling.delete(key);
  }
}
