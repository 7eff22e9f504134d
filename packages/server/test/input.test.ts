import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { backends } from './backends';
import { api, Client, register, start, type Running, type TestUser } from './helpers';

describe.each(backends)('bad input, auth and security over $name', (backend) => {
  let s: Running;
  let alice: TestUser;
  let bob: TestUser;
  let cid: string;
  beforeAll(async () => {
    s = await start(backend);
    alice = await register(s.url);
    bob = await register(s.url);
    cid = (
      await api(s.url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username] },
      })
    ).body.id;
  });
  afterAll(async () => {
    await s?.close();
  });

  const raw = (method: string, path: string, body: string, headers: Record<string, string> = {}) =>
    api(s.url, method, path, {
      token: alice.token,
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });

  it('answers every malformed REST request with a 4xx from the catalogue and stores nothing', async () => {
    const cases: [string, Promise<any>, number, string][] = [
      [
        'bad JSON',
        raw('POST', `/api/conversations/${cid}/messages`, '{"clientId": "a", '),
        400,
        'ERR_BAD_JSON',
      ],
      ['empty JSON', raw('POST', `/api/conversations/${cid}/messages`, ''), 400, 'ERR_BAD_JSON'],
      [
        'missing clientId',
        raw('POST', `/api/conversations/${cid}/messages`, '{"kind":"text","text":"x"}'),
        400,
        'ERR_VALIDATION',
      ],
      [
        'wrong type',
        raw(
          'POST',
          `/api/conversations/${cid}/messages`,
          '{"clientId":5,"kind":"text","text":"x"}',
        ),
        400,
        'ERR_VALIDATION',
      ],
      [
        'unknown kind',
        raw(
          'POST',
          `/api/conversations/${cid}/messages`,
          '{"clientId":"a","kind":"video","text":"x"}',
        ),
        400,
        'ERR_VALIDATION',
      ],
      [
        'extra field',
        raw(
          'POST',
          `/api/conversations/${cid}/messages`,
          '{"clientId":"a","kind":"text","text":"x","admin":true}',
        ),
        400,
        'ERR_VALIDATION',
      ],
      [
        'empty text',
        raw(
          'POST',
          `/api/conversations/${cid}/messages`,
          '{"clientId":"a","kind":"text","text":""}',
        ),
        400,
        'ERR_VALIDATION',
      ],
      [
        'still without media',
        raw('POST', `/api/conversations/${cid}/messages`, '{"clientId":"a","kind":"still"}'),
        400,
        'ERR_VALIDATION',
      ],
      [
        'bad source',
        raw(
          'POST',
          `/api/conversations/${cid}/messages`,
          '{"clientId":"a","kind":"text","text":"x","source":{"video":"v","from":3}}',
        ),
        400,
        'ERR_VALIDATION',
      ],
      [
        'array body',
        raw('POST', `/api/conversations/${cid}/messages`, '[1,2]'),
        400,
        'ERR_VALIDATION',
      ],
      [
        'too long text',
        raw(
          'POST',
          `/api/conversations/${cid}/messages`,
          JSON.stringify({ clientId: 'a', kind: 'text', text: 'x'.repeat(8001) }),
        ),
        400,
        'ERR_VALIDATION',
      ],
      [
        'body too large',
        raw(
          'POST',
          `/api/conversations/${cid}/messages`,
          JSON.stringify({ clientId: 'a', kind: 'text', text: 'x'.repeat(70_000) }),
        ),
        413,
        'ERR_PAYLOAD_TOO_LARGE',
      ],
      [
        'unknown conversation',
        raw(
          'POST',
          '/api/conversations/nope/messages',
          '{"clientId":"a","kind":"text","text":"x"}',
        ),
        404,
        'ERR_CONVERSATION_NOT_FOUND',
      ],
      [
        'unknown media',
        raw(
          'POST',
          `/api/conversations/${cid}/messages`,
          '{"clientId":"a","kind":"still","mediaId":"abc"}',
        ),
        404,
        'ERR_MEDIA_NOT_FOUND',
      ],
      [
        'history of unknown',
        api(s.url, 'GET', '/api/conversations/nope/messages', { token: alice.token }),
        404,
        'ERR_CONVERSATION_NOT_FOUND',
      ],
      [
        'bad limit',
        api(s.url, 'GET', `/api/conversations/${cid}/messages?limit=abc`, { token: alice.token }),
        400,
        'ERR_VALIDATION',
      ],
      [
        'limit out of range',
        api(s.url, 'GET', `/api/conversations/${cid}/messages?limit=1000`, { token: alice.token }),
        400,
        'ERR_VALIDATION',
      ],
      [
        'unknown member',
        raw('POST', '/api/conversations', '{"members":["nobody-here"]}'),
        404,
        'ERR_USER_NOT_FOUND',
      ],
      [
        'members not array',
        raw('POST', '/api/conversations', '{"members":"bob"}'),
        400,
        'ERR_VALIDATION',
      ],
      [
        'only me',
        raw('POST', '/api/conversations', JSON.stringify({ members: [alice.username] })),
        400,
        'ERR_VALIDATION',
      ],
      [
        'text/plain body',
        raw('POST', '/api/conversations', '{"members":["x"]}', { 'content-type': 'text/plain' }),
        415,
        'ERR_UNSUPPORTED_MEDIA',
      ],
      [
        'unknown route',
        api(s.url, 'GET', '/api/nothing', { token: alice.token }),
        404,
        'ERR_NOT_FOUND',
      ],
      ['no auth', api(s.url, 'GET', '/api/conversations'), 401, 'ERR_UNAUTHENTICATED'],
      [
        'bad token',
        api(s.url, 'GET', '/api/conversations', { token: 'forged' }),
        401,
        'ERR_UNAUTHENTICATED',
      ],
      [
        'read seq negative',
        raw('POST', `/api/conversations/${cid}/read`, '{"seq":-1}'),
        400,
        'ERR_VALIDATION',
      ],
    ];
    for (const [name, p, status, code] of cases) {
      const r = await p;
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(status);
      expect(r.body.error.code, name).toBe(code);
      expect(typeof r.body.error.message, name).toBe('string');
    }
    const hist = await api(s.url, 'GET', `/api/conversations/${cid}/messages`, {
      token: alice.token,
    });
    expect(hist.body.messages).toHaveLength(0);
  });

  it('answers malformed WebSocket frames with error events and keeps the socket usable', async () => {
    const c = await Client.open(s.url, alice.token);
    const frames: [unknown, string][] = [
      ['not json', 'ERR_BAD_JSON'],
      ['[1,2,3]', 'ERR_VALIDATION'],
      ['"a string"', 'ERR_VALIDATION'],
      ['{"type":"dance"}', 'ERR_UNKNOWN_TYPE'],
      ['{"notype":1}', 'ERR_VALIDATION'],
      [{ type: 'send', conversationId: cid, kind: 'text', text: 'no client id' }, 'ERR_VALIDATION'],
      [
        { type: 'send', clientId: 'w1', conversationId: cid, kind: 'text', text: 42 },
        'ERR_VALIDATION',
      ],
      [
        { type: 'send', clientId: 'w2', conversationId: 'nope', kind: 'text', text: 'x' },
        'ERR_CONVERSATION_NOT_FOUND',
      ],
      [
        { type: 'send', clientId: 'w3', conversationId: cid, kind: 'sticker', stickerId: 'nope' },
        'ERR_STICKER_NOT_FOUND',
      ],
      [{ type: 'sync', since: { [cid]: 'zero' } }, 'ERR_VALIDATION'],
      [{ type: 'sync', since: { nope: 0 } }, 'ERR_CONVERSATION_NOT_FOUND'],
      [{ type: 'read', conversationId: cid, seq: 1.5 }, 'ERR_VALIDATION'],
      [{ type: 'read', conversationId: 'nope', seq: 1 }, 'ERR_CONVERSATION_NOT_FOUND'],
    ];
    for (const [f, code] of frames) {
      const before = c.frames.length;
      c.send(f);
      const e = await c.next((x) => x.type === 'error' && c.frames.indexOf(x) >= before);
      expect(e.error.code, JSON.stringify(f)).toBe(code);
    }
    const w2 = c.frames.find((x) => x.type === 'error' && x.clientId === 'w2');
    expect(w2).toBeTruthy();
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(
      (
        await c.next(
          (x) =>
            x.type === 'error' &&
            x.error.code === 'ERR_BAD_JSON' &&
            x.error.message.includes('binary'),
        )
      ).error.code,
    ).toBe('ERR_BAD_JSON');
    c.send({ type: 'ping' });
    await c.next((x) => x.type === 'pong');
    c.send({
      type: 'send',
      clientId: 'ok',
      conversationId: cid,
      kind: 'text',
      text: 'still works',
    });
    expect((await c.next((x) => x.type === 'ack')).seq).toBe(1);
    // An oversized frame closes that socket only (1009); the server stays up.
    const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
    c.send('x'.repeat(200 * 1024));
    expect(await closed).toBe(1009);
    expect((await api(s.url, 'GET', '/healthz')).status).toBe(200);
    // Upgrades without a session are refused.
    const anon = new WebSocket(s.url.replace('http', 'ws') + '/ws');
    const status = await new Promise<number>((r) =>
      anon.on('unexpected-response', (_req, res) => r(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
  });

  it('accounts: usernames checked, same error for wrong user and password, cookies with CSRF, logout', async () => {
    const reg = (username: unknown, password: unknown) =>
      api(s.url, 'POST', '/api/auth/register', { json: { username, password } });
    expect((await reg('a', 'long enough')).body.error.code).toBe('ERR_INVALID_USERNAME');
    expect((await reg('bad name!', 'long enough')).body.error.code).toBe('ERR_INVALID_USERNAME');
    expect((await reg('<script>', 'long enough')).body.error.code).toBe('ERR_INVALID_USERNAME');
    expect((await reg('okname', 'short')).body.error.code).toBe('ERR_WEAK_PASSWORD');
    expect((await reg(12, 'long enough')).body.error.code).toBe('ERR_VALIDATION');
    expect((await reg(alice.username.toUpperCase(), 'long enough')).body.error.code).toBe(
      'ERR_USERNAME_TAKEN',
    );

    const login = (username: string, password: string) =>
      api(s.url, 'POST', '/api/auth/login', { json: { username, password } });
    const wrongPw = await login(alice.username, 'not the password');
    const noUser = await login('nobody-at-all', 'not the password');
    expect(wrongPw.status).toBe(401);
    expect(noUser.body).toEqual(wrongPw.body);
    const ok = await login(alice.username.toUpperCase(), 'correct horse');
    expect(ok.status).toBe(200);
    const setCookie = ok.headers.getSetCookie();
    const session = setCookie.find((c) => c.startsWith('clipchat_session='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    const cookie = setCookie.map((c) => c.split(';')[0]).join('; ');

    // Cookie auth: reads fine, mutations need the CSRF header.
    const viaCookie = (
      method: string,
      path: string,
      json?: unknown,
      headers: Record<string, string> = {},
    ) => api(s.url, method, path, { json, headers: { cookie, ...headers } });
    expect((await viaCookie('GET', '/api/conversations')).status).toBe(200);
    const noCsrf = await viaCookie('POST', `/api/conversations/${cid}/messages`, {
      clientId: 'c',
      kind: 'text',
      text: 'x',
    });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.code).toBe('ERR_CSRF');
    const withCsrf = await viaCookie(
      'POST',
      `/api/conversations/${cid}/messages`,
      { clientId: 'c', kind: 'text', text: 'x' },
      { 'x-csrf-token': ok.body.csrfToken },
    );
    expect(withCsrf.status).toBe(201);
    const me = await viaCookie('GET', '/api/auth/me');
    expect(me.body).toMatchObject({
      user: { username: alice.username },
      csrfToken: ok.body.csrfToken,
    });
    // Cookie WebSocket from a foreign origin is refused; from our own origin it works.
    const foreign = new WebSocket(s.url.replace('http', 'ws') + '/ws', {
      headers: { cookie, origin: 'http://evil.example' },
    });
    expect(
      await new Promise<number>((r) =>
        foreign.on('unexpected-response', (_q, res) => r(res.statusCode ?? 0)),
      ),
    ).toBe(403);
    const own = new WebSocket(s.url.replace('http', 'ws') + '/ws', {
      headers: { cookie, origin: s.url },
    });
    const own1 = new Client(own);
    await own1.next((f) => f.type === 'hello');
    await own1.close();

    // Logout ends that session only, and closes its sockets.
    const sock = await Client.open(s.url, ok.body.token);
    const other = await Client.open(s.url, alice.token);
    const closedWith = new Promise<number>((r) => sock.ws.once('close', (code) => r(code)));
    expect((await api(s.url, 'POST', '/api/auth/logout', { token: ok.body.token })).status).toBe(
      204,
    );
    expect(await closedWith).toBe(4001);
    other.send({ type: 'ping' });
    await other.next((f) => f.type === 'pong');
    await other.close();
    expect((await api(s.url, 'GET', '/api/conversations', { token: ok.body.token })).status).toBe(
      401,
    );
    expect((await api(s.url, 'GET', '/api/conversations', { token: alice.token })).status).toBe(
      200,
    );
  });

  it('capture settings are per user and validated by the engine schema', async () => {
    const get = await api(s.url, 'GET', '/api/settings/capture', { token: bob.token });
    expect(get.body).toMatchObject({ stillFormat: 'png', fps: 12, maxStickerBytes: 1048576 });
    const put = await api(s.url, 'PUT', '/api/settings/capture', {
      token: bob.token,
      json: { stickerFormat: 'webm', fps: 30, maxSide: 512 },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      stickerFormat: 'webm',
      fps: 30,
      maxSide: 512,
      stillFormat: 'png',
    });
    const bad = await api(s.url, 'PUT', '/api/settings/capture', {
      token: bob.token,
      json: { fps: 500 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'ERR_INVALID_SETTING', field: 'fps' });
    expect(bad.body.error.message).toMatch(/fps/);
    expect(
      (
        await api(s.url, 'PUT', '/api/settings/capture', {
          token: bob.token,
          json: { colour: 'red' },
        })
      ).body.error.code,
    ).toBe('ERR_INVALID_SETTING');
    expect((await api(s.url, 'GET', '/api/settings/capture', { token: bob.token })).body.fps).toBe(
      30,
    );
    expect(
      (await api(s.url, 'GET', '/api/settings/capture', { token: alice.token })).body.fps,
    ).toBe(12);
  });

  it('sends security headers, serves OpenAPI and health', async () => {
    const r = await api(s.url, 'GET', '/healthz');
    expect(r.body).toMatchObject({ status: 'ok' });
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("img-src 'self' blob: data:");
    expect(csp).toContain('ws:');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const docs = await api(s.url, 'GET', '/api/docs');
    expect(docs.body.openapi).toMatch(/^3\./);
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/auth/login',
        '/api/conversations/{id}/messages',
        '/api/media',
        '/media/{id}',
        '/api/stickers',
        '/api/settings/capture',
      ]),
    );
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After on login, register, send and upload', async () => {
    const s = await start(backends[0]!, {
      rateLimits: {
        login: { limit: 2, windowMs: 60_000 },
        register: { limit: 3, windowMs: 60_000 },
        send: { limit: 3, windowMs: 60_000 },
        upload: { limit: 1, windowMs: 60_000 },
      },
    });
    try {
      const a = await register(s.url);
      const b = await register(s.url);
      const third = await api(s.url, 'POST', '/api/auth/register', {
        json: { username: 'third-user', password: 'correct horse' },
      });
      expect(third.status).toBe(201);
      const fourth = await api(s.url, 'POST', '/api/auth/register', {
        json: { username: 'fourth-user', password: 'correct horse' },
      });
      expect(fourth.status).toBe(429);
      expect(fourth.body.error.code).toBe('ERR_RATE_LIMITED');
      expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(0);
      for (let i = 0; i < 2; i++)
        await api(s.url, 'POST', '/api/auth/login', {
          json: { username: a.username, password: 'x'.repeat(8) },
        });
      expect(
        (
          await api(s.url, 'POST', '/api/auth/login', {
            json: { username: a.username, password: 'correct horse' },
          })
        ).status,
      ).toBe(429);
      const cid = (
        await api(s.url, 'POST', '/api/conversations', {
          token: a.token,
          json: { members: [b.username] },
        })
      ).body.id;
      const c = await Client.open(s.url, a.token);
      for (let i = 0; i < 4; i++)
        c.send({ type: 'send', clientId: `r${i}`, conversationId: cid, kind: 'text', text: 'x' });
      const e = await c.next((f) => f.type === 'error');
      expect(e).toMatchObject({ clientId: 'r3', error: { code: 'ERR_RATE_LIMITED' } });
      expect(e.error.retryAfter).toBeGreaterThan(0);
      const rest = await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
        token: a.token,
        json: { clientId: 'rest', kind: 'text', text: 'x' },
      });
      expect(rest.status).toBe(429);
      await api(s.url, 'POST', '/api/media', {
        token: a.token,
        body: Buffer.from('nope nope nope'),
      });
      const up = await api(s.url, 'POST', '/api/media', {
        token: a.token,
        body: Buffer.from('nope nope nope'),
      });
      expect(up.status).toBe(429);
      expect(up.headers.get('retry-after')).toBeTruthy();
      await c.close();
    } finally {
      await s.close();
    }
  });
});
