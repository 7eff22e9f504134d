// GET /api/conversations/:id/messages around and after a seq, on each backend: the page a
// search result or a quote jumps to, then paging older (before) and newer (after) from it
// without gaps or repeats until both ends; and the bounds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './backends';
import { api, register, start, type Running, type TestUser } from './helpers';

describe.each(backends)('history around a message over $name', (backend) => {
  let s: Running;
  let alice: TestUser, bob: TestUser, eve: TestUser;
  let cid: string;
  const N = 37;
  beforeAll(async () => {
    s = await start(backend, { rateLimits: false });
    [alice, bob, eve] = await Promise.all([register(s.url), register(s.url), register(s.url)]);
    cid = (
      await api(s.url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username] },
      })
    ).body.id;
    for (let i = 1; i <= N; i++) {
      const r = await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
        token: i % 2 ? alice.token : bob.token,
        json: { clientId: `m${i}`, kind: 'text', text: `message number ${i}` },
      });
      expect(r.status).toBe(201);
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  const page = (u: TestUser, q: string) =>
    api(s.url, 'GET', `/api/conversations/${cid}/messages?${q}`, { token: u.token });
  const seqs = (r: { body: { messages: { seq: number }[] } }) => r.body.messages.map((m) => m.seq);
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

  it('centres the page on the message, then pages both ways to the ends', async () => {
    const r = await page(bob, 'around=20&limit=7');
    expect(r.status).toBe(200);
    expect(seqs(r)).toEqual(range(17, 23));
    expect(r.body.messages[3]).toMatchObject({
      seq: 20,
      text: 'message number 20',
      clientId: 'm20',
    });
    expect(r.body).toMatchObject({ before: 17, after: 23 });
    // Newer, page by page, to the newest: no gap, no repeat, and `after` null at the end.
    const got = seqs(r);
    let after: number | null = r.body.after;
    while (after !== null) {
      const next = await page(bob, `after=${after}&limit=5`);
      expect(next.status).toBe(200);
      got.push(...seqs(next));
      after = next.body.after;
    }
    let before: number | null = r.body.before;
    while (before !== null) {
      const prev = await page(bob, `before=${before}&limit=5`);
      got.unshift(...seqs(prev));
      before = prev.body.before;
    }
    expect(got).toEqual(range(1, N));
    // Near the ends the page holds what there is.
    expect(seqs(await page(alice, 'around=2&limit=7'))).toEqual(range(1, 7));
    const end = await page(alice, 'around=36&limit=7');
    expect(seqs(end)).toEqual(range(33, N));
    expect(end.body.after).toBeNull();
    expect(seqs(await page(alice, 'around=1&limit=1'))).toEqual([1]);
    // The latest page has nothing newer; an older page does.
    expect((await page(alice, 'limit=5')).body).toMatchObject({ before: 33, after: null });
    expect((await page(alice, 'before=10&limit=5')).body).toMatchObject({ before: 5, after: 9 });
    expect(seqs(await page(alice, `after=${N}`))).toEqual([]);
  });

  it('is refused with two anchors, a bad seq or limit, and to non-members', async () => {
    const two = await page(alice, 'around=5&before=9');
    expect(two.status).toBe(400);
    expect(two.body.error).toMatchObject({ code: 'ERR_VALIDATION' });
    expect(two.body.error.message).toMatch(/at most one of before, around and after/);
    expect((await page(alice, 'around=-1')).status).toBe(400);
    expect((await page(alice, 'after=x')).status).toBe(400);
    const big = await page(alice, 'around=5&limit=201');
    expect(big.status).toBe(400);
    expect(big.body.error.field).toBe('limit');
    const stranger = await page(eve, 'around=5');
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('ERR_CONVERSATION_NOT_FOUND');
  });
});
