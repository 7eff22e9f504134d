// GET /api/search on each backend: words in text and in a still's source video name, only
// my conversations, newest first, prefix on the last word, diacritics folded the same on
// both backends, and its bounds (query size, words, results, rate, membership).
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './backends';
import { api, register, start, type Running, type TestUser } from './helpers';

describe.each(backends)('search over $name', (backend) => {
  let s: Running;
  let alice: TestUser, bob: TestUser, eve: TestUser;
  let direct: string, group: string, eveChat: string;
  beforeAll(async () => {
    s = await start(backend);
    [alice, bob, eve] = await Promise.all([register(s.url), register(s.url), register(s.url)]);
    direct = (
      await api(s.url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username] },
      })
    ).body.id;
    group = (
      await api(s.url, 'POST', '/api/conversations', {
        token: bob.token,
        json: { members: [alice.username, eve.username], title: 'trip' },
      })
    ).body.id;
    eveChat = (
      await api(s.url, 'POST', '/api/conversations', {
        token: eve.token,
        json: { members: [bob.username] },
      })
    ).body.id;
    const send = async (u: TestUser, cid: string, clientId: string, body: object) => {
      const r = await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
        token: u.token,
        json: { clientId, ...body },
      });
      expect(r.status).toBe(201);
    };
    await send(alice, direct, 'd1', {
      kind: 'text',
      text: 'Shall we watch the Holiday film tonight?',
    });
    await send(bob, direct, 'd2', { kind: 'text', text: 'Yes! The café at 8, then the film.' });
    await send(bob, group, 'g1', { kind: 'text', text: 'Film night in the group, bring snacks' });
    await send(eve, eveChat, 'e1', { kind: 'text', text: 'secret film plans with bob only' });
    const png = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } },
    })
      .png()
      .toBuffer();
    const up = await api(s.url, 'POST', '/api/media', {
      token: alice.token,
      body: png,
      headers: { 'content-type': 'image/png' },
    });
    expect(up.status).toBe(201);
    await send(alice, direct, 'd3', {
      kind: 'still',
      mediaId: up.body.id,
      source: { video: 'BigBuckBunny_trailer.mp4', at: 3.5 },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  const search = (u: TestUser, query: Record<string, string>) =>
    api(s.url, 'GET', `/api/search?${new URLSearchParams(query).toString()}`, { token: u.token });
  const texts = (r: { body: { messages: { text: string | null; clientId: string }[] } }) =>
    r.body.messages.map((m) => m.clientId);

  it('finds words in my conversations only, newest first, whole messages', async () => {
    const r = await search(alice, { q: 'film' });
    expect(r.status).toBe(200);
    expect(texts(r)).toEqual(['g1', 'd2', 'd1']); // not eve's chat with bob
    expect(r.body.messages[0]).toMatchObject({
      conversationId: group,
      sender: bob.username,
      kind: 'text',
      seq: 1,
    });
    expect(texts(await search(bob, { q: 'film' }))).toEqual(['e1', 'g1', 'd2', 'd1']);
    expect(texts(await search(eve, { q: 'FILM' }))).toEqual(['e1', 'g1']);
    // Every word must occur; the last also as a prefix; case and diacritics do not matter.
    expect(texts(await search(alice, { q: 'film tonight' }))).toEqual(['d1']);
    expect(texts(await search(alice, { q: 'holi' }))).toEqual(['d1']);
    expect(texts(await search(alice, { q: 'cafe' }))).toEqual(['d2']);
    expect(texts(await search(alice, { q: 'CAFÉ' }))).toEqual(['d2']);
    expect(texts(await search(alice, { q: 'film popcorn' }))).toEqual([]);
    // A still by its source video name.
    const still = await search(bob, { q: 'bigbuckbunny trailer' });
    expect(texts(still)).toEqual(['d3']);
    expect(still.body.messages[0].media.url).toMatch(/^\/media\//);
    // One conversation; limit.
    expect(texts(await search(alice, { q: 'film', conversationId: direct }))).toEqual(['d2', 'd1']);
    expect(texts(await search(alice, { q: 'film', limit: '1' }))).toEqual(['g1']);
  });

  it('finds stickers by the names and tags I gave them in my library, in my conversations only', async () => {
    const gif = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 8, b: 7 } },
    })
      .gif()
      .toBuffer();
    const up = await api(s.url, 'POST', '/api/media', {
      token: bob.token,
      body: gif,
      headers: { 'content-type': 'image/gif' },
    });
    expect(up.status).toBe(201);
    const saved = await api(s.url, 'POST', '/api/stickers', {
      token: bob.token,
      json: { mediaId: up.body.id, name: 'Öcean wave', tags: ['seaside', 'summer 2026'] },
    });
    expect(saved.status).toBe(201);
    // A conversation of its own (changes here must not move the other tests' revs).
    const lib = (
      await api(s.url, 'POST', '/api/conversations', {
        token: bob.token,
        json: { members: [alice.username], title: 'library' },
      })
    ).body.id as string;
    const sent = await api(s.url, 'POST', `/api/conversations/${lib}/messages`, {
      token: bob.token,
      json: { clientId: 'lib1', kind: 'sticker', stickerId: saved.body.id },
    });
    expect(sent.status).toBe(201);
    // Bob's own names for it: a tag, a tag's second word, the name folded, a prefix, with a text word.
    for (const q of ['seaside', '2026', 'ocean', 'wav', 'summer seas'])
      expect(texts(await search(bob, { q })), q).toEqual(['lib1']);
    expect(texts(await search(bob, { q: 'seaside', conversationId: lib }))).toEqual(['lib1']);
    expect(texts(await search(bob, { q: 'seaside', conversationId: group }))).toEqual([]);
    expect(texts(await search(bob, { q: 'seaside winter' }))).toEqual([]);
    // Alice received it but named nothing: her library does not have it, so her search does not find it by bob's tags.
    expect(texts(await search(alice, { q: 'seaside' }))).toEqual([]);
    // Once she saves it with a tag of her own, hers finds it; eve, not in that chat, never does.
    const hers = await api(s.url, 'POST', '/api/stickers', {
      token: alice.token,
      json: { mediaId: up.body.id, tags: ['waves'] },
    });
    expect(hers.status).toBe(201);
    expect(texts(await search(alice, { q: 'waves' }))).toEqual(['lib1']);
    const evesSave = await api(s.url, 'POST', '/api/stickers', {
      token: eve.token,
      json: { mediaId: up.body.id, tags: ['waves'] },
    });
    expect(evesSave.status).toBe(404); // she may not see it
    expect(texts(await search(eve, { q: 'waves' }))).toEqual([]);
    // Merged with text hits, newest first: a later text message with the word comes before.
    await api(s.url, 'POST', `/api/conversations/${lib}/messages`, {
      token: alice.token,
      json: { clientId: 'lib2', kind: 'text', text: 'waves all day' },
    });
    expect(texts(await search(alice, { q: 'waves' }))).toEqual(['lib2', 'lib1']);
    // Deleted, it is found no more.
    const del = await api(s.url, 'DELETE', `/api/messages/${sent.body.message.id}`, {
      token: bob.token,
    });
    expect(del.status).toBeLessThan(300);
    expect(texts(await search(bob, { q: 'seaside' }))).toEqual([]);
  });

  it('query syntax is never interpreted: quotes, operators and punctuation are plain text', async () => {
    for (const q of [
      '"film',
      'film OR secret',
      'film NOT night',
      "film' & 'secret",
      'NEAR(film secret)',
      'film*',
      'film:*',
      '-film',
      'words:film',
      '(film',
    ]) {
      const r = await search(alice, { q });
      expect(r.status, q).toBe(200);
      expect(
        r.body.messages.every((m: { conversationId: string }) => m.conversationId !== eveChat),
        q,
      ).toBe(true);
    }
    expect(texts(await search(alice, { q: 'film OR secret' }))).toEqual([]); // "or" is a word like any
  });

  it('edits and deletes keep the index true', async () => {
    const sent = await api(s.url, 'POST', `/api/conversations/${direct}/messages`, {
      token: bob.token,
      json: { clientId: 'x1', kind: 'text', text: 'meet at the lighthouse' },
    });
    const id = sent.body.message.id as string;
    expect(texts(await search(alice, { q: 'lighthouse' }))).toEqual(['x1']);
    await s.server.store.changeMessage(id, () => ({
      text: 'meet at the harbour',
      editedAt: Date.now(),
    }));
    expect(texts(await search(alice, { q: 'lighthouse' }))).toEqual([]);
    const edited = await search(alice, { q: 'harbour' });
    expect(texts(edited)).toEqual(['x1']);
    expect(edited.body.messages[0]).toMatchObject({ text: 'meet at the harbour', rev: 1 });
    // Deleted: a tombstone with no text or source, found by nothing.
    await s.server.store.changeMessage(id, () => ({
      text: null,
      media: null,
      source: null,
      reactions: [],
      deletedAt: Date.now(),
    }));
    expect(texts(await search(alice, { q: 'harbour' }))).toEqual([]);
    expect(texts(await search(alice, { q: 'meet' }))).toEqual([]);
  });

  it('is answered from the full-text index, not a scan', async () => {
    const store = s.server.store as unknown as {
      db?: { prepare(q: string): { all(...a: unknown[]): { detail: string }[] } };
      pool?: {
        connect(): Promise<{
          query(q: string, p?: unknown[]): Promise<{ rows: Record<string, string>[] }>;
          release(): void;
        }>;
      };
    };
    if (store.db) {
      const plan = store.db
        .prepare(
          'EXPLAIN QUERY PLAN SELECT rowid FROM message_search WHERE message_search MATCH ? ORDER BY rowid DESC',
        )
        .all('"film"');
      expect(plan.map((r) => r.detail).join('\n')).toMatch(/VIRTUAL TABLE INDEX/);
    } else {
      const c = await store.pool!.connect();
      try {
        // With so few rows the planner may prefer a scan; forbid it to see the index serve the query.
        await c.query('SET enable_seqscan = off');
        const { rows } = await c.query(
          "EXPLAIN SELECT seq FROM messages WHERE clipchat_search_doc(text, source) @@ to_tsquery('simple', $1)",
          ['film'],
        );
        expect(JSON.stringify(rows)).toMatch(/Bitmap Index Scan on messages_search/);
      } finally {
        await c.query('RESET enable_seqscan');
        c.release();
      }
    }
  });

  it('is bounded: query length, words, limit, membership', async () => {
    const bad = async (
      query: Record<string, string>,
      field: string,
      re: RegExp,
      code = 'ERR_VALIDATION',
      status = 400,
    ) => {
      const r = await search(alice, query);
      expect(r.status, JSON.stringify(query)).toBe(status);
      expect(r.body.error).toMatchObject({ code, field });
      expect(r.body.error.message).toMatch(re);
    };
    await bad({ q: 'x'.repeat(201) }, 'q', /1–200 characters/);
    await bad({ q: '' }, 'q', /1–200/);
    await bad({ q: '!!! ...' }, 'q', /at least one word/);
    await bad(
      { q: Array.from({ length: 11 }, (_, i) => `w${i}`).join(' ') },
      'q',
      /at most 10 words, got 11/,
    );
    await bad({ q: 'film', limit: '51' }, 'limit', /1–50/);
    await bad({ q: 'film', limit: '0' }, 'limit', /1–50/);
    await bad({ q: 'film', other: '1' }, 'other', /unknown field/);
    await bad(
      { q: 'film', conversationId: eveChat },
      'conversationId',
      /no conversation/,
      'ERR_CONVERSATION_NOT_FOUND',
      404,
    );
    expect((await api(s.url, 'GET', '/api/search?q=film')).status).toBe(401);
  });
});

describe('search rate limit', () => {
  it('refuses past the per-user limit with 429 and Retry-After', async () => {
    const s = await start(backends[0]!, { rateLimits: { search: { limit: 3, windowMs: 60_000 } } });
    try {
      const u = await register(s.url);
      for (let i = 0; i < 3; i++)
        expect((await api(s.url, 'GET', '/api/search?q=x', { token: u.token })).status).toBe(200);
      const r = await api(s.url, 'GET', '/api/search?q=x', { token: u.token });
      expect(r.status).toBe(429);
      expect(r.body.error.code).toBe('ERR_RATE_LIMITED');
      expect(r.body.error.message).toMatch(/too many searches/);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});
