/**
 * The chat model every part of the chat reads and writes: conversations, the messages
 * held, the outbox and what the connection badge and banner say. One store, so a
 * component re-renders from one place; connection.ts, sync.ts, messages.ts, outbox.ts and
 * actions.ts each own their part of it.
 */
import { Store } from '../store';
import type { Conversation, MediaMeta, Message, MessageKind, MessageSource, User } from '../types';

type Connection = 'connecting' | 'online' | 'offline';

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
interface ComposerAction {
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

/** Merges messages by seq; a copy held with a higher `rev` (changed since) is kept. */
export function mergeMessages(list: Message[] | undefined, add: Message[]): Message[] {
  const bySeq = new Map((list ?? []).map((m) => [m.seq, m]));
  for (const m of add) {
    const had = bySeq.get(m.seq);
    if (!had || had.id !== m.id || m.rev >= had.rev) bySeq.set(m.seq, m);
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}
