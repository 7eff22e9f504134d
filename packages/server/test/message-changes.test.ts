/**
 * Replies, reactions, edits and deletes against real servers on both backends: each
 * change reaches every member's sockets as one `update`, is replayed by `sync` after a
 * reconnect, crosses nodes, and is refused with catalogue errors when it must be.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { parseServerFrame } from '@clipchat/protocol';
import { createServer, type ClipchatServer } from '../src/index';
import { backends } from './backends';
import { api, Client, register, start, type Running, type TestUser } from './helpers';

let clientN = 0;
const cid = () => `c${process.pid}-${clientN++}`;

async function pair(s: Running): Promise<{ a: TestUser; b: TestUser; c: TestUser; conv: string }> {
  const a = await register(s.url);
  const b = await register(s.url);
  const c = await register(s.url);
  const conv = (
    await api(s.url, 'POST', '/api/conversations', {
      token: a.token,
      json: { members: [b.username] },
    })
  ).body.id as string;
  return { a, b, c, conv };
}

async function say(
  s: Running,
  u: TestUser,
  conv: string,
  text: string,
  extra: Record<string, unknown> = {},
) {
  const r = await api(s.url, 'POST', `/api/conversations/${conv}/messages`, {
    token: u.token,
    json: { clientId: cid(), kind: 'text', text, ...extra },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.message;
}

const react = (s: Running, u: TestUser, id: string, emoji: string, on = true) =>
  api(
    s.url,
    on ? 'PUT' : 'DELETE',
    `/api/messages/${encodeURIComponent(id)}/reactions/${encodeURIComponent(emoji)}`,
    { token: u.token },
  );
const edit = (s: Running, u: TestUser, id: string, text: unknown) =>
  api(s.url, 'PATCH', `/api/messages/${id}`, { token: u.token, json: { text } });
const del = (s: Running, u: TestUser, id: string) =>
  api(s.url, 'DELETE', `/api/messages/${id}`, { token: u.token });
const updates = (c: Client, id: string) =>
  c.frames.filter((f) => f.type === 'update' && f.message.id === id).map((f) => f.message);
const settle = () => new Promise((r) => setTimeout(r, 150));

describe.each(backends)('message changes ($name)', (backend) => {
  let s: Running;
  beforeAll(async () => {
    s = await start(backend);
  });
  afterAll(async () => {
    await s.close();
  });

  it('a reply names a message of the same conversation, over REST and WebSocket', async () => {
    const { a, b, c, conv } = await pair(s);
    const first = await say(s, a, conv, 'lunch?');
    const reply = await say(s, b, conv, 'yes', { replyTo: first.id });
    expect(reply.replyTo).toBe(first.id);
    expect(first.replyTo).toBeNull();
    const ca = await Client.open(s.url, a.token);
    ca.send({
      type: 'send',
      conversationId: conv,
      clientId: 'ws-reply',
      kind: 'text',
      text: 'where',
      replyTo: reply.id,
    });
    const ack = await ca.next((f) => f.type === 'ack' && f.clientId === 'ws-reply');
    const live = await ca.next((f) => f.type === 'message' && f.message.id === ack.id);
    expect(live.message.replyTo).toBe(reply.id);
    const hist = (
      await api(s.url, 'GET', `/api/conversations/${conv}/messages`, { token: b.token })
    ).body.messages;
    expect(hist.map((m: any) => m.replyTo)).toEqual([null, first.id, reply.id]);
    // A message of another conversation, or none, is refused.
    const other = (
      await api(s.url, 'POST', '/api/conversations', {
        token: a.token,
        json: { members: [c.username] },
      })
    ).body.id;
    const elsewhere = await say(s, a, other, 'hi c');
    for (const replyTo of [elsewhere.id, 'no-such-message']) {
      const r = await api(s.url, 'POST', `/api/conversations/${conv}/messages`, {
        token: a.token,
        json: { clientId: cid(), kind: 'text', text: 'x', replyTo },
      });
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ code: 'ERR_MESSAGE_NOT_FOUND', field: 'replyTo' });
    }
    ca.send({
      type: 'send',
      conversationId: conv,
      clientId: 'ws-bad',
      kind: 'text',
      text: 'x',
      replyTo: elsewhere.id,
    });
    const err = await ca.next((f) => f.type === 'error' && f.clientId === 'ws-bad');
    expect(err.error.code).toBe('ERR_MESSAGE_NOT_FOUND');
    await ca.close();
  });

  it('reactions: add and remove are idempotent, live to both, with order of first use', async () => {
    const { a, b, c, conv } = await pair(s);
    const m = await say(s, a, conv, 'party');
    const [ca, cb] = [await Client.open(s.url, a.token), await Client.open(s.url, b.token)];
    let r = await react(s, b, m.id, '👍');
    expect(r.status).toBe(200);
    expect(r.body.message.reactions).toEqual([{ emoji: '👍', users: [b.username] }]);
    const live = await ca.next((f) => f.type === 'update' && f.message.id === m.id);
    expect(() => parseServerFrame(JSON.stringify(live))).not.toThrow();
    expect(live.message).toEqual(r.body.message);
    await cb.next((f) => f.type === 'update' && f.message.id === m.id);
    expect((await react(s, b, m.id, '👍')).body.message.reactions).toEqual([
      { emoji: '👍', users: [b.username] },
    ]);
    r = await react(s, a, m.id, '👍');
    expect(r.body.message.reactions).toEqual([{ emoji: '👍', users: [b.username, a.username] }]);
    // Any single emoji: a ZWJ family, a flag, a keycap.
    for (const e of ['👩‍👩‍👧', '🇫🇷', '1️⃣']) expect((await react(s, a, m.id, e)).status).toBe(200);
    r = await react(s, b, m.id, '👍', false);
    expect(r.body.message.reactions[0]).toEqual({ emoji: '👍', users: [a.username] });
    expect((await react(s, b, m.id, '👍', false)).status).toBe(200);
    await settle();
    // Five changes made (b's repeat add and repeat remove changed nothing): five updates each.
    expect(updates(ca, m.id)).toHaveLength(6);
    expect(updates(cb, m.id)).toHaveLength(6);
    expect(updates(ca, m.id).map((x) => x.rev)).toEqual(
      [...updates(ca, m.id).map((x) => x.rev)].sort((x, y) => x - y),
    );
    // Bad emoji, outsiders, unknown ids.
    for (const e of ['ab', '👍👍', ':)', 'x']) {
      const bad = await react(s, a, m.id, e);
      expect(bad.status, e).toBe(400);
      expect(bad.body.error.code).toBe('ERR_VALIDATION');
    }
    expect((await react(s, a, m.id, 'x'.repeat(40))).status).toBe(400);
    const out = await react(s, c, m.id, '👍');
    expect(out.status).toBe(404);
    expect(out.body.error.code).toBe('ERR_MESSAGE_NOT_FOUND');
    expect((await react(s, a, 'no-such-id', '👍')).body.error.code).toBe('ERR_MESSAGE_NOT_FOUND');
    await ca.close();
    await cb.close();
  });

  it('at most 20 distinct emoji per message', async () => {
    const { a, b, conv } = await pair(s);
    const m = await say(s, a, conv, 'many');
    const emoji = Array.from('😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘😗😚😙😋');
    for (const e of emoji.slice(0, 20)) expect((await react(s, a, m.id, e)).status).toBe(200);
    const over = await react(s, b, m.id, emoji[20]!);
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('ERR_TOO_MANY_REACTIONS');
    // One of the 20 still works.
    const r = await react(s, b, m.id, emoji[0]!);
    expect(r.status).toBe(200);
    expect(r.body.message.reactions).toHaveLength(20);
    expect(r.body.message.reactions[0].users).toEqual([a.username, b.username]);
  });

  it('edit: the sender only, text only, non-empty and bounded; others get 403, outsiders 404', async () => {
    const { a, b, c, conv } = await pair(s);
    const m = await say(s, a, conv, 'helo');
    const cb = await Client.open(s.url, b.token);
    const r = await edit(s, a, m.id, 'hello');
    expect(r.status).toBe(200);
    expect(r.body.message).toMatchObject({ id: m.id, seq: m.seq, text: 'hello', deletedAt: null });
    expect(r.body.message.editedAt).toBeGreaterThanOrEqual(m.createdAt);
    expect((await cb.next((f) => f.type === 'update' && f.message.id === m.id)).message.text).toBe(
      'hello',
    );
    const forbidden = await edit(s, b, m.id, 'hijacked');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('ERR_FORBIDDEN');
    expect((await edit(s, c, m.id, 'x')).body.error.code).toBe('ERR_MESSAGE_NOT_FOUND');
    for (const text of ['', 'x'.repeat(8001), '\ud83d', 5]) {
      const bad = await edit(s, a, m.id, text);
      expect(bad.status, String(text).slice(0, 10)).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'ERR_VALIDATION', field: 'text' });
    }
    const hist = (
      await api(s.url, 'GET', `/api/conversations/${conv}/messages`, { token: b.token })
    ).body.messages;
    expect(hist[0]).toMatchObject({ text: 'hello', rev: r.body.message.rev });
    await cb.close();
  });

  it('delete: a tombstone in place, media gone when nothing else shows it; edits and reactions refused after', async () => {
    const { a, b, conv } = await pair(s);
    const png = await sharp({
      create: { width: 9, height: 7, channels: 3, background: { r: 200, g: 10, b: 10 } },
    })
      .png()
      .toBuffer();
    const up = await api(s.url, 'POST', '/api/media', {
      token: a.token,
      body: png,
      headers: { 'content-type': 'image/png' },
    });
    expect(up.status).toBe(201);
    const still = (
      await api(s.url, 'POST', `/api/conversations/${conv}/messages`, {
        token: a.token,
        json: {
          clientId: cid(),
          kind: 'still',
          mediaId: up.body.id,
          source: { video: 'v.mp4', at: 2 },
        },
      })
    ).body.message;
    const after = await say(s, b, conv, 'nice');
    expect((await api(s.url, 'GET', `/media/${up.body.id}`, { token: b.token })).status).toBe(200);
    expect((await edit(s, a, still.id, 'text?')).body.error.code).toBe('ERR_NOT_EDITABLE');
    await react(s, b, still.id, '❤️');
    const cb = await Client.open(s.url, b.token);
    expect((await del(s, b, still.id)).body.error.code).toBe('ERR_FORBIDDEN');
    const r = await del(s, a, still.id);
    expect(r.status).toBe(200);
    expect(r.body.message).toMatchObject({
      id: still.id,
      seq: still.seq,
      kind: 'still',
      text: null,
      media: null,
      source: null,
      reactions: [],
    });
    expect(r.body.message.deletedAt).toEqual(expect.any(Number));
    expect(
      (await cb.next((f) => f.type === 'update' && f.message.id === still.id)).message.deletedAt,
    ).toBe(r.body.message.deletedAt);
    const hist = (
      await api(s.url, 'GET', `/api/conversations/${conv}/messages`, { token: b.token })
    ).body.messages;
    expect(hist.map((m: any) => [m.seq, m.deletedAt !== null])).toEqual([
      [still.seq, true],
      [after.seq, false],
    ]);
    // Nothing else referred to the media: it is gone, for the members and from the store.
    expect((await api(s.url, 'GET', `/media/${up.body.id}`, { token: b.token })).status).toBe(404);
    expect((await api(s.url, 'GET', `/media/${up.body.id}`, { token: a.token })).status).toBe(404);
    expect(await s.server.store.getMedia(up.body.id)).toBeNull();
    expect((await edit(s, a, after.id, 'x')).status).toBe(403);
    expect((await react(s, b, still.id, '👍')).body.error.code).toBe('ERR_NOT_EDITABLE');
    expect((await del(s, a, still.id)).status).toBe(200); // idempotent
    await settle();
    expect(updates(cb, still.id)).toHaveLength(1);
    await cb.close();
  });

  it('media shown by another message or a sticker stays when one message is deleted', async () => {
    const { a, b, conv } = await pair(s);
    const png = await sharp({
      create: { width: 5, height: 5, channels: 3, background: { r: 1, g: 100, b: 10 } },
    })
      .png()
      .toBuffer();
    const up = (
      await api(s.url, 'POST', '/api/media', {
        token: a.token,
        body: png,
        headers: { 'content-type': 'image/png' },
      })
    ).body;
    const send = async () =>
      (
        await api(s.url, 'POST', `/api/conversations/${conv}/messages`, {
          token: a.token,
          json: { clientId: cid(), kind: 'still', mediaId: up.id },
        })
      ).body.message;
    const [m1, m2] = [await send(), await send()];
    await del(s, a, m1.id);
    expect((await api(s.url, 'GET', `/media/${up.id}`, { token: b.token })).status).toBe(200);
    expect(
      (await api(s.url, 'POST', '/api/stickers', { token: b.token, json: { mediaId: up.id } }))
        .status,
    ).toBe(201);
    await del(s, a, m2.id);
    // No message shows it any more, but b's library keeps it.
    expect(await s.server.store.getMedia(up.id)).not.toBeNull();
    expect((await api(s.url, 'GET', `/media/${up.id}`, { token: b.token })).status).toBe(200);
  });

  it('sync after a reconnect replays the changes made while away, once', async () => {
    const { a, b, conv } = await pair(s);
    const m1 = await say(s, a, conv, 'one');
    const m2 = await say(s, a, conv, 'two');
    const m3 = await say(s, a, conv, 'three');
    const list = (await api(s.url, 'GET', '/api/conversations', { token: b.token })).body
      .conversations;
    const held = list.find((x: any) => x.id === conv);
    expect(held.lastRev).toBe(0);
    // b is away: a reacts, edits twice, deletes, then sends one more.
    await react(s, a, m1.id, '😂');
    await edit(s, a, m2.id, 'two!');
    await edit(s, a, m2.id, 'two!!');
    await del(s, a, m3.id);
    const m4 = await say(s, a, conv, 'four');
    const cb = await Client.open(s.url, b.token);
    cb.send({ type: 'sync', since: { [conv]: m3.seq }, changes: { [conv]: held.lastRev } });
    const synced = await cb.next((f) => f.type === 'synced');
    expect(() => parseServerFrame(JSON.stringify(synced))).not.toThrow();
    const ups = cb.frames.filter((f) => f.type === 'update').map((f) => f.message);
    // One update per changed message, as it now is, by rev.
    expect(ups.map((u) => u.id)).toEqual([m1.id, m2.id, m3.id]);
    expect(ups[0].reactions).toEqual([{ emoji: '😂', users: [a.username] }]);
    expect(ups[1].text).toBe('two!!');
    expect(ups[2].deletedAt).not.toBeNull();
    expect(cb.messages(conv).map((m) => m.id)).toEqual([m4.id]);
    expect(synced.until[conv]).toBe(m4.seq);
    const now = (
      await api(s.url, 'GET', '/api/conversations', { token: b.token })
    ).body.conversations.find((x: any) => x.id === conv);
    expect(now.lastRev).toBe(4);
    expect(synced.revs[conv]).toBe(4);
    expect(synced.more).toBe(false);
    // From where it now stands, nothing more comes.
    cb.frames.length = 0;
    cb.send({ type: 'sync', since: synced.until, changes: synced.revs });
    const again = await cb.next((f) => f.type === 'synced');
    expect(cb.frames.filter((f) => f.type === 'update' || f.type === 'message')).toEqual([]);
    expect(again.revs[conv]).toBe(4);
    // A bad changes map is refused by the schema.
    cb.send({ type: 'sync', since: {}, changes: { [conv]: -1 } });
    expect((await cb.next((f) => f.type === 'error')).error.code).toBe('ERR_VALIDATION');
    await cb.close();
  });

  it('replayed changes follow the sync page bounds; a client following the pages gets each once', async () => {
    const t = await start(backend, { ws: { syncPageMessages: 5 } });
    try {
      const { a, b, conv } = await pair(t);
      const sent: Awaited<ReturnType<typeof say>>[] = [];
      for (let i = 0; i < 12; i++) sent.push(await say(t, a, conv, `m${i}`));
      for (const m of sent) expect((await react(t, a, m.id, '👍')).status).toBe(200);
      await edit(t, a, sent[3]!.id, 'm3 again');
      const cb = await Client.open(t.url, b.token);
      let since = { [conv]: 12 };
      let changes = { [conv]: 0 };
      const got: any[] = [];
      for (let page = 0; page < 20; page++) {
        cb.frames.length = 0;
        cb.send({ type: 'sync', since, changes });
        const synced = await cb.next((f) => f.type === 'synced');
        const ups = cb.frames.filter((f) => f.type === 'update').map((f) => f.message);
        expect(ups.length).toBeLessThanOrEqual(4); // 5 per page, the conversation counting as one
        got.push(...ups);
        since = { ...since, ...synced.until };
        changes = { ...changes, ...synced.revs };
        if (!synced.more) break;
      }
      // Each changed message once, as it now is; m3's reaction came with its edit.
      expect(got.map((m) => m.id).sort()).toEqual(sent.map((m) => m.id).sort());
      expect(got.find((m) => m.id === sent[3]!.id)).toMatchObject({
        text: 'm3 again',
        reactions: [{ emoji: '👍', users: [a.username] }],
        rev: 13,
      });
      expect(changes[conv]).toBe(13);
      await cb.close();
    } finally {
      await t.close();
    }
  });

  it('cookie sessions need the CSRF header for changes; /api/docs lists the routes', async () => {
    const { a, conv } = await pair(s);
    const m = await say(s, a, conv, 'x');
    const noCsrf = await api(
      s.url,
      'PUT',
      `/api/messages/${m.id}/reactions/${encodeURIComponent('👍')}`,
      { headers: { cookie: a.cookie } },
    );
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.code).toBe('ERR_CSRF');
    const ok = await api(s.url, 'DELETE', `/api/messages/${m.id}`, {
      headers: { cookie: a.cookie, 'x-csrf-token': a.csrfToken },
    });
    expect(ok.status).toBe(200);
    const docs = (await api(s.url, 'GET', '/api/docs')).body;
    expect(Object.keys(docs.paths)).toEqual(
      expect.arrayContaining(['/api/messages/{id}', '/api/messages/{id}/reactions/{emoji}']),
    );
    expect(Object.keys(docs.paths['/api/messages/{id}'])).toEqual(
      expect.arrayContaining(['patch', 'delete']),
    );
  });

  it('changes are rate-limited per user, and edits close after the configured window', async () => {
    const t = await start(backend, {
      rateLimits: { changeMessage: { limit: 3, windowMs: 60_000 } },
      messages: { editWindowMs: 300 },
    });
    try {
      const { a, b, conv } = await pair(t);
      const m = await say(t, a, conv, 'x');
      for (const e of ['👍', '❤️', '😂']) expect((await react(t, b, m.id, e)).status).toBe(200);
      const limited = await react(t, b, m.id, '😮');
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('ERR_RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 500));
      const late = await edit(t, a, m.id, 'y');
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('ERR_NOT_EDITABLE');
      expect(late.body.error.message).toMatch(/edited for 0\.3 s/);
    } finally {
      await t.close();
    }
  });
});

describe('config', () => {
  it('refuses an unusable messages.editWindowMs at start', async () => {
    await expect(
      createServer({
        dataDir: '/nonexistent-never-opened',
        logger: false,
        messages: { editWindowMs: -1 },
      }),
    ).rejects.toThrow(/messages\.editWindowMs/);
  });
});

const pgBackend = backends.find((b) => b.name === 'postgres');
describe.runIf(pgBackend)('message changes across nodes (postgres + redis)', () => {
  let n1: Running;
  let n2: { server: ClipchatServer; url: string };
  beforeAll(async () => {
    n1 = await start(pgBackend!);
    const store = await pgBackend!.makeStore(n1.dataDir);
    const server = await createServer({
      dataDir: n1.dataDir,
      store,
      bus: await pgBackend!.makeBus!(),
      logger: false,
      rateLimits: false,
    });
    n2 = { server, url: await server.listen({ port: 0 }) };
  });
  afterAll(async () => {
    await n2.server.close();
    await n1.close();
  });

  it('a change made on one node reaches a member connected to the other', async () => {
    const { a, b, conv } = await pair(n1);
    const m = await say(n1, a, conv, 'hi');
    const cb = await Client.open(n2.url, b.token);
    await react(n1, a, m.id, '🙏');
    const u1 = await cb.next((f) => f.type === 'update' && f.message.id === m.id, 10_000);
    expect(u1.message.reactions).toEqual([{ emoji: '🙏', users: [a.username] }]);
    const e = await edit(n1, a, m.id, 'hi there');
    expect(e.status).toBe(200);
    const u2 = await cb.next(
      (f) => f.type === 'update' && f.message.rev === e.body.message.rev,
      10_000,
    );
    expect(u2.message.text).toBe('hi there');
    // The other node sees the same store: b reacts there, a's message now carries both.
    const r = await react({ ...n1, url: n2.url }, b, m.id, '🙏');
    expect(r.body.message.reactions).toEqual([{ emoji: '🙏', users: [a.username, b.username] }]);
    await cb.close();
  });
});
