// Delivery receipts (`delivered` frames, `deliveredSeq` in the list) and the bounded
// heartbeat (`ping`/`pong`), on each backend (one node), across two nodes sharing
// PostgreSQL and Redis, and the migration that adds delivered positions to old stores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseServerFrame } from '@clipchat/protocol';
import { createRedisBus } from '../src/bus/redis';
import { createServer, type ClipchatServer } from '../src/index';
import { PostgresStore } from '../src/store/postgres';
import { MIGRATIONS as PG_MIGRATIONS } from '../src/store/postgres-schema';
import { SqliteStore } from '../src/store/sqlite';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../src/store/sqlite-schema';
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

async function positions(
  url: string,
  token: string,
  cid: string,
): Promise<Record<string, { readSeq: number; deliveredSeq: number }>> {
  const r = await api(url, 'GET', `/api/conversations/${cid}`, { token });
  expect(r.status).toBe(200);
  return Object.fromEntries(
    r.body.members.map((m: { username: string; readSeq: number; deliveredSeq: number }) => [
      m.username,
      { readSeq: m.readSeq, deliveredSeq: m.deliveredSeq },
    ]),
  );
}

describe.each(backends)('delivery receipts over $name', (backend) => {
  let s: Running;
  beforeAll(async () => {
    s = await start(backend);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('a delivered position reaches the other members when it moves; it is capped, never lowered, and a read raises it', async () => {
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
    expect(await positions(s.url, bob.token, cid)).toEqual({
      [alice.username]: { readSeq: 0, deliveredSeq: 0 },
      [bob.username]: { readSeq: 0, deliveredSeq: 0 },
      [carol.username]: { readSeq: 0, deliveredSeq: 0 },
    });

    a1.send({ type: 'delivered', conversationId: cid, seq: 2 });
    const receipt = {
      type: 'delivered',
      conversationId: cid,
      user: { id: alice.id, username: alice.username },
      seq: 2,
    };
    expect(await b.next((f) => f.type === 'delivered')).toEqual(receipt);
    expect(await c.next((f) => f.type === 'delivered')).toEqual(receipt);
    // The same again (from another device), or lower: nothing moved, nothing is sent.
    a2.send({ type: 'delivered', conversationId: cid, seq: 2 });
    a1.send({ type: 'delivered', conversationId: cid, seq: 1 });
    // Past the last message: capped at it.
    a1.send({ type: 'delivered', conversationId: cid, seq: 99 });
    expect(await b.next((f) => f.type === 'delivered' && f.seq !== 2)).toMatchObject({
      user: { id: alice.id },
      seq: 3,
    });
    await Promise.all([a1, a2, b, c, e].map(flushed));
    expect(of(b, 'delivered').map((f) => f.seq)).toEqual([2, 3]);
    expect(of(c, 'delivered').map((f) => f.seq)).toEqual([2, 3]);
    expect(of(a1, 'delivered').concat(of(a2, 'delivered'))).toEqual([]); // never to my own devices
    expect(of(e, 'delivered')).toEqual([]); // never to non-members
    expect(of(a1, 'error').concat(of(a2, 'error'))).toEqual([]);

    // Carol reads up to 2: her delivered position follows without a delivered frame.
    c.send({ type: 'read', conversationId: cid, seq: 2 });
    await b.next((f) => f.type === 'read' && f.user?.id === carol.id);
    expect(await positions(s.url, alice.token, cid)).toEqual({
      [alice.username]: { readSeq: 0, deliveredSeq: 3 },
      [bob.username]: { readSeq: 0, deliveredSeq: 0 },
      [carol.username]: { readSeq: 2, deliveredSeq: 2 },
    });
    // Delivered 1 after reading 2 does not move anything back.
    c.send({ type: 'delivered', conversationId: cid, seq: 1 });
    await Promise.all([c, b].map(flushed));
    expect(of(b, 'delivered').filter((f) => f.user.id === carol.id)).toEqual([]);
    expect((await positions(s.url, alice.token, cid))[carol.username]).toEqual({
      readSeq: 2,
      deliveredSeq: 2,
    });

    // Refused frames name the frame they answer.
    e.send({ type: 'delivered', conversationId: cid, seq: 1 });
    expect(await e.next((f) => f.type === 'error')).toMatchObject({
      frame: 'delivered',
      error: { code: 'ERR_CONVERSATION_NOT_FOUND' },
    });
    a1.send({ type: 'delivered', conversationId: cid, seq: -1 });
    expect((await a1.next((f) => f.type === 'error')).error).toMatchObject({
      code: 'ERR_VALIDATION',
      field: 'seq',
    });
    await Promise.all([b].map(flushed));
    expect(of(b, 'delivered').map((f) => f.seq)).toEqual([2, 3]);
    for (const x of [a1, a2, b, c, e]) fits(x);
  });

  it('delivered frames count against markDelivered; pings past maxPingsPer10s go unanswered', async () => {
    const t = await start(backend, {
      rateLimits: { markDelivered: { limit: 2, windowMs: 60_000 } },
      ws: { maxPingsPer10s: 3 },
    });
    try {
      const [alice, bob] = await Promise.all([register(t.url), register(t.url)]);
      const cid = await chat(t.url, alice, bob);
      const a = await open(t.url, alice);
      for (let i = 1; i <= 3; i++) {
        a.send({
          type: 'send',
          conversationId: cid,
          clientId: `m${i}`,
          kind: 'text',
          text: `hi ${i}`,
        });
        await a.next((f) => f.type === 'ack' && f.clientId === `m${i}`);
      }
      const b = await open(t.url, bob);
      for (let i = 1; i <= 3; i++) b.send({ type: 'delivered', conversationId: cid, seq: i });
      const refused = await b.next((f) => f.type === 'error');
      expect(refused).toMatchObject({ frame: 'delivered', error: { code: 'ERR_RATE_LIMITED' } });
      expect(refused.error.retryAfter).toBeGreaterThan(0);
      // The two taken may still be writing (frames are not chained): their result shows up.
      await expect
        .poll(async () => (await positions(t.url, alice.token, cid))[bob.username]!.deliveredSeq, {
          timeout: 10_000,
        })
        .toBe(2);

      // Five pings, then a malformed frame whose error comes back after every pong would.
      for (let i = 0; i < 5; i++) b.send({ type: 'ping' });
      b.send({ type: 'ping', extra: true });
      await b.next((f) => f.type === 'error' && f.error.code === 'ERR_VALIDATION');
      expect(of(b, 'pong')).toHaveLength(3);
      fits(b);
    } finally {
      await t.close();
    }
  });
});

describe.skipIf(process.env.CLIPCHAT_TEST_POSTGRES === '0')(
  'delivery receipts across two nodes',
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
      const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-delivered-'));
      dirs.push(dataDir);
      const store = new PostgresStore({ url: schema.url, poolSize: 4 });
      const bus = await createRedisBus({ url: TEST_REDIS_URL, prefix });
      const server = await createServer({ dataDir, store, bus, logger: false, rateLimits: false });
      servers.push(server);
      return server.listen({ port: 0 });
    }

    it('reach the sender on the other node, and the list on either node says how far', async () => {
      schema = await createTestSchema();
      const prefix = testChannelPrefix();
      const n1 = await node(prefix);
      const n2 = await node(prefix);
      const [alice, bob] = await Promise.all([register(n1), register(n2)]);
      const cid = await chat(n1, alice, bob);
      const a = await open(n1, alice);
      const b = await open(n2, bob);
      a.send({ type: 'send', conversationId: cid, clientId: 'x', kind: 'text', text: 'hello' });
      const m = await b.next((f) => f.type === 'message');
      b.send({ type: 'delivered', conversationId: cid, seq: m.message.seq });
      expect(await a.next((f) => f.type === 'delivered')).toEqual({
        type: 'delivered',
        conversationId: cid,
        user: { id: bob.id, username: bob.username },
        seq: 1,
      });
      for (const url of [n1, n2])
        expect((await positions(url, alice.token, cid))[bob.username]).toEqual({
          readSeq: 0,
          deliveredSeq: 1,
        });
      fits(a);
    });
  },
);

describe('delivered positions of a store made before them', () => {
  const dirs: string[] = [];
  const schemas: TestSchema[] = [];
  afterAll(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    for (const s of schemas) await s.drop();
  });
  const rows = (
    members: string,
  ) => `INSERT INTO users (id, username, password_hash, created_at) VALUES ('u1', 'alice', 'x', 1), ('u2', 'bob', 'x', 1);
    INSERT INTO conversations (id, kind, title, created_by, created_at, last_seq, active_at) VALUES ('c1', 'direct', NULL, 'u1', 1, 3, 2);
    ${members}`;

  it('sqlite: each member starts delivered up to where they had read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clipchat-delivered-migrate-'));
    dirs.push(dir);
    const db = new Database(join(dir, 'clipchat.db'));
    const before = SQLITE_MIGRATIONS.length - 1;
    for (let v = 0; v < before; v++) db.exec(SQLITE_MIGRATIONS[v]!);
    db.pragma(`user_version = ${before}`);
    db.exec(
      rows(
        `INSERT INTO members (conversation_id, user_id, read_seq) VALUES ('c1', 'u1', 3), ('c1', 'u2', 2);`,
      ),
    );
    db.close();
    const s = new SqliteStore({ dataDir: dir });
    await s.init();
    try {
      const [c] = await s.listConversations('u1');
      expect(c!.members.map((m) => [m.username, m.readSeq, m.deliveredSeq])).toEqual([
        ['alice', 3, 3],
        ['bob', 2, 2],
      ]);
      expect(await s.markDelivered('u2', 'c1', 3)).toEqual({ seq: 3, moved: true });
      expect(await s.markDelivered('u2', 'c1', 3)).toEqual({ seq: 3, moved: false });
      expect(await s.markDelivered('nobody', 'c1', 3)).toBeNull();
    } finally {
      await s.close();
    }
  });

  it.skipIf(process.env.CLIPCHAT_TEST_POSTGRES === '0')(
    'postgres: each member starts delivered up to where they had read',
    async () => {
      const schema = await createTestSchema();
      schemas.push(schema);
      const c = new pg.Client({ connectionString: schema.url });
      await c.connect();
      try {
        await c.query(
          'CREATE TABLE clipchat_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
        );
        for (let v = 0; v < PG_MIGRATIONS.length - 1; v++) {
          await c.query(PG_MIGRATIONS[v]!);
          await c.query('INSERT INTO clipchat_migrations VALUES ($1, 0)', [v + 1]);
        }
        await c.query(
          rows(
            `INSERT INTO members (conversation_id, user_id, read_seq) VALUES ('c1', 'u1', 3), ('c1', 'u2', 2);`,
          ),
        );
      } finally {
        await c.end();
      }
      const s = new PostgresStore({ url: schema.url, poolSize: 2 });
      await s.init();
      try {
        const [conv] = await s.listConversations('u1');
        expect(conv!.members.map((m) => [m.username, m.readSeq, m.deliveredSeq])).toEqual([
          ['alice', 3, 3],
          ['bob', 2, 2],
        ]);
        expect(await s.markDelivered('u2', 'c1', 9)).toEqual({ seq: 3, moved: true });
        expect(await s.markDelivered('u2', 'c1', 3)).toEqual({ seq: 3, moved: false });
        expect(await s.markDelivered('nobody', 'c1', 3)).toBeNull();
      } finally {
        await s.close();
      }
    },
  );
});
