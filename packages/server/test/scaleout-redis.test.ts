// Redis goes away and comes back under two nodes (in this process, so any unhandled error
// fails the run): nothing crashes, messages are still stored and acknowledged, delivery
// between nodes resumes, and what live delivery missed arrives through sync.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisBus } from '../src/bus/redis';
import { createServer, type ClipchatServer } from '../src/index';
import { PostgresStore } from '../src/store/postgres';
import { api, register } from './helpers';
import {
  ChatClient,
  createTestSchema,
  privateRedis,
  testChannelPrefix,
  type PrivateRedis,
  type TestSchema,
} from './pg-helpers';

let schema: TestSchema | undefined;
let redis: PrivateRedis | undefined;
const servers: ClipchatServer[] = [];
const clients: ChatClient[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await redis?.stop();
  await schema?.drop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function node(
  prefix: string,
): Promise<{ server: ClipchatServer; url: string; bus: RedisBus }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-redis-'));
  dirs.push(dataDir);
  const store = new PostgresStore({ url: schema!.url, poolSize: 4 });
  const bus = new RedisBus({ url: redis!.url, prefix });
  await bus.start();
  const server = await createServer({ dataDir, store, bus, logger: false, rateLimits: false });
  servers.push(server);
  return { server, url: await server.listen({ port: 0 }), bus };
}

describe.skipIf(process.env.CLIPCHAT_TEST_POSTGRES === '0')('Redis outage under two nodes', () => {
  it('keeps acking, resumes delivery, and brings missed messages by sync', async () => {
    schema = await createTestSchema();
    redis = await privateRedis();
    const prefix = testChannelPrefix();
    const n1 = await node(prefix);
    const n2 = await node(prefix);
    const alice = await register(n1.url);
    const bob = await register(n2.url);
    const cid = (
      await api(n1.url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username] },
      })
    ).body.id as string;
    const a = new ChatClient({ nodes: [n1.url, n2.url], token: alice.token, start: 0 });
    const b = new ChatClient({ nodes: [n1.url, n2.url], token: bob.token, start: 1 });
    clients.push(a, b);
    await Promise.all([a.open(), b.open()]);
    a.follow(cid);
    b.follow(cid);

    a.send(cid, 'before');
    await b.until(() => b.contiguous(cid) === 1);

    await redis.stop();
    await a.until(() => !n1.bus.connected && !n2.bus.connected);
    // Stored and acknowledged while Redis is gone.
    for (let i = 0; i < 20; i++) a.send(cid, `during a${i}`);
    await a.until(() => a.outbox.size === 0);
    expect(a.acked.size).toBe(21);
    await new Promise((r) => setTimeout(r, 200));
    expect(a.contiguous(cid)).toBe(21); // same node: live as ever
    expect(b.contiguous(cid)).toBe(1); // the other node's are not live…
    // …until bob's own next message shows him the gap, which he fills by sync.
    for (let i = 0; i < 5; i++) b.send(cid, `during b${i}`);
    await b.until(() => b.outbox.size === 0 && b.contiguous(cid) === 26);
    await new Promise((r) => setTimeout(r, 200));
    expect(a.contiguous(cid)).toBe(21); // alice has no such clue: only a resync will tell her
    expect(b.connects + a.connects).toBe(2); // nobody was disconnected
    expect((await fetch(`${n1.url}/healthz`)).status).toBe(200);

    await redis.start();
    // The nodes reconnect on their own and tell their clients to sync.
    await a.until(() => a.resyncHints > 0 && b.resyncHints > 0, 15_000);
    await a.until(() => a.contiguous(cid) === 26 && b.contiguous(cid) === 26);

    // Live delivery between the nodes is back. A node may hint twice (its subscription is
    // back; the other node, whose publisher dropped events, asks for a sync once its
    // publisher is back): let both buses reconnect fully and the hints settle first.
    await a.until(() => n1.bus.connected && n2.bus.connected);
    for (let seen = -1; seen !== a.resyncHints + b.resyncHints;) {
      seen = a.resyncHints + b.resyncHints;
      await new Promise((r) => setTimeout(r, 300));
    }
    const hints = b.resyncHints;
    a.send(cid, 'after');
    await b.until(() => b.contiguous(cid) === 27);
    expect(b.resyncHints).toBe(hints);
    const texts = [...b.held.get(cid)!.values()].sort((x, y) => x.seq - y.seq).map((m) => m.text);
    expect(texts.filter((t) => t!.startsWith('during a'))).toEqual(
      Array.from({ length: 20 }, (_, i) => `during a${i}`),
    );
    expect(texts.at(-1)).toBe('after');
    expect(a.connects + b.connects).toBe(2);
  });
});
