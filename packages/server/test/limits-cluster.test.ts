// Limits in a cluster: two nodes (in this process) sharing PostgreSQL, Redis delivery and
// Redis limit counters. A limit counted per node is no limit: failures on one node back
// the account off on the other, and per-user and per-victim budgets hold for the pair.
// When Redis goes away, each node falls back to its own counters and keeps answering.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisBus } from '../src/bus/redis';
import type { LoginBackoff, RateLimits } from '../src/config';
import { createRedisLimitStore, type RedisLimitStore } from '../src/http/limit-redis';
import { backendsFromEnv, createServer, type ClipchatServer } from '../src/index';
import { PostgresStore } from '../src/store/postgres';
import { api, register } from './helpers';
import {
  createTestSchema,
  privateRedis,
  testChannelPrefix,
  TEST_REDIS_URL,
  type PrivateRedis,
  type TestSchema,
} from './pg-helpers';

const HOUR = 3_600_000;
let schema: TestSchema | undefined;
let redis: PrivateRedis | undefined;
const servers: ClipchatServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await redis?.stop();
  redis = undefined;
  await schema?.drop();
  schema = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Node {
  url: string;
  limits: RedisLimitStore;
}

/** Two nodes on one fresh schema, one Redis (`url`) and one prefix, with the given limits. */
async function pair(
  url: string,
  rateLimits: Partial<RateLimits>,
  loginBackoff?: Partial<LoginBackoff>,
): Promise<Node[]> {
  schema = await createTestSchema();
  const prefix = testChannelPrefix();
  const out: Node[] = [];
  for (let i = 0; i < 2; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-limits-'));
    dirs.push(dataDir);
    const limits = await createRedisLimitStore({ url, prefix });
    const server = await createServer({
      dataDir,
      logger: false,
      rateLimits,
      loginBackoff,
      limitStore: limits,
      store: new PostgresStore({ url: schema.url, poolSize: 4 }),
      bus: await createRedisBus({ url, prefix }),
    });
    servers.push(server);
    out.push({ url: await server.listen({ port: 0 }), limits });
  }
  return out;
}

const login = (url: string, username: string, password: string) =>
  api(url, 'POST', '/api/auth/login', { json: { username, password } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const png = () =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } })
    .png()
    .toBuffer();

async function until(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe.skipIf(process.env.CLIPCHAT_TEST_POSTGRES === '0')(
  'limits shared by two nodes through Redis',
  () => {
    it('backs an account off on node 2 for failures made on node 1, and lets it in after the wait', async () => {
      const [n1, n2] = await pair(
        TEST_REDIS_URL,
        { login: { limit: 1000, windowMs: 60_000 } },
        { freeFailures: 3, baseMs: 1000, maxMs: 8000, forgetMs: HOUR },
      );
      const erin = await register(n1!.url, `erin-${Date.now()}`);
      for (let i = 0; i < 3; i++)
        expect((await login(n1!.url, erin.username, 'wrong password')).status).toBe(401);
      const refused = await login(n2!.url, erin.username, 'correct horse');
      expect(refused.status).toBe(429);
      expect(refused.body.error.retryAfter).toBe(1);
      await sleep(1100);
      expect((await login(n2!.url, erin.username, 'wrong on node 2')).status).toBe(401);
      const longer = await login(n1!.url, erin.username, 'correct horse');
      expect(longer.status).toBe(429);
      expect(longer.body.error.retryAfter).toBe(2);
      await sleep(2100);
      expect((await login(n1!.url, erin.username, 'correct horse')).status).toBe(200);
      // The success on node 1 cleared the account on node 2 too.
      expect((await login(n2!.url, erin.username, 'wrong password')).status).toBe(401);
      expect((await login(n2!.url, erin.username, 'correct horse')).status).toBe(200);
      expect(n1!.limits.fallbacks + n2!.limits.fallbacks).toBe(0);
    }, 60_000);

    it('holds per-user and per-victim budgets for the pair, not per node', async () => {
      const [n1, n2] = await pair(TEST_REDIS_URL, {
        saveSticker: { limit: 6, windowMs: HOUR },
        addedToGroup: { limit: 5, windowMs: HOUR },
        createConversation: { limit: 1000, windowMs: 60_000 },
      });
      const nodes = [n1!, n2!];
      const alice = await register(n1!.url);
      const victim = await register(n2!.url);
      const attackers = await Promise.all([
        register(n1!.url),
        register(n2!.url),
        register(n1!.url),
      ]);
      const up = await api(n1!.url, 'POST', '/api/media', {
        token: alice.token,
        body: await png(),
      });
      const saves = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          api(nodes[i % 2]!.url, 'POST', '/api/stickers', {
            token: alice.token,
            json: { mediaId: up.body.id },
          }),
        ),
      );
      expect(saves.filter((r) => r.status === 201).length).toBe(6);
      expect(saves.filter((r) => r.status === 429).length).toBe(34);
      const groups = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          api(nodes[i % 2]!.url, 'POST', '/api/conversations', {
            token: attackers[i % 3]!.token,
            json: { members: [victim.username], title: `spam ${i}` },
          }),
        ),
      );
      expect(groups.filter((r) => r.status === 201).length).toBe(5);
      const list = (await api(n1!.url, 'GET', '/api/conversations', { token: victim.token })).body
        .conversations;
      expect(list).toHaveLength(5);
    }, 60_000);

    it('falls back to per-node counters while Redis is down, never failing a request, and shares them again after', async () => {
      redis = await privateRedis();
      const [n1, n2] = await pair(redis.url, { saveSticker: { limit: 3, windowMs: HOUR } });
      const alice = await register(n1!.url);
      const up = await api(n1!.url, 'POST', '/api/media', {
        token: alice.token,
        body: await png(),
      });
      const save = (n: Node, token: string) =>
        api(n.url, 'POST', '/api/stickers', { token, json: { mediaId: up.body.id } });
      await redis.stop();
      await until(() => !n1!.limits.connected && !n2!.limits.connected);
      const down = [];
      for (let i = 0; i < 5; i++)
        down.push((await save(n1!, alice.token)).status, (await save(n2!, alice.token)).status);
      // Each node allows its own 3: the cluster admits 6 while Redis is away, and nothing fails.
      expect(down.filter((s) => s === 201)).toHaveLength(6);
      expect(down.filter((s) => s === 429)).toHaveLength(4);
      expect(n1!.limits.fallbacks).toBeGreaterThan(0);
      await redis.start();
      await until(() => n1!.limits.connected && n2!.limits.connected);
      const bob = await register(n2!.url);
      await api(n2!.url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username] },
      });
      const up2 = await api(n2!.url, 'POST', '/api/media', { token: bob.token, body: await png() });
      const back = [];
      for (let i = 0; i < 3; i++)
        back.push(
          (
            await api(n1!.url, 'POST', '/api/stickers', {
              token: bob.token,
              json: { mediaId: up2.body.id },
            })
          ).status,
        );
      back.push(
        (
          await api(n2!.url, 'POST', '/api/stickers', {
            token: bob.token,
            json: { mediaId: up2.body.id },
          })
        ).status,
      );
      expect(back).toEqual([201, 201, 201, 429]);
    }, 60_000);

    it('is what clipchat serve gets from CLIPCHAT_REDIS_URL: stores with one prefix count together', async () => {
      const env = {
        CLIPCHAT_REDIS_URL: TEST_REDIS_URL,
        CLIPCHAT_REDIS_PREFIX: testChannelPrefix(),
      };
      const a = await backendsFromEnv(env);
      const b = await backendsFromEnv(env);
      try {
        expect(a.describe).toBe('sqlite + redis delivery + shared limits');
        const limit = { limit: 2, windowMs: HOUR };
        const waits = [
          await a.limitStore!.take('k', limit),
          await b.limitStore!.take('k', limit),
          await a.limitStore!.take('k', limit),
        ];
        expect(waits.slice(0, 2)).toEqual([0, 0]);
        // Refill is one per half hour: the third waits about that long.
        expect(waits[2]).toBeGreaterThan(HOUR / 2 - 60_000);
        expect(waits[2]).toBeLessThanOrEqual(HOUR / 2);
      } finally {
        for (const x of [a, b]) {
          await x.limitStore!.close();
          await x.bus!.close();
        }
      }
    });
  },
);
