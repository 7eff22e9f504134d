// Watch along: `watch` frames (play, pause, seek of a shared video) relayed to the other
// members of the conversation, on both backends and across two nodes (Redis bus); members
// only, only videos the sender may see, checked by the schema and rate-limited.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tus from 'tus-js-client';
import { createRedisBus } from '../src/bus/redis';
import { createServer, type ClipchatServer } from '../src/index';
import { PostgresStore } from '../src/store/postgres';
import { backends } from './backends';
import { api, Client, register, start, type Running, type TestUser } from './helpers';
import { createTestSchema, testChannelPrefix, TEST_REDIS_URL, type TestSchema } from './pg-helpers';

const dir = mkdtempSync(join(tmpdir(), 'clipchat-watch-'));
let clip: Buffer;
beforeAll(() => {
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x120:rate=25',
    '-t',
    '2',
    '-c:v',
    'libvpx-vp9',
    '-b:v',
    '100k',
    '-deadline',
    'realtime',
    join(dir, 'w.webm'),
  ]);
  clip = readFileSync(join(dir, 'w.webm'));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clients: Client[] = [];
async function open(url: string, u: TestUser): Promise<Client> {
  const c = await Client.open(url, u.token);
  clients.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** Shares the clip into a new conversation of `from` with `to`: the conversation id and the video's media id. */
async function sharedVideo(
  url: string,
  from: TestUser,
  to: TestUser,
): Promise<{ cid: string; mediaId: string }> {
  const uploadUrl = await new Promise<string>((resolve, reject) => {
    const up = new tus.Upload(clip, {
      endpoint: `${url}/api/uploads`,
      headers: { authorization: `Bearer ${from.token}` },
      retryDelays: [],
      onError: reject,
      onSuccess: () => resolve(up.url!),
    });
    up.start();
  });
  const media = await api(url, 'POST', '/api/media', {
    token: from.token,
    json: { uploadId: uploadUrl.split('/').pop() },
  });
  expect(media.status).toBe(201);
  const cid = (
    await api(url, 'POST', '/api/conversations', {
      token: from.token,
      json: { members: [to.username] },
    })
  ).body.id as string;
  const sent = await api(url, 'POST', `/api/conversations/${cid}/messages`, {
    token: from.token,
    json: { clientId: 'v', kind: 'video', mediaId: media.body.id, source: { video: 'w.webm' } },
  });
  expect(sent.status).toBe(201);
  return { cid, mediaId: media.body.id };
}

const watch = (cid: string, mediaId: string, action: string, at: number, playing: boolean) => ({
  type: 'watch',
  conversationId: cid,
  mediaId,
  video: 'w.webm',
  action,
  at,
  playing,
});

describe.each(backends)('watch along ($name)', (backend) => {
  let s: Running;
  let alice: TestUser;
  let bob: TestUser;
  let eve: TestUser;
  beforeAll(async () => {
    s = await start(backend, { rateLimits: { watch: { limit: 6, windowMs: 60_000 } } });
    [alice, bob, eve] = await Promise.all([register(s.url), register(s.url), register(s.url)]);
  });
  afterAll(async () => s?.close());

  it('relays play, pause and seek to the other members only; outsiders and bad frames are refused', async () => {
    const { cid, mediaId } = await sharedVideo(s.url, alice, bob);
    const [a, b, e] = await Promise.all([open(s.url, alice), open(s.url, bob), open(s.url, eve)]);
    const before = Date.now();
    a.send(watch(cid, mediaId, 'seek', 1.25, false));
    a.send(watch(cid, mediaId, 'play', 1.25, true));
    await b.until(() => b.frames.filter((f) => f.type === 'watch').length === 2);
    const got = b.frames.filter((f) => f.type === 'watch');
    expect(got.map((f) => [f.action, f.at, f.playing])).toEqual([
      ['seek', 1.25, false],
      ['play', 1.25, true],
    ]);
    expect(got[0]).toMatchObject({
      conversationId: cid,
      mediaId,
      video: 'w.webm',
      user: { id: alice.id, username: alice.username },
    });
    expect(got[0].sentAt).toBeGreaterThanOrEqual(before);

    // Eve is no member: refused, and nothing reaches bob. A video alice may not see: refused.
    e.send(watch(cid, mediaId, 'pause', 2, false));
    const refused = await e.next((f) => f.type === 'error');
    expect(refused).toMatchObject({
      frame: 'watch',
      error: { code: 'ERR_CONVERSATION_NOT_FOUND' },
    });
    a.send(watch(cid, 'f'.repeat(64), 'pause', 1, false));
    expect(await a.next((f) => f.type === 'error')).toMatchObject({
      frame: 'watch',
      error: { code: 'ERR_MEDIA_NOT_FOUND', field: 'mediaId' },
    });
    // Out of the schema: a negative time, an unknown action, a missing field.
    for (const [bad, field] of [
      [{ ...watch(cid, mediaId, 'seek', -1, false) }, 'at'],
      [{ ...watch(cid, mediaId, 'rewind', 1, false) }, 'action'],
      [
        { type: 'watch', conversationId: cid, mediaId, action: 'play', at: 1, playing: true },
        'video',
      ],
    ] as const) {
      const n = a.frames.filter((f) => f.type === 'error').length;
      a.send(bad);
      await a.until(() => a.frames.filter((f) => f.type === 'error').length > n);
      const err = a.frames.filter((f) => f.type === 'error').at(-1);
      expect(err.error.code, field).toBe('ERR_VALIDATION');
      expect(err.error.field ?? err.error.message, field).toContain(field);
    }
    // Bob answers with a pause: alice gets it, and has never had her own frames back.
    b.send(watch(cid, mediaId, 'pause', 1.5, false));
    await a.next((f) => f.type === 'watch');
    expect(a.frames.filter((f) => f.type === 'watch').map((f) => f.user.username)).toEqual([
      bob.username,
    ]);
    expect(b.frames.filter((f) => f.type === 'watch')).toHaveLength(2);
    expect(e.frames.filter((f) => f.type === 'watch')).toEqual([]);

    // The limit (6 a minute here) counts alice's relayed and refused frames alike: 3 were
    // relayed or refused past the schema, so the 4th more is refused with a retry time.
    for (let i = 0; i < 4; i++) a.send(watch(cid, mediaId, 'seek', i, false));
    const limited = await a.next((f) => f.type === 'error' && f.error.code === 'ERR_RATE_LIMITED');
    expect(limited.frame).toBe('watch');
    expect(limited.error.retryAfter).toBeGreaterThan(0);
    expect(limited.error.message).toMatch(/watch-along/);
  }, 60_000);
});

describe.skipIf(process.env.CLIPCHAT_TEST_POSTGRES === '0')('watch along across two nodes', () => {
  let schema: TestSchema;
  const servers: ClipchatServer[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((x) => x.close()));
    await schema?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  async function node(prefix: string): Promise<string> {
    const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-watch-node-'));
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

  it('a seek on one node reaches a member connected to the other', async () => {
    schema = await createTestSchema();
    const prefix = testChannelPrefix();
    const n1 = await node(prefix);
    const n2 = await node(prefix);
    const [alice, bob] = await Promise.all([register(n1), register(n2)]);
    const { cid, mediaId } = await sharedVideo(n1, alice, bob);
    const [a, b] = await Promise.all([open(n1, alice), open(n2, bob)]);
    a.send(watch(cid, mediaId, 'seek', 0.75, true));
    const f = await b.next((x) => x.type === 'watch', 10_000);
    expect(f).toMatchObject({
      conversationId: cid,
      mediaId,
      action: 'seek',
      at: 0.75,
      playing: true,
      user: { username: alice.username },
    });
  }, 60_000);
});
