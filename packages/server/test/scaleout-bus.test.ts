// The Redis bus on its own: events cross between two nodes, each node hears its own events
// once (locally, not echoed), and a Redis that dies and comes back costs no crash, keeps
// local delivery going and ends with both nodes asked to resync.
import { afterEach, describe, expect, it } from 'vitest';
import { RedisBus } from '../src/bus/redis.js';
import {
  privateRedis,
  testChannelPrefix,
  TEST_REDIS_URL,
  type PrivateRedis,
} from './pg-helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
let redis: PrivateRedis | undefined;
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
  await redis?.stop();
  redis = undefined;
});

async function bus(url: string, prefix: string): Promise<RedisBus<{ n: number }>> {
  const b = new RedisBus<{ n: number }>({ url, prefix });
  open.push(b);
  await b.start();
  return b;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(process.env.CLIPCHAT_TEST_POSTGRES === '0')('RedisBus', () => {
  it('carries events between nodes and delivers its own locally exactly once', async () => {
    const prefix = testChannelPrefix();
    const a = await bus(TEST_REDIS_URL, prefix);
    const b = await bus(TEST_REDIS_URL, prefix);
    // start() returns with both connections up: nothing published next can be dropped.
    expect(a.connected && b.connected).toBe(true);
    const gotA: number[] = [];
    const gotB: number[] = [];
    a.subscribe((e) => gotA.push(e.n));
    b.subscribe((e) => gotB.push(e.n));
    for (let n = 0; n < 100; n++) void (n % 2 ? a : b).publish({ n });
    await until(() => gotA.length === 100 && gotB.length === 100);
    // Redis keeps one publisher's order; each node sees all 100, none twice.
    expect(new Set(gotA).size).toBe(100);
    expect(new Set(gotB).size).toBe(100);
    expect(gotA.filter((n) => n % 2)).toEqual([...Array(50)].map((_, i) => 2 * i + 1));
    await new Promise((r) => setTimeout(r, 100));
    expect(gotA.length).toBe(100);
    expect(a.dropped + b.dropped).toBe(0);
  });

  it('sends a burst published in one turn as few PUBLISHes, in order, to every node', async () => {
    const prefix = testChannelPrefix();
    const a = await bus(TEST_REDIS_URL, prefix);
    const b = await bus(TEST_REDIS_URL, prefix);
    const c = await bus(TEST_REDIS_URL, prefix);
    const gotA: number[] = [];
    const gotB: number[] = [];
    const gotC: number[] = [];
    a.subscribe((e) => gotA.push(e.n));
    b.subscribe((e) => gotB.push(e.n));
    c.subscribe((e) => gotC.push(e.n));
    const before = a.published;
    // 1200 events in one turn: over the batch cap (512), so three PUBLISHes, not 1200.
    for (let n = 0; n < 1200; n++) void a.publish({ n });
    // Local delivery does not wait for the batch.
    expect(gotA.length).toBe(1200);
    await until(() => gotB.length === 1200 && gotC.length === 1200);
    const inOrder = [...Array(1200)].map((_, i) => i);
    expect(gotB).toEqual(inOrder);
    expect(gotC).toEqual(inOrder);
    expect(a.published - before).toBe(3);
    // One event alone still goes out at once, in the old single-event envelope.
    void a.publish({ n: 5000 });
    await until(() => gotB.at(-1) === 5000 && gotC.at(-1) === 5000);
    expect(a.published - before).toBe(4);
    // The sender skipped its own echoes: it has exactly what it published, once.
    await new Promise((r) => setTimeout(r, 100));
    expect(gotA.length).toBe(1201);
    expect(a.received).toBe(0);
    expect(b.received).toBe(1201);
  });

  it('lives through Redis dying and coming back, and asks for a resync', async () => {
    redis = await privateRedis();
    const prefix = testChannelPrefix();
    const a = await bus(redis.url, prefix);
    const b = await bus(redis.url, prefix);
    const gotA: number[] = [];
    const gotB: number[] = [];
    let resyncA = 0;
    let resyncB = 0;
    a.subscribe((e) => gotA.push(e.n));
    b.subscribe((e) => gotB.push(e.n));
    a.onResync(() => resyncA++);
    b.onResync(() => resyncB++);
    void a.publish({ n: 1 });
    await until(() => gotB.includes(1));

    await redis.stop();
    await until(() => !a.connected && !b.connected);
    // While Redis is gone, local delivery still works and publishing never throws.
    void a.publish({ n: 2 });
    expect(gotA).toContain(2);
    // `connected` turns false when either connection notices; the publisher may notice a
    // moment later, and then the PUBLISH fails asynchronously. Either way it is counted.
    await until(() => a.dropped > 0);

    await redis.start();
    await until(() => a.connected && b.connected, 10_000);
    await until(() => resyncA > 0 && resyncB > 0, 10_000);
    // Delivery between nodes resumes.
    void a.publish({ n: 3 });
    await until(() => gotB.includes(3));
    expect(gotB).not.toContain(2); // lost from pub/sub: it is sync's job to bring it
  });

  it('starts while Redis is down and catches up when it appears', async () => {
    redis = await privateRedis();
    await redis.stop();
    const prefix = testChannelPrefix();
    const a = new RedisBus<{ n: number }>({ url: redis.url, prefix });
    open.push(a);
    await a.start(300);
    let resync = 0;
    a.onResync(() => resync++);
    void a.publish({ n: 1 }); // no throw
    await redis.start();
    await until(() => a.connected, 10_000);
    await until(() => resync > 0, 10_000);
    const b = await bus(redis.url, prefix);
    const got: number[] = [];
    b.subscribe((e) => got.push(e.n));
    void a.publish({ n: 2 });
    await until(() => got.includes(2));
  });
});
