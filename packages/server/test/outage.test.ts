// Storage going away under steady sends: a real PostgreSQL behind a real network cut (a
// TCP proxy of the test's own between the node and 127.0.0.1:5432, which it cuts and
// restores, so no other test is disturbed). Sends during the cut get 503 ERR_UNAVAILABLE
// with retryAfter (REST: body and Retry-After; WebSocket: an error frame), resending the
// refused ones afterwards stores each message once, and the node recovers by itself.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import sharp from 'sharp';
import { createServer as createNetServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type ClipchatServer } from '../src/index';
import { PostgresStore } from '../src/store/postgres';
import { SECURITY_HEADERS } from '../src/http/security';
import { createTestSchema, freePort, type TestSchema } from './pg-helpers';
import { api, Client, register } from './helpers';

/** Forwards 127.0.0.1:port to 127.0.0.1:5432 until cut: a cut drops every link and refuses new ones. */
class CuttableProxy {
  readonly links = new Set<Socket>();
  #server: Server | undefined;
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    const server = createNetServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.links.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          this.links.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r, j) => {
      server.once('error', j);
      server.listen(this.port, '127.0.0.1', () => r());
    });
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const closed = new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    for (const s of this.links) s.destroy();
    await closed;
  }
}

const skip = process.env.CLIPCHAT_TEST_POSTGRES === '0';
let schema: TestSchema | undefined;
let node: ClipchatServer | undefined;
let proxy: CuttableProxy | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-outage-'));
afterAll(async () => {
  await proxy?.cut();
  await node?.close().catch(() => {});
  await schema?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(skip)('PostgreSQL cut off under steady sends (one node)', () => {
  it('answers 503 ERR_UNAVAILABLE with retryAfter during the cut, stores every message once, recovers', async () => {
    schema = await createTestSchema();
    const direct = new URL(schema.url);
    proxy = new CuttableProxy(await freePort(), {
      host: direct.hostname,
      port: Number(direct.port || 5432),
    });
    await proxy.open();
    const viaProxy = new URL(schema.url);
    viaProxy.port = String(proxy.port);
    const store = new PostgresStore({
      url: viaProxy.toString(),
      poolSize: 4,
      connectTimeoutMs: 3000,
    });
    await store.init();
    node = await createServer({ dataDir, store, logger: false, rateLimits: false });
    const url = await node.listen({ port: 0 });

    const alice = await register(url);
    const bob = await register(url);
    const cid = (
      await api(url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username] },
      })
    ).body.id as string;
    const path = `/api/conversations/${cid}/messages`;
    const ws = await Client.open(url, alice.token);

    // Each send is kept until stored, like a client's outbox: clientId → refused answers.
    const outbox = new Map<string, number>();
    const stored = new Set<string>();
    const unavailable: Array<{
      via: string;
      status?: number;
      retryAfter: unknown;
      header?: string | null;
      code: string;
    }> = [];
    const other: unknown[] = [];
    let n = 0;
    const restSend = async (clientId: string) => {
      const r = await api(url, 'POST', path, {
        token: alice.token,
        json: { clientId, kind: 'text', text: `m ${clientId}` },
      });
      if (r.status === 201 || r.status === 200) {
        stored.add(clientId);
        outbox.delete(clientId);
        return;
      }
      outbox.set(clientId, (outbox.get(clientId) ?? 0) + 1);
      if (r.status === 503) {
        unavailable.push({
          via: 'rest',
          status: r.status,
          retryAfter: r.body?.error?.retryAfter,
          header: r.headers.get('retry-after'),
          code: r.body?.error?.code,
        });
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(r.headers.get(k)).toBe(v);
      } else other.push({ status: r.status, body: r.body });
    };
    const wsSend = async (clientId: string) => {
      ws.send({ type: 'send', clientId, conversationId: cid, kind: 'text', text: `m ${clientId}` });
      const f = await ws.next(
        (x) => (x.type === 'ack' || x.type === 'error') && x.clientId === clientId && !x.seen,
        15_000,
      );
      f.seen = true;
      if (f.type === 'ack') {
        stored.add(clientId);
        outbox.delete(clientId);
        return;
      }
      outbox.set(clientId, (outbox.get(clientId) ?? 0) + 1);
      if (f.error.code === 'ERR_UNAVAILABLE')
        unavailable.push({ via: 'ws', retryAfter: f.error.retryAfter, code: f.error.code });
      else other.push(f);
    };
    const steady = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const id = `c${n++}`;
        await (n % 2 ? restSend(id) : wsSend(id));
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    await steady(800);
    const before = stored.size;
    expect(before).toBeGreaterThan(5);
    expect(outbox.size).toBe(0);

    await proxy.cut();
    await steady(2500);
    const refusedDuringCut = unavailable.length;
    // Every send in the cut was refused as unavailable (none as 500), with a wait to honour.
    expect(other).toEqual([]);
    expect(refusedDuringCut).toBeGreaterThan(5);
    expect(unavailable.filter((u) => u.via === 'rest').length).toBeGreaterThan(0);
    expect(unavailable.filter((u) => u.via === 'ws').length).toBeGreaterThan(0);
    for (const u of unavailable) {
      expect(u.code).toBe('ERR_UNAVAILABLE');
      expect(u.retryAfter).toBeGreaterThan(0);
      if (u.via === 'rest') expect(u.header).toBe(String(u.retryAfter));
    }

    await proxy.open();
    // The client resends what was refused (same clientIds) until stored; the node needs no restart.
    const deadline = Date.now() + 30_000;
    while (outbox.size && Date.now() < deadline) {
      for (const id of [...outbox.keys()])
        await (Number(id.slice(1)) % 2 ? wsSend(id) : restSend(id));
      if (outbox.size) await new Promise((r) => setTimeout(r, 500));
    }
    expect([...outbox.keys()]).toEqual([]);
    await steady(500);
    expect(
      other.filter(
        (o) =>
          (o as { status?: number }).status !== 503 &&
          (o as { error?: { code?: string } }).error?.code !== 'ERR_UNAVAILABLE',
      ),
    ).toEqual([]);

    // History: every clientId exactly once, seqs 1..N without a gap.
    const history = (await api(url, 'GET', `${path}?limit=200`, { token: bob.token })).body
      .messages as Array<{ seq: number; clientId: string }>;
    const ids = history.map((m) => m.clientId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(stored);
    expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
    expect(stored.size).toBe(n);
    await ws.close();
    console.log(
      `outage: ${before} stored before the cut, ${refusedDuringCut} refused 503 during 2.5 s, ${n} stored once in all`,
    );
  });
});

// The SQLite data folder on a small tmpfs of the test's own (the tests run as root on
// Clipchat's machines), filled to the last byte and then freed: a real full disk.
describe('SQLite on a disk that fills up (one node)', () => {
  const mnt = mkdtempSync(join(tmpdir(), 'clipchat-full-'));
  let sq: ClipchatServer | undefined;
  afterAll(async () => {
    await sq?.close().catch(() => {});
    try {
      execFileSync('umount', ['-l', mnt]);
    } catch {
      /* not mounted */
    }
    rmSync(mnt, { recursive: true, force: true });
  });

  it('answers 503 ERR_UNAVAILABLE with retryAfter while the disk is full, leaves no partial file, recovers once space is back', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
    sq = await createServer({
      dataDir: join(mnt, 'data'),
      logger: false,
      rateLimits: false,
      sqliteSynchronous: 'normal',
    });
    const url = await sq.listen({ port: 0 });
    const alice = await register(url);
    const bob = await register(url);
    const cid = (
      await api(url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username] },
      })
    ).body.id as string;
    const path = `/api/conversations/${cid}/messages`;
    const text = 'x'.repeat(7000);
    const send = (clientId: string) =>
      api(url, 'POST', path, { token: alice.token, json: { clientId, kind: 'text', text } });
    for (let i = 0; i < 5; i++) expect((await send(`a${i}`)).status).toBe(201);

    // Fill the disk.
    const filler = join(mnt, 'filler');
    const fd = openSync(filler, 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(64 * 1024, 1));
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    closeSync(fd);

    // Sends until the writer needs a page it cannot get (the WAL may still have room for a few).
    const refused: string[] = [];
    const statuses = new Set<number>();
    let i = 0;
    for (; i < 400 && refused.length < 5; i++) {
      const r = await send(`b${i}`);
      statuses.add(r.status);
      if (r.status === 503) {
        expect(r.body.error).toMatchObject({ code: 'ERR_UNAVAILABLE', retryAfter: 2 });
        expect(r.headers.get('retry-after')).toBe('2');
        refused.push(`b${i}`);
      }
    }
    expect(refused.length).toBe(5);
    expect([...statuses].filter((s) => s !== 201 && s !== 503)).toEqual([]);
    // An upload on the full disk: 503 as well, and no temp file left under media/.
    const png = await sharp(randomBytes(160 * 160 * 3), {
      raw: { width: 160, height: 160, channels: 3 },
    })
      .png()
      .toBuffer();
    const up = await api(url, 'POST', '/api/media', {
      token: alice.token,
      body: png,
      headers: { 'content-type': 'image/png' },
    });
    expect(up.status).toBe(503);
    expect(up.body.error.code).toBe('ERR_UNAVAILABLE');
    expect(execFileSync('find', [join(mnt, 'data'), '-name', '*.tmp']).toString()).toBe('');

    rmSync(filler);
    for (const id of refused) expect([200, 201]).toContain((await send(id)).status);
    expect(
      (
        await api(url, 'POST', '/api/media', {
          token: alice.token,
          body: png,
          headers: { 'content-type': 'image/png' },
        })
      ).status,
    ).toBe(201);
    const history = (await api(url, 'GET', `${path}?limit=200`, { token: bob.token })).body
      .messages as Array<{ seq: number; clientId: string }>;
    const ids = history.map((m) => m.clientId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of refused) expect(ids).toContain(id);
    expect(history.map((m) => m.seq)).toEqual(history.map((_, k) => k + 1));
    console.log(
      `full disk: ${i - refused.length} sends fit after the fill, then 5 refused 503; all stored once after freeing`,
    );
  });
});
