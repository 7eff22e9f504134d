/**
 * Expired sessions leave the database: the store deletes exactly the expired ones, and a
 * starting server sweeps what expired while it was down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/server';
import { backends } from './backends';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(backends)('sessions over $name', (backend) => {
  it('purges the expired sessions and only those', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-sessions-'));
    dirs.push(dataDir);
    const store = await backend.makeStore(dataDir);
    try {
      const u = (await store.createUser({
        id: 'u1',
        username: 'alice',
        passwordHash: 'x',
        createdAt: 1,
      }))!;
      const now = 1_000_000;
      for (const [hash, expiresAt] of [
        ['old1', now - 1],
        ['old2', now],
        ['live', now + 1],
      ] as const)
        await store.createSession({
          tokenHash: hash,
          userId: u.id,
          csrfToken: 'c',
          createdAt: 1,
          expiresAt,
        });
      expect(await store.purgeExpiredSessions(now)).toBe(2);
      expect(await store.purgeExpiredSessions(now)).toBe(0);
      expect((await store.getSession('live', now))?.userId).toBe(u.id);
      // Still there once it expires, until the next sweep.
      expect(await store.purgeExpiredSessions(now + 1)).toBe(1);
      expect(await store.getSession('live', 0)).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('a starting server deletes sessions that expired while it was down', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-sessions-'));
    dirs.push(dataDir);
    const store = await backend.makeStore(dataDir);
    const u = (await store.createUser({
      id: 'u2',
      username: 'bob',
      passwordHash: 'x',
      createdAt: 1,
    }))!;
    await store.createSession({
      tokenHash: 'gone',
      userId: u.id,
      csrfToken: 'c',
      createdAt: 1,
      expiresAt: Date.now() - 1000,
    });
    await store.createSession({
      tokenHash: 'kept',
      userId: u.id,
      csrfToken: 'c',
      createdAt: 1,
      expiresAt: Date.now() + 3600_000,
    });
    const bus = backend.makeBus ? await backend.makeBus() : undefined;
    const server = await createServer({ dataDir, store, bus, logger: false, rateLimits: false });
    try {
      // The sweep already ran: nothing is left to purge in the past, the live one stays.
      expect(await store.purgeExpiredSessions(Date.now())).toBe(0);
      expect((await store.getSession('kept', Date.now()))?.userId).toBe(u.id);
    } finally {
      await server.close();
    }
  });
});
