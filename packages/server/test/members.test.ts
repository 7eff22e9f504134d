// Group members: add (admin), remove (admin) or leave (anyone), rename; system messages say
// who did what; added members read the history, removed ones lose access at once — on each
// backend, and across two nodes whose cached member lists must all be forgotten.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

async function flushed(c: Client): Promise<void> {
  const n = c.frames.filter((f) => f.type === 'pong').length;
  c.send({ type: 'ping' });
  await c.until(() => c.frames.filter((f) => f.type === 'pong').length > n);
}

const say = (c: Client, cid: string, clientId: string, text: string) => {
  c.send({ type: 'send', conversationId: cid, clientId, kind: 'text', text });
  return c.next((f) => f.type === 'ack' && f.clientId === clientId);
};

describe.each(backends)('group members over $name', (backend) => {
  let s: Running;
  beforeAll(async () => {
    s = await start(backend);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('the admin adds and removes, anyone leaves or renames; system messages say so; access follows', async () => {
    const [alice, bob, carol, dave] = await Promise.all([
      register(s.url),
      register(s.url),
      register(s.url),
      register(s.url),
    ]);
    const g = await api(s.url, 'POST', '/api/conversations', {
      token: alice.token,
      json: { members: [bob.username], title: 'trip' },
    });
    const cid = g.body.id as string;
    expect(g.body.adminId).toBe(alice.id);
    const [a, b, c] = await Promise.all([open(s.url, alice), open(s.url, bob), open(s.url, carol)]);
    await say(a, cid, 'm1', 'before carol');

    // Only the admin adds; unknown names are refused without saying which.
    const notAdmin = await api(s.url, 'POST', `/api/conversations/${cid}/members`, {
      token: bob.token,
      json: { members: [carol.username] },
    });
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.body.error).toMatchObject({ code: 'ERR_FORBIDDEN', field: 'members' });
    const unknown = await api(s.url, 'POST', `/api/conversations/${cid}/members`, {
      token: alice.token,
      json: { members: [carol.username, 'nobody-here'] },
    });
    expect(unknown.body.error.code).toBe('ERR_USER_NOT_FOUND');
    const add = await api(s.url, 'POST', `/api/conversations/${cid}/members`, {
      token: alice.token,
      json: { members: [carol.username.toUpperCase(), bob.username] },
    });
    expect(add.status).toBe(200);
    expect(add.body.members.map((m: { username: string }) => m.username).sort()).toEqual(
      [alice.username, bob.username, carol.username].sort(),
    );
    expect(await c.next((f) => f.type === 'conversation')).toEqual({
      type: 'conversation',
      conversationId: cid,
    });
    const sys = await b.next((f) => f.type === 'message' && f.message.kind === 'system');
    expect(sys.message).toMatchObject({
      kind: 'system',
      text: `${alice.username} added ${carol.username}`,
      sender: alice.username,
    });
    // Carol reads the history from before she came, and gets live frames now.
    const hist = await api(s.url, 'GET', `/api/conversations/${cid}/messages`, {
      token: carol.token,
    });
    expect(hist.body.messages.map((m: { text: string }) => m.text)).toEqual([
      'before carol',
      `${alice.username} added ${carol.username}`,
    ]);
    await say(b, cid, 'm2', 'hi carol');
    await c.next((f) => f.type === 'message' && f.message.text === 'hi carol');

    // Rename: any member; a direct conversation has no title or members to change.
    const ren = await api(s.url, 'PATCH', `/api/conversations/${cid}`, {
      token: carol.token,
      json: { title: '  Film night ' },
    });
    expect(ren.status).toBe(200);
    expect(ren.body.title).toBe('Film night');
    expect(
      (
        await a.next(
          (f) =>
            f.type === 'message' && f.message.kind === 'system' && /renamed/.test(f.message.text),
        )
      ).message.text,
    ).toBe(`${carol.username} renamed the group to “Film night”`);
    expect(
      (
        await api(s.url, 'PATCH', `/api/conversations/${cid}`, {
          token: carol.token,
          json: { title: '   ' },
        })
      ).body.error.field,
    ).toBe('title');
    expect(
      (
        await api(s.url, 'PATCH', `/api/conversations/${cid}`, {
          token: carol.token,
          json: { title: 'x'.repeat(101) },
        })
      ).body.error.message,
    ).toMatch(/1–100/);
    const direct = (
      await api(s.url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [dave.username] },
      })
    ).body.id;
    for (const r of [
      await api(s.url, 'PATCH', `/api/conversations/${direct}`, {
        token: alice.token,
        json: { title: 'x' },
      }),
      await api(s.url, 'POST', `/api/conversations/${direct}/members`, {
        token: alice.token,
        json: { members: [bob.username] },
      }),
      await api(s.url, 'DELETE', `/api/conversations/${direct}/members/${dave.username}`, {
        token: alice.token,
      }),
    ])
      expect(r.body.error).toMatchObject({
        code: 'ERR_VALIDATION',
        message: expect.stringMatching(/direct conversation/),
      });

    // Bob may not remove carol; alice may. Carol loses access at once.
    expect(
      (
        await api(s.url, 'DELETE', `/api/conversations/${cid}/members/${carol.username}`, {
          token: bob.token,
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api(s.url, 'DELETE', `/api/conversations/${cid}/members/${dave.username}`, {
          token: alice.token,
        })
      ).body.error.code,
    ).toBe('ERR_USER_NOT_FOUND');
    const rm = await api(s.url, 'DELETE', `/api/conversations/${cid}/members/${carol.username}`, {
      token: alice.token,
    });
    expect(rm.status).toBe(204);
    await b.next(
      (f) =>
        f.type === 'message' && f.message.text === `${alice.username} removed ${carol.username}`,
    );
    await say(b, cid, 'm3', 'carol is gone');
    await a.next((f) => f.type === 'message' && f.message.text === 'carol is gone');
    await flushed(c);
    expect(c.messages(cid).map((m) => m.text)).not.toContain('carol is gone');
    expect(c.messages(cid).map((m) => m.text)).not.toContain(
      `${alice.username} removed ${carol.username}`,
    );
    expect(
      (await api(s.url, 'GET', `/api/conversations/${cid}/messages`, { token: carol.token }))
        .status,
    ).toBe(404);
    c.send({
      type: 'send',
      conversationId: cid,
      clientId: 'sneak',
      kind: 'text',
      text: 'still here?',
    });
    expect((await c.next((f) => f.type === 'error' && f.clientId === 'sneak')).error.code).toBe(
      'ERR_CONVERSATION_NOT_FOUND',
    );
    c.send({ type: 'typing', conversationId: cid });
    expect(
      await c.next(
        (f) => f.type === 'error' && f.error.code === 'ERR_CONVERSATION_NOT_FOUND' && !f.clientId,
      ),
    ).toBeTruthy();

    // The admin leaves: the group keeps one admin (bob, the one left).
    expect(
      (
        await api(s.url, 'DELETE', `/api/conversations/${cid}/members/${alice.username}`, {
          token: alice.token,
        })
      ).status,
    ).toBe(204);
    await b.next((f) => f.type === 'message' && f.message.text === `${alice.username} left`);
    const after = await api(s.url, 'GET', `/api/conversations/${cid}`, { token: bob.token });
    expect(after.body.adminId).toBe(bob.id);
    expect(after.body.members.map((m: { id: string }) => m.id)).toEqual([bob.id]);
    expect(
      (
        await api(s.url, 'POST', `/api/conversations/${cid}/members`, {
          token: bob.token,
          json: { members: [dave.username] },
        })
      ).status,
    ).toBe(200);
    expect(
      (await api(s.url, 'GET', `/api/conversations/${cid}`, { token: alice.token })).status,
    ).toBe(404);
  });

  it('bounds: unknown fields, list size, rate limit', async () => {
    const [alice, bob] = await Promise.all([register(s.url), register(s.url)]);
    const cid = (
      await api(s.url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username], title: 'g' },
      })
    ).body.id;
    const bad = await api(s.url, 'POST', `/api/conversations/${cid}/members`, {
      token: alice.token,
      json: { members: [], x: 1 },
    });
    expect(bad.status).toBe(400);
    const many = await api(s.url, 'POST', `/api/conversations/${cid}/members`, {
      token: alice.token,
      json: { members: Array.from({ length: 257 }, (_, i) => `u${i}`) },
    });
    expect(many.body.error).toMatchObject({ code: 'ERR_VALIDATION', field: 'members' });
  });
});

describe('member changes are rate-limited', () => {
  it('429 past changeMembers', async () => {
    const s = await start(backends[0]!, {
      rateLimits: { changeMembers: { limit: 2, windowMs: 60_000 } },
    });
    try {
      const [alice, bob] = await Promise.all([register(s.url), register(s.url)]);
      const cid = (
        await api(s.url, 'POST', '/api/conversations', {
          token: alice.token,
          json: { members: [bob.username], title: 'g' },
        })
      ).body.id;
      for (const t of ['a', 'b'])
        expect(
          (
            await api(s.url, 'PATCH', `/api/conversations/${cid}`, {
              token: alice.token,
              json: { title: t },
            })
          ).status,
        ).toBe(200);
      const r = await api(s.url, 'PATCH', `/api/conversations/${cid}`, {
        token: alice.token,
        json: { title: 'c' },
      });
      expect(r.status).toBe(429);
      expect(r.body.error.message).toMatch(/member changes and renames/);
    } finally {
      await s.close();
    }
  });
});

describe.skipIf(process.env.CLIPCHAT_TEST_POSTGRES === '0')(
  'group members across two nodes',
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
      const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-members-'));
      dirs.push(dataDir);
      const server = await createServer({
        dataDir,
        store: new PostgresStore({ url: schema.url, poolSize: 4 }),
        bus: await createRedisBus({ url: TEST_REDIS_URL, prefix }),
        logger: false,
        rateLimits: false,
      });
      servers.push(server);
      return server.listen({ port: 0 });
    }

    it('a member removed on one node stops getting frames sent through the other', async () => {
      schema = await createTestSchema();
      const prefix = testChannelPrefix();
      const n1 = await node(prefix);
      const n2 = await node(prefix);
      const [alice, bob, carol] = await Promise.all([register(n1), register(n1), register(n2)]);
      const cid = (
        await api(n1, 'POST', '/api/conversations', {
          token: alice.token,
          json: { members: [bob.username, carol.username], title: 'g' },
        })
      ).body.id;
      const a = await open(n1, alice);
      const c = await open(n2, carol);
      // Node 1 caches the member list by delivering a message.
      await say(a, cid, 'm1', 'one');
      await c.next((f) => f.type === 'message' && f.message.text === 'one');
      // Removed through node 2.
      expect(
        (
          await api(n2, 'DELETE', `/api/conversations/${cid}/members/${carol.username}`, {
            token: alice.token,
          })
        ).status,
      ).toBe(204);
      await a.next((f) => f.type === 'message' && f.message.kind === 'system');
      await say(a, cid, 'm2', 'two');
      a.send({ type: 'typing', conversationId: cid });
      const b = await open(n2, bob);
      await say(b, cid, 'm3', 'three');
      await a.next((f) => f.type === 'message' && f.message.text === 'three');
      await flushed(c);
      expect(c.messages(cid).map((m) => m.text)).toEqual(['one']);
      expect(c.frames.filter((f) => f.type === 'typing')).toEqual([]);
    });
  },
);
