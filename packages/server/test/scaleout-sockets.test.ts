// Sockets per user over two real nodes (child processes) sharing PostgreSQL and Redis: the
// cap of 20 counts the sockets on both nodes, a socket closed on one node frees a slot for
// the other, and the sockets of a node killed with SIGKILL stop counting once their
// heartbeat expires.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { openSocket } from '../../../bench/hostile/ws';
import { register } from './helpers';
import { postgresBackend, spawnNode, type NodeProcess } from './pg-helpers';

const running: NodeProcess[] = [];
const sockets: WebSocket[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(running.splice(0).map((n) => n.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const TTL = 1500;

async function open(url: string, token: string): Promise<WebSocket | string> {
  const r = await openSocket(url, token);
  if ('ws' in r) {
    sockets.push(r.ws);
    r.ws.on('error', () => {});
    return r.ws;
  }
  return `${r.status} ${r.code}`;
}

/** Tries to open a socket every 100 ms until one opens or `ms` passes. */
async function openWithin(url: string, token: string, ms: number): Promise<WebSocket | string> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await open(url, token);
    if (typeof r !== 'string' || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

describe.skipIf(process.env.CLIPCHAT_TEST_POSTGRES === '0')(
  'sockets per user over two nodes on PostgreSQL + Redis',
  () => {
    it('the cap of 20 holds over both nodes, frees on close, and forgets a killed node after its TTL', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-sockets-'));
      dirs.push(dataDir);
      const env = postgresBackend.env!(dataDir);
      const [n1, n2] = await Promise.all(
        [0, 1].map(() => spawnNode(env, dataDir, { ws: { socketTtlMs: TTL } })),
      );
      running.push(n1!, n2!);
      const alice = await register(n1!.url);
      const bob = await register(n2!.url);

      const on1: WebSocket[] = [];
      for (let i = 0; i < 12; i++) on1.push((await open(n1!.url, alice.token)) as WebSocket);
      for (let i = 0; i < 8; i++)
        expect(typeof (await open(n2!.url, alice.token))).not.toBe('string');
      expect(on1.every((ws) => typeof ws !== 'string')).toBe(true);
      // 12 + 8: the 21st is refused on either node, before the upgrade.
      expect(await open(n2!.url, alice.token)).toBe('429 ERR_TOO_MANY_SOCKETS');
      expect(await open(n1!.url, alice.token)).toBe('429 ERR_TOO_MANY_SOCKETS');
      // Another user is not affected.
      expect(typeof (await open(n2!.url, bob.token))).not.toBe('string');

      // One closed on node 1 makes room on node 2 (and only one).
      on1.pop()!.close();
      expect(typeof (await openWithin(n2!.url, alice.token, 5000))).not.toBe('string');
      expect(await open(n2!.url, alice.token)).toBe('429 ERR_TOO_MANY_SOCKETS');

      // Node 1 dies holding 11 of alice's sockets: they count until their heartbeat expires,
      // then node 2 admits 11 more, and not a 12th.
      await n1!.kill9();
      expect(await open(n2!.url, alice.token)).toBe('429 ERR_TOO_MANY_SOCKETS');
      const t0 = Date.now();
      expect(typeof (await openWithin(n2!.url, alice.token, 20 * TTL))).not.toBe('string');
      // Heartbeats every TTL/3 kept them alive until the kill: expiry takes about one TTL more.
      expect(Date.now() - t0).toBeGreaterThan(TTL / 3);
      // The dead node's sockets were refreshed at slightly different moments, so they expire
      // within one heartbeat of each other: wait for each of the other 10 as well.
      for (let i = 0; i < 10; i++)
        expect(typeof (await openWithin(n2!.url, alice.token, 20 * TTL))).not.toBe('string');
      expect(await open(n2!.url, alice.token)).toBe('429 ERR_TOO_MANY_SOCKETS');
    }, 120_000);
  },
);
