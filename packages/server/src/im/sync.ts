/**
 * One page of a `sync`: the messages after each requested seq, bounded per conversation,
 * in all and in bytes, written no faster than the socket drains. The page ends with
 * `synced {until, more}`; with `more` the client asks again from where it now stands, so a
 * big history arrives as a row of small pages instead of one backlog in server memory.
 */
import type { WebSocket } from 'ws';
import type { WsLimits } from '../config';
import type { Store } from '../store/types';
import type { ImService } from './service';
import { closeSlow, drained, send } from './hub';
import { messageToWire } from './wire';

/** Rows read from the store at a time (a chunk of 8000-character messages is about 256 KiB). */
const CHUNK = 32;

/** What one page needs. */
export interface SyncPageInput {
  ws: WebSocket;
  store: Store;
  im: ImService;
  userId: string;
  /** conversationId → the highest seq the client holds with no gap before it. */
  since: Record<string, number>;
  /** conversationId → the change number up to which the client holds every change of those messages. */
  changes?: Record<string, number>;
  limits: Pick<
    WsLimits,
    | 'syncPagePerConversation'
    | 'syncPageMessages'
    | 'syncPageBytes'
    | 'syncInFlightBytes'
    | 'slowConsumerMs'
  >;
  /** Reports a conversation the user may not read (the page goes on). */
  fail(err: unknown): void;
}

/** How a page went: what it sent, and whether the client must ask again. */
export interface SyncPageResult {
  messages: number;
  bytes: number;
  more: boolean;
  /** False when the socket closed (or was closed as too slow) before the page ended. */
  finished: boolean;
}

/**
 * Sends one page: `message` frames in seq order per conversation, then `synced`. A
 * conversation looked at counts as one message toward `syncPageMessages`, so a `since`
 * listing thousands of conversations is also spread over pages. `until` names only the
 * conversations the page reached; `more` is true when any requested conversation may hold
 * messages past its `until` or was not reached.
 */
export async function syncPage(p: SyncPageInput): Promise<SyncPageResult> {
  const L = p.limits;
  const until: Record<string, number> = {};
  const revs: Record<string, number> = {};
  let cost = 0;
  let bytes = 0;
  let messages = 0;
  let more = false;
  const lost = (): SyncPageResult => ({ messages, bytes, more: true, finished: false });
  if (p.ws.readyState !== 1) return lost();
  for (const [cid, since] of Object.entries(p.since)) {
    if (cost >= L.syncPageMessages || bytes >= L.syncPageBytes) {
      more = true;
      break;
    }
    cost++;
    let lastRev: number;
    try {
      await p.im.requireMember(cid, p.userId);
      // Read before the messages: a change after this read has a higher rev and is sent live or next time.
      lastRev = (await p.store.getConversation(cid))?.lastRev ?? 0;
    } catch (e) {
      p.fail(e);
      continue;
    }
    const want = Math.max(1, Math.min(L.syncPagePerConversation, L.syncPageMessages - cost));
    // Rows are read a few at a time, each read only once the socket has drained: a sync
    // waiting on a client that does not read holds at most one small chunk.
    let after = since;
    let got = 0;
    let full = false;
    for (;;) {
      if (!(await drained(p.ws, L.syncInFlightBytes, L.slowConsumerMs))) {
        closeSlow(p.ws, `sync not read for ${Math.round(L.slowConsumerMs / 1000)} s`);
        return lost();
      }
      const n = Math.min(CHUNK, want - got);
      const rows = await p.store.messagesAfter(cid, after, n);
      for (const m of rows) {
        const data = JSON.stringify({ type: 'message', message: messageToWire(m) });
        if (!send(p.ws, data)) return lost();
        bytes += Buffer.byteLength(data);
        messages++;
        cost++;
        got++;
        after = m.seq;
        if (bytes >= L.syncPageBytes) {
          full = true;
          break;
        }
      }
      if (full || got >= want) {
        more = true;
        break;
      } // the page is full: the rest comes next page
      if (rows.length < n) break; // the conversation has no more
    }
    until[cid] = after;
    // Changes (reactions, edits, deletes) of the messages the client held before this page,
    // by rev; messages sent above went whole, as they are now. Without `changes` for this
    // conversation the client asked for none (a client starting from seq 0 needs none).
    const fromRev = p.changes?.[cid];
    if (fromRev === undefined) {
      if (since === 0 && !full && got < want) revs[cid] = lastRev;
      continue;
    }
    let rev = fromRev;
    let done = full || got >= want ? false : true;
    if (done && rev < lastRev) {
      for (;;) {
        if (cost >= L.syncPageMessages || bytes >= L.syncPageBytes) {
          done = false;
          break;
        }
        if (!(await drained(p.ws, L.syncInFlightBytes, L.slowConsumerMs))) {
          closeSlow(p.ws, `sync not read for ${Math.round(L.slowConsumerMs / 1000)} s`);
          return lost();
        }
        const n = Math.min(CHUNK, L.syncPageMessages - cost);
        const rows = await p.store.changesAfter(cid, rev, since, n);
        for (const m of rows) {
          if (m.rev > lastRev) break; // changed after this page began: live delivery or the next sync brings it
          const data = JSON.stringify({ type: 'update', message: messageToWire(m) });
          if (!send(p.ws, data)) return lost();
          bytes += Buffer.byteLength(data);
          messages++;
          cost++;
          rev = m.rev;
          if (bytes >= L.syncPageBytes) break;
        }
        if (rows.length < n || rows.some((m) => m.rev > lastRev)) break; // every change up to lastRev is sent
      }
      if (bytes >= L.syncPageBytes || cost >= L.syncPageMessages) {
        // The page filled up: the rest of the changes come next page (unless none were left).
        const rest = await p.store.changesAfter(cid, rev, since, 1);
        done = !rest.length || rest[0]!.rev > lastRev;
      }
    }
    if (done) rev = Math.max(rev, lastRev);
    else more = true;
    revs[cid] = rev;
  }
  if (!send(p.ws, JSON.stringify({ type: 'synced', until, revs, more }))) return lost();
  return { messages, bytes, more, finished: true };
}
