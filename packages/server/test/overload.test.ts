// Push-back past capacity, on a real server: while the database cannot keep up (another
// connection holds SQLite's write lock) or the event loop is behind, new sends are refused
// at once with ERR_UNAVAILABLE and retryAfter instead of queuing without bound; what was
// accepted is still acked and delivered, what was refused is not stored and goes in,
// in order, when sent again.
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../src/index';
import { backends } from './backends';
import { api, Client, register, start, type Running } from './helpers';

const sqlite = backends.find((b) => b.name === 'sqlite')!;
let running: Running | undefined;
const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  await running?.close();
  running = undefined;
});

async function pair(s: Running) {
  const alice = await register(s.url);
  const bob = await register(s.url);
  const conv = await api(s.url, 'POST', '/api/conversations', {
    token: alice.token,
    json: { members: [bob.username] },
  });
  const cid = conv.body.id as string;
  const a = await Client.open(s.url, alice.token);
  const b = await Client.open(s.url, bob.token);
  open.push(a, b);
  return { alice, bob, cid, a, b };
}

const text = (cid: string, i: number) => ({
  type: 'send',
  clientId: `m${i}`,
  conversationId: cid,
  kind: 'text',
  text: `message ${i}`,
});

async function history(s: Running, token: string, cid: string): Promise<string[]> {
  const r = await api(s.url, 'GET', `/api/conversations/${cid}/messages?limit=100`, { token });
  expect(r.status).toBe(200);
  return (r.body.messages as { text: string; seq: number }[])
    .sort((x, y) => x.seq - y.seq)
    .map((m) => m.text);
}

describe('overload push-back (sqlite)', () => {
  it('refuses sends at once while writes wait too long, then takes them in order', async () => {
    running = await start(sqlite, { overload: { maxQueuedMs: 300, maxLagMs: 0 } });
    const s = running;
    const { alice, cid, a, b } = await pair(s);
    a.send(text(cid, 0));
    await a.next((f) => f.type === 'ack' && f.clientId === 'm0');

    // Another connection takes the write lock: the server's writer waits on it.
    const lock = new Database(join(s.dataDir, 'clipchat.db'));
    lock.exec('BEGIN IMMEDIATE');
    try {
      for (let i = 1; i <= 5; i++) a.send(text(cid, i));
      await new Promise((r) => setTimeout(r, 450));
      for (let i = 6; i <= 10; i++) a.send(text(cid, i));
      // Refusals come while the lock is still held: the server answers without the database.
      const refused = await Promise.all(
        [6, 7, 8, 9, 10].map((i) =>
          a.next((f) => f.type === 'error' && f.clientId === `m${i}`, 2000),
        ),
      );
      for (const f of refused) {
        expect(f.error.code).toBe('ERR_UNAVAILABLE');
        expect(f.error.retryAfter).toBe(1);
        expect(f.error.message).toMatch(/overloaded: messages have waited \d+ ms to be written/);
      }
      expect(a.frames.filter((f) => f.type === 'ack' && f.clientId !== 'm0')).toEqual([]);
      // The REST twin says the same, with Retry-After.
      const rest = await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
        token: alice.token,
        json: { clientId: 'r1', kind: 'text', text: 'over REST' },
      });
      expect(rest.status).toBe(503);
      expect(rest.body.error.code).toBe('ERR_UNAVAILABLE');
      expect(rest.body.error.retryAfter).toBe(1);
      expect(rest.headers.get('retry-after')).toBe('1');
    } finally {
      lock.exec('COMMIT');
      lock.close();
    }
    // What was accepted is acked and delivered once the database is back.
    for (let i = 1; i <= 5; i++) await a.next((f) => f.type === 'ack' && f.clientId === `m${i}`);
    await b.until(() => b.messages(cid).length === 6);
    expect(await history(s, alice.token, cid)).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => `message ${i}`),
    );

    // After retryAfter the refused ones go in, after the accepted ones.
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 6; i <= 10; i++) a.send(text(cid, i));
    for (let i = 6; i <= 10; i++) await a.next((f) => f.type === 'ack' && f.clientId === `m${i}`);
    await b.until(() => b.messages(cid).length === 11);
    expect(await history(s, alice.token, cid)).toEqual(
      [...Array(11)].map((_, i) => `message ${i}`),
    );
    expect(s.server.stats().delivered).toBeGreaterThan(0);
  });

  it('refuses sends while the event loop is behind, and the socket stays refused for retryAfter', async () => {
    running = await start(sqlite, { overload: { maxLagMs: 100, maxQueuedMs: 0 } });
    const s = running;
    const { alice, cid, a, b } = await pair(s);
    a.send(text(cid, 0));
    await a.next((f) => f.type === 'ack' && f.clientId === 'm0');

    // Frames in flight while the process is stuck for 400 ms (a GC storm, a CPU-starved node).
    for (let i = 1; i <= 3; i++) a.send(text(cid, i));
    const until = performance.now() + 400;
    while (performance.now() < until) {
      /* the event loop is stuck */
    }
    const refused = await a.next((f) => f.type === 'error' && f.clientId === 'm1');
    expect(refused.error.code).toBe('ERR_UNAVAILABLE');
    expect(refused.error.message).toMatch(/overloaded: it is \d+ ms behind its work/);
    // Later sends of this socket are refused too, so nothing overtakes m1.
    for (const i of [2, 3])
      expect((await a.next((f) => f.type === 'error' && f.clientId === `m${i}`)).error.code).toBe(
        'ERR_UNAVAILABLE',
      );
    a.send(text(cid, 4));
    expect((await a.next((f) => f.type === 'error' && f.clientId === 'm4')).error.code).toBe(
      'ERR_UNAVAILABLE',
    );
    // Another user's socket, once the loop has caught up, is not held back.
    await new Promise((r) => setTimeout(r, 600));
    b.send({ ...text(cid, 100), clientId: 'b1', text: 'from bob' });
    await b.next((f) => f.type === 'ack' && f.clientId === 'b1');

    await new Promise((r) => setTimeout(r, 500));
    for (let i = 1; i <= 4; i++) a.send(text(cid, i));
    for (let i = 1; i <= 4; i++) await a.next((f) => f.type === 'ack' && f.clientId === `m${i}`);
    expect(await history(s, alice.token, cid)).toEqual([
      'message 0',
      'from bob',
      'message 1',
      'message 2',
      'message 3',
      'message 4',
    ]);
  });

  it('rejects unusable overload settings before opening anything', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-overload-'));
    try {
      await expect(createServer({ dataDir, overload: { maxLagMs: -1 } })).rejects.toThrow(
        /overload.maxLagMs must be a whole number ≥ 0, got -1/,
      );
      await expect(createServer({ dataDir, overload: { retryAfterSec: 0 } })).rejects.toThrow(
        /overload.retryAfterSec must be a whole number ≥ 1/,
      );
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
