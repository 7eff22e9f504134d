// Rate limits on one node (SQLite, in-memory counters), made by a hostile client against a
// real server: the per-account login backoff, the group flood on a victim, sticker-save and
// mark-read floods, and username enumeration through the create-conversation error.
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS } from '../src/config';
import { backends } from './backends';
import { api, Client, register, start, type Running, type TestUser } from './helpers';

const HOUR = 3_600_000;
const sqlite = backends[0]!;
const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function node(extra: Parameters<typeof start>[1]): Promise<Running> {
  const s = await start(sqlite, extra);
  running.push(s);
  return s;
}

const login = (url: string, username: string, password: string) =>
  api(url, 'POST', '/api/auth/login', { json: { username, password } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `n` calls of `f`, `width` at a time; resolves their results in order. */
async function flood<T>(n: number, width: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await f(i);
    }),
  );
  return out;
}

async function png(seed: number): Promise<Buffer> {
  return sharp({
    create: { width: 8, height: 8, channels: 3, background: { r: seed % 256, g: 40, b: 90 } },
  })
    .png()
    .toBuffer();
}

describe('login backoff per account', () => {
  it('refuses even the right password with a growing retryAfter, accepts it after the wait, and resets on success', async () => {
    const s = await node({
      rateLimits: { login: { limit: 1000, windowMs: 60_000 } },
      loginBackoff: { freeFailures: 2, baseMs: 1000, maxMs: 4000, forgetMs: HOUR },
    });
    const alice = await register(s.url, 'alice-backoff');
    const retries: number[] = [];
    // Two free failures, then each failure doubles the wait before the next try: 1, 2, 4, 4 (cap).
    for (const _ of [1, 2])
      expect((await login(s.url, 'alice-backoff', 'wrong password')).status).toBe(401);
    for (let round = 0; round < 4; round++) {
      const refused = await login(s.url, 'Alice-Backoff', 'correct horse'); // any case: one account
      expect(refused.status, JSON.stringify(refused.body)).toBe(429);
      expect(refused.body.error.code).toBe('ERR_RATE_LIMITED');
      expect(refused.headers.get('set-cookie')).toBeNull();
      expect(refused.body.token).toBeUndefined();
      expect(Number(refused.headers.get('retry-after'))).toBe(refused.body.error.retryAfter);
      retries.push(refused.body.error.retryAfter);
      await sleep(refused.body.error.retryAfter * 1000 + 100);
      if (round < 3) expect((await login(s.url, 'alice-backoff', 'wrong again')).status).toBe(401);
    }
    expect(retries).toEqual([1, 2, 4, 4]);
    // After the wait the right password is accepted, and the failures are forgotten.
    const ok = await login(s.url, 'alice-backoff', 'correct horse');
    expect(ok.status).toBe(200);
    expect(ok.body.user.id).toBe(alice.id);
    expect((await login(s.url, 'alice-backoff', 'wrong password')).status).toBe(401);
    expect((await login(s.url, 'alice-backoff', 'wrong password')).status).toBe(401);
    expect((await login(s.url, 'alice-backoff', 'correct horse')).status).toBe(429);
    // A session made before the attack keeps working while the account backs off.
    expect((await api(s.url, 'GET', '/api/auth/me', { token: alice.token })).status).toBe(200);
  }, 60_000);

  it('backs off unknown usernames the same way, so the answer tells nothing about existence', async () => {
    const s = await node({
      rateLimits: { login: { limit: 1000, windowMs: 60_000 } },
      loginBackoff: { freeFailures: 3, baseMs: 2000, maxMs: 60_000, forgetMs: HOUR },
    });
    await register(s.url, 'carol-exists');
    const trace = async (name: string) => {
      const out: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await login(s.url, name, 'not the password');
        out.push(
          `${r.status} ${r.body.error.code} ${r.body.error.retryAfter ?? '-'} ${r.body.error.message}`,
        );
      }
      return out;
    };
    const known = await trace('carol-exists');
    const unknown = await trace('carol-never-was');
    expect(known.slice(0, 3).every((l) => l.startsWith('401 ERR_BAD_CREDENTIALS'))).toBe(true);
    expect(known[3]).toMatch(/^429 ERR_RATE_LIMITED 2 /);
    expect(unknown).toEqual(known);
  });

  it('counts parallel guesses before checking them: a burst gets no more than the free failures through', async () => {
    const s = await node({
      rateLimits: { login: { limit: 1000, windowMs: 60_000 } },
      loginBackoff: { freeFailures: 3, baseMs: 60_000, maxMs: 60_000, forgetMs: HOUR },
    });
    await register(s.url, 'dave-burst');
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => login(s.url, 'dave-burst', `guess number ${i}`)),
    );
    const checked = rs.filter((r) => r.status === 401).length;
    expect(checked).toBe(3);
    expect(rs.filter((r) => r.status === 429).length).toBe(37);
  });
});

describe('create-conversation flood', () => {
  it('adds a victim to at most the bound of new groups, however many attackers try (defaults)', async () => {
    const s = await node({ rateLimits: { ...DEFAULT_RATE_LIMITS } });
    const victim = await register(s.url);
    const attackers = await Promise.all(Array.from({ length: 5 }, () => register(s.url)));
    const t0 = Date.now();
    const rs = await flood(1000, 25, (i) =>
      api(s.url, 'POST', '/api/conversations', {
        token: attackers[i % attackers.length]!.token,
        json: { members: [victim.username], title: `spam ${i}` },
      }),
    );
    const minutes = (Date.now() - t0) / 60_000;
    const made = rs.filter((r) => r.status === 201).length;
    expect(rs.every((r) => r.status === 201 || r.status === 429)).toBe(true);
    const list = (await api(s.url, 'GET', '/api/conversations', { token: victim.token })).body
      .conversations as { kind: string }[];
    const groups = list.filter((c) => c.kind === 'group').length;
    // addedToGroup: 20 at once, then one per 3 minutes; the flood took well under that.
    const bound = DEFAULT_RATE_LIMITS.addedToGroup.limit + Math.ceil(minutes * 20);
    expect(groups).toBe(made);
    expect(groups).toBeGreaterThan(0);
    expect(groups).toBeLessThanOrEqual(bound);
    const refused = rs.find((r) => r.status === 429)!;
    expect(refused.body.error.code).toBe('ERR_RATE_LIMITED');
    expect(refused.body.error.retryAfter).toBeGreaterThan(0);
    // Each creator is limited too: one attacker alone cannot make more than its own budget.
    const solo = await register(s.url);
    const other = await register(s.url);
    const mine = await flood(60, 10, (i) =>
      api(s.url, 'POST', '/api/conversations', {
        token: solo.token,
        json: { members: [other.username], title: `g${i}` },
      }),
    );
    expect(mine.filter((r) => r.status === 201).length).toBeLessThanOrEqual(
      DEFAULT_RATE_LIMITS.createConversation.limit + Math.ceil(((Date.now() - t0) / 60_000) * 20),
    );
    expect(mine.filter((r) => r.status === 429).length).toBeGreaterThan(0);
  }, 120_000);

  it('refuses a new group naming a member already at the bound, with who and when', async () => {
    const s = await node({
      rateLimits: {
        addedToGroup: { limit: 2, windowMs: HOUR },
        createConversation: { limit: 100, windowMs: 60_000 },
      },
    });
    const [a, b, victim, friend] = await Promise.all([
      register(s.url),
      register(s.url),
      register(s.url),
      register(s.url),
    ]);
    for (const t of ['x', 'y'])
      expect(
        (
          await api(s.url, 'POST', '/api/conversations', {
            token: a.token,
            json: { members: [victim.username], title: t },
          })
        ).status,
      ).toBe(201);
    const r = await api(s.url, 'POST', '/api/conversations', {
      token: b.token,
      json: { members: [friend.username, victim.username], title: 'z' },
    });
    expect(r.status).toBe(429);
    expect(r.body.error).toMatchObject({ code: 'ERR_RATE_LIMITED', field: 'members' });
    expect(r.body.error.message).toContain(victim.username);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(60);
    // Nothing half-made: the refused group does not exist for anyone.
    const friends = (await api(s.url, 'GET', '/api/conversations', { token: friend.token })).body
      .conversations;
    expect(friends).toHaveLength(0);
    // A direct conversation is one per pair: not counted against the victim.
    expect(
      (
        await api(s.url, 'POST', '/api/conversations', {
          token: b.token,
          json: { members: [victim.username] },
        })
      ).status,
    ).toBe(201);
  });
});

describe('enumerating usernames through create-conversation', () => {
  it('answers one generic error whichever names exist, and the rate limit bounds the probes', async () => {
    const s = await node({ rateLimits: { createConversation: { limit: 8, windowMs: HOUR } } });
    const me = await register(s.url);
    const real = await Promise.all(
      Array.from({ length: 3 }, (_, i) => register(s.url, `enum-real-${i}`)),
    );
    const fake = Array.from({ length: 253 }, (_, i) => `enum-fake-${i}`);
    const probe = async (members: string[]) => {
      const r = await api(s.url, 'POST', '/api/conversations', {
        token: me.token,
        json: { members, title: 'probe' },
      });
      return { status: r.status, body: JSON.stringify(r.body) };
    };
    const answers = [
      await probe([...real.map((u) => u.username), ...fake]), // 3 real among 256
      await probe(fake), // none real
      await probe([real[0]!.username, fake[0]!]), // one of two
      await probe([fake[1]!]), // a single unknown name
      await probe([fake[2]!, real[2]!.username, fake[3]!]),
    ];
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0]!.status).toBe(404);
    const body = JSON.parse(answers[0]!.body);
    expect(body.error.code).toBe('ERR_USER_NOT_FOUND');
    for (const n of [...real.map((u) => u.username), ...fake])
      expect(answers[0]!.body).not.toContain(n);
    // Every probe is counted: after the budget, no answer at all.
    for (let i = 0; i < 3; i++) expect((await probe([fake[10 + i]!])).status).toBe(404);
    const over = await probe([fake[20]!]);
    expect(over.status).toBe(429);
  });
});

describe('sticker save and mark-read floods', () => {
  let s: Running;
  let alice: TestUser;
  let bob: TestUser;

  it('answers 429 to a sticker-save flood and stores only the allowed saves', async () => {
    s = await node({ rateLimits: { saveSticker: { limit: 5, windowMs: HOUR } } });
    alice = await register(s.url);
    const up = await api(s.url, 'POST', '/api/media', { token: alice.token, body: await png(1) });
    expect(up.status).toBe(201);
    const rs = await flood(200, 20, () =>
      api(s.url, 'POST', '/api/stickers', { token: alice.token, json: { mediaId: up.body.id } }),
    );
    expect(rs.filter((r) => r.status === 201).length).toBe(5);
    const refused = rs.filter((r) => r.status === 429);
    expect(refused.length).toBe(195);
    expect(refused[0]!.body.error.code).toBe('ERR_RATE_LIMITED');
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
    const lib = await api(s.url, 'GET', '/api/stickers', { token: alice.token });
    expect(lib.body.stickers).toHaveLength(5);
  });

  it('counts REST and WebSocket read receipts in one budget', async () => {
    s = await node({ rateLimits: { markRead: { limit: 10, windowMs: HOUR } } });
    alice = await register(s.url);
    bob = await register(s.url);
    const cid = (
      await api(s.url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username] },
      })
    ).body.id;
    await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
      token: bob.token,
      json: { clientId: 'm1', kind: 'text', text: 'hi' },
    });
    const rest = await flood(6, 6, () =>
      api(s.url, 'POST', `/api/conversations/${cid}/read`, {
        token: alice.token,
        json: { seq: 1 },
      }),
    );
    expect(rest.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const c = await Client.open(s.url, alice.token);
    for (let i = 0; i < 100; i++) c.send({ type: 'read', conversationId: cid, seq: 1 });
    await c.next(
      () => c.frames.filter((f) => f.type === 'read' || f.type === 'error').length >= 100,
      15_000,
    );
    expect(c.frames.filter((f) => f.type === 'read')).toHaveLength(4);
    const errors = c.frames.filter((f) => f.type === 'error');
    expect(errors).toHaveLength(96);
    expect(errors[0].error).toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect(errors[0].error.retryAfter).toBeGreaterThan(0);
    const after = await api(s.url, 'POST', `/api/conversations/${cid}/read`, {
      token: alice.token,
      json: { seq: 1 },
    });
    expect(after.status).toBe(429);
    expect(after.headers.get('retry-after')).toBeTruthy();
    await c.close();
  });
});
