/**
 * Catching up: live messages may miss some (a dropped node, delivery between nodes
 * interrupted, a lost socket). After each `hello`, and whenever the server sends `resync`,
 * {@link syncAll} asks every conversation for what follows the highest seq it holds with
 * no gap before it, so a message that arrived live after a missed one never hides the
 * missed one. It also asks, per conversation, for the changes (edits, reactions, deletes)
 * after the change number this client holds (`synced.revs`, or the conversation list's
 * `lastRev` read before the messages were loaded), so changes made while away arrive too.
 * The server answers one bounded page at a time; `synced.more` asks for the next.
 *
 * This module keeps the bookkeeping of what is known complete; messages.ts feeds it as
 * pages and lists are read.
 */
import type { ErrorFrame, SyncedFrame } from '@clipchat/protocol';
import type { Message } from '../types';
import { liveSocket, sendFrame } from './connection';
import { chat } from './model';

const gaps = {
  /**
   * Conversation id → a seq up to which this client is known to have every message it
   * needs: the top of a loaded page, the end of a sync, or the list's last seq for a
   * conversation whose messages were never loaded. Held messages extend it while they
   * follow on without a gap.
   */
  complete: new Map<string, number>(),
  /** Conversation id → lastSeq from the last conversation list (its unread count covers up to it). */
  listed: new Map<string, number>(),
  /**
   * Conversation id → a change number up to which this client holds every change of the
   * messages it holds (the next sync's `changes`): from `synced.revs`, or the list's
   * `lastRev` read before anything of the conversation was loaded.
   */
  revs: new Map<string, number>(),
  /** Conversations the last sync page did not reach: the next page asks for them first. */
  unreached: new Set<string>(),
  /** A sync refused for its rate, to be asked again after `retryAfter`. */
  retry: null as ReturnType<typeof setTimeout> | null,
};

/** Every message of the conversation up to `seq` is held (or needs no holding). */
export function raiseComplete(conversationId: string, seq: number): void {
  if (seq > (gaps.complete.get(conversationId) ?? 0)) gaps.complete.set(conversationId, seq);
}

/** Every change of the held messages up to change number `rev` is held. */
export function raiseRev(conversationId: string, rev: number): void {
  if (rev > (gaps.revs.get(conversationId) ?? 0)) gaps.revs.set(conversationId, rev);
}

/** The first page of a conversation was read after a list that said `lastRev`: changes start there. */
export function startRevs(conversationId: string, lastRev: number): void {
  if (!gaps.revs.has(conversationId)) gaps.revs.set(conversationId, lastRev);
}

/** The conversation list says the conversation's last seq is `seq` (its unread count covers up to it). */
export function noteListed(conversationId: string, seq: number): void {
  gaps.listed.set(conversationId, seq);
}

/** The last seq the conversation list counted unread messages up to. */
export function listedSeq(conversationId: string): number {
  return gaps.listed.get(conversationId) ?? 0;
}

/** The highest seq of a conversation with no gap before it: where its sync starts. */
function contiguousSeq(conversationId: string, held: Message[] | undefined): number {
  let seq = gaps.complete.get(conversationId) ?? 0;
  for (const m of held ?? []) {
    if (m.seq <= seq) continue;
    if (m.seq !== seq + 1) break;
    seq = m.seq;
  }
  return seq;
}

/**
 * Asks the server for everything after the gap-free part of each conversation held. The
 * server answers one bounded page; `synced.more` brings the next request ({@link synced}).
 */
export function syncAll(): void {
  const ws = liveSocket();
  if (!ws) return;
  if (gaps.retry) {
    clearTimeout(gaps.retry);
    gaps.retry = null;
  }
  const s = chat.get();
  const ids = new Set([...s.conversations.map((c) => c.id), ...Object.keys(s.messages)]);
  // Unreached conversations first: a long list still moves on from page to page.
  const ordered = [
    ...[...ids].filter((id) => gaps.unreached.has(id)),
    ...[...ids].filter((id) => !gaps.unreached.has(id)),
  ];
  const since: Record<string, number> = {};
  const changes: Record<string, number> = {};
  for (const id of ordered) {
    since[id] = contiguousSeq(id, s.messages[id]);
    if (s.messages[id]?.length) changes[id] = gaps.revs.get(id) ?? 0;
  }
  if (ordered.length) sendFrame(ws, { type: 'sync', since, changes });
  gaps.unreached = new Set(ordered);
}

/** The end of a sync page: what it made complete, and the next page when there is more. */
export function synced(f: SyncedFrame): void {
  for (const [cid, seq] of Object.entries(f.until)) {
    gaps.unreached.delete(cid);
    if (Number.isSafeInteger(seq)) raiseComplete(cid, seq);
  }
  for (const [cid, rev] of Object.entries(f.revs))
    if (Number.isSafeInteger(rev)) raiseRev(cid, rev);
  // One page of a longer replay: ask for the next from where we now stand.
  if (f.more) syncAll();
}

/**
 * A sync refused: one asked too often is asked again when allowed; other refusals (a
 * conversation left meanwhile) need nothing from the person.
 */
export function syncRefused(err: ErrorFrame['error']): void {
  if (err.code !== 'ERR_RATE_LIMITED' || gaps.retry) return;
  gaps.retry = setTimeout(
    () => {
      gaps.retry = null;
      syncAll();
    },
    1000 * Math.max(1, Number(err.retryAfter) || 1),
  );
}

/** Forgets everything of the signed-out user. */
export function resetSync(): void {
  if (gaps.retry) {
    clearTimeout(gaps.retry);
    gaps.retry = null;
  }
  gaps.unreached = new Set();
  gaps.complete.clear();
  gaps.listed.clear();
  gaps.revs.clear();
}
