// A conversation that feels alive: typing, presence and read receipts, on each backend
// (one node) and across two nodes sharing PostgreSQL and Redis.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseServerFrame } from '@clipchat/protocol';
import { createRedisBus } from '../src/bus/redis';
import { createServer, type ClipchatServer } from '../src/index';
import { PostgresStore } from '../src/store/postgres';
import { backends } from './backends';
import { api, Client, register, start, type Running, type TestUser } from './helpers';
import { createTestSchema, testChannelPrefix, TEST_REDIS_URL, type TestSchema } from './pg-helpers';

const clients: Client[] = [];
async function open(url: string, u: TestUser): Promise<Client> {
  const c = await Client.open(url, u.token);
  clients.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** A ping answered: every frame the server queued for `c` before it has arrived. */
async function flushed(c: Client): Promise<void> {
  const n = c.frames.filter((f) => f.type === 'pong').length;
  c.send({ type: 'ping' });
  await c.until(() => c.frames.filter((f) => f.type === 'pong').length > n);
}
const of = (c: Client, type: string) => c.frames.filter((f) => f.type === type);
/** Every frame the server sent fits the protocol's schema. */
const fits = (c: Client) => {
  for (const f of c.frames) parseServerFrame(JSON.stringify(f));
};

async function chat(url: string, a: TestUser, ...others: TestUser[]): Promise<string> {
  const r = await api(url, 'POST', '/api/conversations', {
    token: a.token,
    json:
      others.length > 1
        ? { members: others.map((o) => o.username), title: 'g' }
        : { members: [others[0]!.username] },
  });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

describe.each(backends)('typing, presence and read receipts over $name', (backend) => {
  let s: Running;
  beforeAll(async () => {
    s = await start(backend);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('typing reaches the other members only, at most once per 3 s per user and conversation', async () => {
    const [alice, bob, carol, eve] = await Promise.all([
      register(s.url),
      register(s.url),
      register(s.url),
      register(s.url),
    ]);
    const cid = await chat(s.url, alice, bob, carol);
    const eveChat = await chat(s.url, eve, bob);
    const [a1, a2, b, c, e] = await Promise.all([
      open(s.url, alice),
      open(s.url, alice),
      open(s.url, bob),
      open(s.url, carol),
      open(s.url, eve),
    ]);
    a1.send({ type: 'typing', conversationId: cid });
    for (const x of [b, c]) {
      expect(await x.next((f) => f.type === 'typing')).toEqual({
        type: 'typing',
        conversationId: cid,
        user: { id: alice.id, username: alice.username },
      });
    }
    // Again at once, from the same or another device: dropped (no error, no relay).
    a1.send({ type: 'typing', conversationId: cid });
    a2.send({ type: 'typing', conversationId: cid });
    // Bob's typing in the same conversation is his own allowance.
    b.send({ type: 'typing', conversationId: cid });
    await a1.next((f) => f.type === 'typing' && f.user.id === bob.id);
    await Promise.all([a1, a2, b, c, e].map(flushed));
    expect(of(b, 'typing')).toHaveLength(1);
    expect(of(c, 'typing')).toHaveLength(2);
    expect(of(a1, 'typing').map((f) => f.user.id)).toEqual([bob.id]); // never my own
    expect(of(a1, 'error').concat(of(a2, 'error'))).toEqual([]);
    expect(of(e, 'typing')).toEqual([]); // never to non-members
    // A conversation that is not mine is refused, and nothing is relayed into it.
    a1.send({ type: 'typing', conversationId: eveChat });
    const err = await a1.next((f) => f.type === 'error');
    expect(err.error.code).toBe('ERR_CONVERSATION_NOT_FOUND');
    a1.send({ type: 'typing', conversationId: cid, extra: 1 });
    expect(
      (await a1.next((f) => f.type === 'error' && f.error.code === 'ERR_VALIDATION')).error.message,
    ).toMatch(/extra/);
    await Promise.all([b, e].map(flushed));
    expect(of(e, 'typing')).toEqual([]);
    expect(of(b, 'typing')).toHaveLength(1);
    for (const x of [a1, a2, b, c, e]) fits(x);
    expect(s.server.stats().sockets).toBe(5);
  });

  it('presence: a user online on several devices is one presence; the list carries online and lastSeen', async () => {
    const [alice, bob, eve] = await Promise.all([
      register(s.url),
      register(s.url),
      register(s.url),
    ]);
    const cid = await chat(s.url, alice, bob);
    const before = await api(s.url, 'GET', `/api/conversations/${cid}`, { token: alice.token });
    expect(before.body.members.find((m: { id: string }) => m.id === bob.id)).toEqual({
      id: bob.id,
      username: bob.username,
      online: false,
      lastSeen: null,
      readSeq: 0,
      deliveredSeq: 0,
    });
    const a = await open(s.url, alice);
    const e = await open(s.url, eve);
    const t0 = Date.now();
    const b1 = await open(s.url, bob);
    const on = await a.next((f) => f.type === 'presence' && f.user.id === bob.id);
    expect(on).toMatchObject({
      type: 'presence',
      user: { id: bob.id, username: bob.username },
      online: true,
    });
    expect(on.lastSeen).toBeGreaterThanOrEqual(t0 - 1000);
    // Alice came online before: Bob is told nothing of it now, but the list says so.
    const list = await api(s.url, 'GET', '/api/conversations', { token: bob.token });
    const members = list.body.conversations.find((x: { id: string }) => x.id === cid).members;
    expect(members.find((m: { id: string }) => m.id === alice.id)).toMatchObject({ online: true });
    expect(members.find((m: { id: string }) => m.id === bob.id)).toMatchObject({ online: true });
    const b2 = await open(s.url, bob); // a second device: no second "online"
    await b2.close(); // one of two closes: still online
    await b1.next((f) => f.type === 'hello');
    await new Promise((r) => setTimeout(r, 300));
    await flushed(a);
    expect(of(a, 'presence').filter((f) => f.user.id === bob.id)).toHaveLength(1);
    await b1.close();
    const off = await a.next((f) => f.type === 'presence' && f.user.id === bob.id && !f.online);
    expect(off.lastSeen).toBeGreaterThanOrEqual(on.lastSeen);
    const after = await api(s.url, 'GET', `/api/conversations/${cid}`, { token: alice.token });
    expect(after.body.members.find((m: { id: string }) => m.id === bob.id)).toMatchObject({
      online: false,
      lastSeen: off.lastSeen,
    });
    await flushed(e);
    expect(of(e, 'presence')).toEqual([]); // not a contact of bob
    fits(a);
  });

  it('read receipts: the other members get who read how far; my devices get my position', async () => {
    const [alice, bob, carol, eve] = await Promise.all([
      register(s.url),
      register(s.url),
      register(s.url),
      register(s.url),
    ]);
    const cid = await chat(s.url, alice, bob, carol);
    const [a1, a2, b, c, e] = await Promise.all([
      open(s.url, alice),
      open(s.url, alice),
      open(s.url, bob),
      open(s.url, carol),
      open(s.url, eve),
    ]);
    for (let i = 1; i <= 3; i++) {
      b.send({
        type: 'send',
        conversationId: cid,
        clientId: `m${i}`,
        kind: 'text',
        text: `hi ${i}`,
      });
      await b.next((f) => f.type === 'ack' && f.clientId === `m${i}`);
    }
    a1.send({ type: 'read', conversationId: cid, seq: 2 });
    expect(await b.next((f) => f.type === 'read')).toEqual({
      type: 'read',
      conversationId: cid,
      user: { id: alice.id, username: alice.username },
      seq: 2,
    });
    expect(await c.next((f) => f.type === 'read')).toMatchObject({
      user: { id: alice.id },
      seq: 2,
    });
    expect(await a2.next((f) => f.type === 'read')).toEqual({
      type: 'read',
      conversationId: cid,
      seq: 2,
    });
    // The REST twin does the same.
    const r = await api(s.url, 'POST', `/api/conversations/${cid}/read`, {
      token: carol.token,
      json: { seq: 3 },
    });
    expect(r.body).toEqual({ readSeq: 3 });
    expect(await b.next((f) => f.type === 'read' && f.user?.id === carol.id)).toMatchObject({
      seq: 3,
    });
    expect(await a1.next((f) => f.type === 'read' && f.user?.id === carol.id)).toMatchObject({
      seq: 3,
    });
    await Promise.all([e, c].map(flushed));
    expect(of(e, 'read')).toEqual([]);
    expect(of(c, 'read').filter((f) => f.user?.id === carol.id)).toEqual([]); // mine come without user
    // A reconnecting client learns who read what from the list.
    const list = await api(s.url, 'GET', `/api/conversations/${cid}`, { token: bob.token });
    const readSeq = Object.fromEntries(
      list.body.members.map((m: { username: string; readSeq: number }) => [m.username, m.readSeq]),
    );
    expect(readSeq).toEqual({ [alice.username]: 2, [bob.username]: 0, [carol.username]: 3 });
    for (const x of [a1, a2, b, c]) fits(x);
  });
});

describe.skipIf(process.env.CLIPCHAT_TEST_POSTGRES === '0')(
  'typing, presence and read receipts across two nodes',
  () => {
    let schema: TestSchema;
    const servers: ClipchatServer[] = [];
    const dirs: string[] = [];
    afterAll(async () => {
      await Promise.all(servers.map((x) => x.close()));
      await schema?.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    async function node(prefix: string): Promise<string> {
      const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-alive-'));
      dirs.push(dataDir);
      const store = new PostgresStore({ url: schema.url, poolSize: 4 });
      const bus = await createRedisBus({ url: TEST_REDIS_URL, prefix });
      const server = await createServer({ dataDir, store, bus, logger: false, rateLimits: false });
      servers.push(server);
      return server.listen({ port: 0 });
    }

    it('reach users on the other node; devices on both nodes are one presence', async () => {
      schema = await createTestSchema();
      const prefix = testChannelPrefix();
      const n1 = await node(prefix);
      const n2 = await node(prefix);
      const [alice, bob] = await Promise.all([register(n1), register(n2)]);
      const cid = await chat(n1, alice, bob);
      const a = await open(n1, alice);
      const b1 = await open(n2, bob);
      expect(await a.next((f) => f.type === 'presence')).toMatchObject({
        user: { id: bob.id },
        online: true,
      });
      // Bob's second device, on the other node: no new presence; the list on either node says online.
      const b2 = await open(n1, bob);
      for (const url of [n1, n2]) {
        const c = await api(url, 'GET', `/api/conversations/${cid}`, { token: alice.token });
        expect(c.body.members.find((m: { id: string }) => m.id === bob.id).online).toBe(true);
      }
      a.send({ type: 'typing', conversationId: cid });
      for (const x of [b1, b2])
        expect(await x.next((f) => f.type === 'typing')).toMatchObject({
          conversationId: cid,
          user: { id: alice.id },
        });
      b1.send({ type: 'send', conversationId: cid, clientId: 'x', kind: 'text', text: 'hello' });
      await a.next((f) => f.type === 'message');
      a.send({ type: 'read', conversationId: cid, seq: 1 });
      for (const x of [b1, b2])
        expect(await x.next((f) => f.type === 'read')).toMatchObject({
          user: { id: alice.id },
          seq: 1,
        });
      await b1.close(); // the node-2 device goes; node 1 still holds one
      await new Promise((r) => setTimeout(r, 300));
      await flushed(a);
      expect(of(a, 'presence')).toHaveLength(1);
      await b2.close();
      expect(await a.next((f) => f.type === 'presence' && !f.online)).toMatchObject({
        user: { id: bob.id },
      });
      const c = await api(n2, 'GET', `/api/conversations/${cid}`, { token: alice.token });
      expect(c.body.members.find((m: { id: string }) => m.id === bob.id)).toMatchObject({
        online: false,
      });
      fits(a);
    });
  },
);
