/**
 * The chat: signing in and out of it, and where each frame from the server goes. The
 * parts, each owning its own state:
 * - model.ts: the store components read (conversations, messages, outbox, banner);
 * - connection.ts: the socket, its reconnects and the checked frames (liveness.ts is its
 *   heartbeat);
 * - sync.ts: catching up after a gap (what is known complete, `sync`/`synced`);
 * - messages.ts: the conversation list, pages of history, arrivals, changes, unread;
 * - outbox.ts: queued sends, uploads, retries and acks;
 * - actions.ts: replies, edits, reactions and deletes.
 * Components import what they need from here.
 */
import type { ErrorFrame, ServerFrame } from '@clipchat/protocol';
import type { User } from '../types';
import { startConnection, stopConnection } from './connection';
import {
  applyUpdate,
  expectStored,
  openConversation,
  readMoved,
  receive,
  refreshConversations,
  reopenLast,
} from './messages';
import { chat } from './model';
import { fail, later, resend, resetOutbox, restoreOutbox, settle } from './outbox';
import { resetSync, syncAll, synced, syncRefused } from './sync';

export { chat, type OutboxItem } from './model';
export { addHistory, jumpTo, loadOlder, openConversation, refreshConversations } from './messages';
export { discardSend, retrySend, send } from './outbox';
export {
  cancelAction,
  canDelete,
  canEdit,
  deleteMessage,
  editMessage,
  startEdit,
  startReply,
  toggleReaction,
} from './actions';

/** Starts the live connection and restores the outbox of the signed-in user. */
export async function startChat(me: User): Promise<void> {
  await restoreOutbox(me);
  await refreshConversations().catch(() => {});
  reopenLast();
  startConnection(onFrame);
}

export function stopChat(): void {
  stopConnection();
  resetOutbox();
  resetSync();
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

/**
 * Applies one checked frame from the server. Every frame type is named: a new one in the
 * protocol does not compile until it is given a place here.
 */
function onFrame(f: ServerFrame): void {
  switch (f.type) {
    case 'hello':
      // The session is ready: replay what was missed while away, then resend everything
      // still unacknowledged, oldest first.
      syncAll();
      void refreshConversations().catch(() => {});
      if (chat.get().activeId) void openConversation(chat.get().activeId!).catch(() => {});
      resend();
      break;
    case 'resync':
      // Live delivery between server nodes was interrupted: sync every conversation.
      syncAll();
      break;
    case 'synced':
      synced(f);
      break;
    case 'message':
      receive([f.message]);
      // My own message stored: it is delivered even when its ack was lost with the socket.
      if (f.message.senderId === chat.get().me?.id) settle(f.message.clientId);
      break;
    case 'ack':
      settle(f.clientId);
      expectStored(f.conversationId, f.clientId);
      break;
    case 'update':
      applyUpdate(f.message);
      break;
    case 'read':
      readMoved(f);
      break;
    case 'error':
      refusedFrame(f);
      break;
    case 'conversation':
      void refreshConversations().catch(() => {});
      break;
    case 'pong':
    case 'typing':
    case 'presence':
    case 'delivered':
    case 'watch':
      // Heartbeat, typing, presence and receipts (liveness.ts, alive.ts) and watch along
      // (share/watch.ts) listen with `onServerFrame`.
      break;
    default: {
      // Checked by TypeScript: a frame type the protocol adds does not compile until it
      // is handled above (parseServerFrame lets no unknown type through at run time).
      const unhandled: never = f;
      console.warn('Clipchat: no handler for a frame from the server:', unhandled);
    }
  }
}

/** A frame of mine the server refused. */
function refusedFrame(f: ErrorFrame): void {
  const err = f.error;
  if (f.frame === 'typing' || f.frame === 'delivered') return; // hints, retried by alive.ts
  if (f.frame === 'sync') syncRefused(err);
  else if (
    f.clientId &&
    (err.code === 'ERR_UNAVAILABLE' || err.code === 'ERR_RATE_LIMITED') &&
    err.retryAfter !== undefined
  )
    later(f.clientId, Number(err.retryAfter));
  else if (f.clientId) fail(f.clientId, err.message || err.code || 'refused by the server');
  else chat.set({ notice: err.message || 'The server refused a request.' });
}
