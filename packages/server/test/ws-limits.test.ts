// A hostile user against the WebSocket channel, on a real server: many sockets that stop
// reading while asking for a full sync of a big history (the cap refuses sockets past 20,
// each socket's backlog stays bounded, the slow ones are closed with 1013, memory stays
// bounded); a sync flood (rate-limited, other users keep their latency); and sync paging,
// which must still deliver every message exactly once to a client that follows the pages.
import { afterEach, describe, expect, it } from 'vitest';
import { buildHistory, openSocket, pausedSyncSockets, syncFlood } from '../../../bench/hostile/ws';
import { DEFAULT_RATE_LIMITS, DEFAULT_WS_LIMITS } from '../src/config';
import { backends } from './backends';
import { Client, register, start, type Running } from './helpers';

const sqlite = backends.find((b) => b.name === 'sqlite')!;
const generous = { limit: 100_000, windowMs: 1000 };
let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;

describe('WebSocket bounds against one hostile user (sqlite)', () => {
  it('35 sockets that stop reading and keep asking a full sync: 20 admitted, all closed 1013, memory bounded', async () => {
    // The sync limit is lifted here so that paging and backpressure alone must bound memory.
    running = await start(sqlite, {
      rateLimits: { register: generous, send: generous, sync: generous },
      ws: { slowConsumerMs: 1000 },
    });
    const s = running;
    const owner = await register(s.url);
    const helpers = [await register(s.url), await register(s.url)];
    // 1500 messages of 8000 characters: about 12 MB of sync, which the old server queued whole for every socket.
    const cid = await buildHistory(s.url, owner, helpers, 1500, 8000);
    const before = process.memoryUsage().rss;
    let peak = before;
    const r = await pausedSyncSockets({
      url: s.url,
      token: owner.token,
      cid,
      sockets: 35,
      maxMs: 45_000,
      stop: () => s.server.stats().slowClosed >= 20,
      tick: () => {
        peak = Math.max(peak, process.memoryUsage().rss);
      },
    });
    const growthMb = (peak - before) / 1e6;
    console.log(
      `paused sockets: ${r.opened} open, ${r.refused.length} refused, ${r.syncsSent} syncs in ${r.seconds.toFixed(1)} s, RSS +${growthMb.toFixed(1)} MB, closes ${JSON.stringify(r.closeCodes)}`,
    );
    expect(r.opened).toBe(DEFAULT_WS_LIMITS.maxSocketsPerUser);
    expect(r.refused).toEqual(Array(15).fill('429 ERR_TOO_MANY_SOCKETS'));
    expect(r.closeCodes).toEqual(Array(20).fill(1013));
    expect(s.server.stats().slowClosed).toBe(20);
    expect(growthMb).toBeLessThanOrEqual(150);
    // The slots come back as the sockets close: the user can connect again, and so can others.
    const again = await Client.open(s.url, owner.token);
    again.send({ type: 'sync', since: { [cid]: 1499 } });
    const synced = await again.next((f) => f.type === 'synced');
    expect(synced).toMatchObject({ until: { [cid]: 1500 }, more: false });
    await again.close();
  }, 180_000);

  it('a sync flood from 3 sockets is rate-limited and another user stays responsive', async () => {
    running = await start(sqlite, { rateLimits: { register: generous, send: generous } });
    const s = running;
    const [attacker, victim, helper] = [
      await register(s.url),
      await register(s.url),
      await register(s.url),
    ];
    const cid = await buildHistory(s.url, attacker, [helper], 1500, 8000);
    // Baseline of the victim's request on an idle server.
    const idle = await syncFlood({ url: s.url, attacker, victim, cid, sockets: 0, ms: 1500 });
    const r = await syncFlood({ url: s.url, attacker, victim, cid, ms: 8000 });
    const { limit, windowMs } = DEFAULT_RATE_LIMITS.sync;
    console.log(
      `sync flood: ${r.syncsSent} sent, ${r.synced} pages served, ${r.limited} rate-limited in ${r.seconds.toFixed(1)} s; victim p50 ${median(r.victimMs).toFixed(1)} ms (idle ${median(idle.victimMs).toFixed(1)} ms), max ${r.victimMs.at(-1)!.toFixed(0)} ms`,
    );
    expect(r.limited).toBeGreaterThan(r.syncsSent / 2);
    // Served pages never exceed the token bucket: a burst of `limit`, then limit/window.
    expect(r.synced).toBeLessThanOrEqual(
      limit + Math.ceil((r.seconds * 1000 * limit) / windowMs) + 3,
    );
    expect(median(r.victimMs)).toBeLessThan(150);
  }, 120_000);
});

describe.each(backends)('sync paging ($name)', (backend) => {
  it('a client following the pages gets every message exactly once, no page over its bounds', async () => {
    const limits = { syncPagePerConversation: 120, syncPageMessages: 300, syncPageBytes: 150_000 };
    running = await start(backend, { ws: limits });
    const s = running;
    const a = await register(s.url);
    const b = await register(s.url);
    const small = await buildHistory(s.url, a, [b], 700, 20);
    const big = await buildHistory(s.url, a, [b], 90, 5000);
    const tiny = await buildHistory(s.url, a, [b], 3, 10);
    const want: Record<string, number> = { [small]: 700, [big]: 90, [tiny]: 3 };
    const c = await Client.open(s.url, b.token);
    // What the web app does: sync from the highest gapless seq held; again while `more`.
    const held: Record<string, number[]> = { [small]: [], [big]: [], [tiny]: [] };
    let pages = 0;
    for (;;) {
      const since = Object.fromEntries(Object.keys(held).map((id) => [id, held[id]!.length]));
      const from = c.frames.length;
      c.send({ type: 'sync', since });
      const synced = await c.next((f) => f.type === 'synced' && c.frames.indexOf(f) >= from);
      pages++;
      const page = c.frames
        .slice(from, c.frames.indexOf(synced))
        .filter((f) => f.type === 'message')
        .map((f) => f.message);
      expect(page.length).toBeLessThanOrEqual(limits.syncPageMessages);
      const bytes = page.reduce(
        (n, m) => n + Buffer.byteLength(JSON.stringify({ type: 'message', message: m })),
        0,
      );
      expect(bytes).toBeLessThanOrEqual(limits.syncPageBytes + 12_000); // the page may end one message past the bound
      for (const id of Object.keys(held)) {
        const got = page.filter((m) => m.conversationId === id).map((m) => m.seq as number);
        expect(got.length).toBeLessThanOrEqual(limits.syncPagePerConversation);
        held[id]!.push(...got);
        if (id in synced.until) expect(synced.until[id]).toBe(held[id]!.length);
      }
      if (!synced.more) break;
      expect(pages).toBeLessThan(50);
    }
    for (const [id, n] of Object.entries(want))
      expect(held[id]).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // Bounded pages: 793 messages cannot come in fewer than ceil(793 / 300) pages.
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(c.frames.filter((f) => f.type === 'error')).toEqual([]);
    await c.close();
  }, 120_000);

  it('refuses the 21st socket of a user at the upgrade and admits it once one closes', async () => {
    running = await start(backend);
    const s = running;
    const a = await register(s.url);
    const b = await register(s.url);
    const socks = await Promise.all(Array.from({ length: 20 }, () => Client.open(s.url, a.token)));
    const refused = await openSocket(s.url, a.token);
    expect(refused).toEqual({ status: 429, code: 'ERR_TOO_MANY_SOCKETS' });
    const other = await Client.open(s.url, b.token); // another user is not affected
    await socks.pop()!.close();
    let again: Awaited<ReturnType<typeof openSocket>> = refused;
    for (let i = 0; i < 50 && !('ws' in again); i++) {
      await new Promise((r) => setTimeout(r, 50));
      again = await openSocket(s.url, a.token);
    }
    expect('ws' in again).toBe(true);
    if ('ws' in again) again.ws.close();
    await Promise.all([...socks, other].map((x) => x.close()));
  });
});
