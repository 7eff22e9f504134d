// The HTTP edge under clients that hold sockets instead of using them, spoof their address
// through a proxy, or send what is not HTTP: each attack is made against a real server on
// port 0, and the bound is asserted generously (the machine is busy), never to the tick.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECURITY_HEADERS } from '../src/http/security';
import { backends } from './backends';
import { api, Client, register, start, type Running } from './helpers';

const sqlite = backends[0]!;
const running: Running[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function serve(extra: Parameters<typeof start>[1] = {}): Promise<Running> {
  const r = await start(sqlite, extra);
  running.push(r);
  return r;
}

/** A raw TCP client: what it received, and when the server closed it (ms after opening). */
interface Raw {
  socket: Socket;
  received(): string;
  closed: Promise<number>;
  opened: Promise<void>;
}

function raw(url: string): Raw {
  const { hostname, port } = new URL(url);
  const t0 = Date.now();
  const socket = connect(Number(port), hostname);
  sockets.push(socket);
  let data = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    data += d;
  });
  socket.on('error', () => {});
  const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - t0)));
  const opened = new Promise<void>((r, j) => {
    socket.once('connect', () => r());
    socket.once('close', () => j(new Error('closed before connecting')));
  });
  opened.catch(() => {});
  return { socket, received: () => data, closed, opened };
}

function headersOf(response: string): Record<string, string> {
  const head = response.slice(0, response.indexOf('\r\n\r\n'));
  return Object.fromEntries(
    head
      .split('\r\n')
      .slice(1)
      .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
}

function expectSecurityHeaders(h: Record<string, string> | Headers): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) {
    expect(h instanceof Headers ? h.get(k) : h[k], k).toBe(v);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HTTP edge', () => {
  it('cuts a body trickled byte by byte at the request timeout, with a 408 in the catalogue, and keeps serving others', async () => {
    const { url } = await serve({ http: { requestTimeoutMs: 1500, headersTimeoutMs: 1000 } });
    const c = raw(url);
    await c.opened;
    const { host } = new URL(url);
    c.socket.write(
      `POST /api/auth/login HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n`,
    );
    let sent = 0;
    const trickle = setInterval(() => {
      if (!c.socket.destroyed) {
        c.socket.write('{');
        sent++;
      }
    }, 100);
    // Meanwhile a normal client is served at once.
    const health = await api(url, 'GET', '/healthz');
    expect(health.status).toBe(200);
    const closedAt = await c.closed;
    clearInterval(trickle);
    // Cut after the 1.5 s limit, and long before the 400 s the trickle would need.
    expect(closedAt).toBeGreaterThanOrEqual(1400);
    expect(closedAt).toBeLessThan(15_000);
    expect(sent).toBeLessThan(150);
    const res = c.received();
    expect(res).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)).error.code).toBe('ERR_TIMEOUT');
    expectSecurityHeaders(headersOf(res));
    expect((await api(url, 'GET', '/healthz')).status).toBe(200);
  });

  it('cuts headers trickled byte by byte at the headers timeout', async () => {
    const { url } = await serve({ http: { headersTimeoutMs: 1000, requestTimeoutMs: 5000 } });
    const c = raw(url);
    await c.opened;
    const line = 'GET /healthz HTTP/1.1\r\nx-slow: ' + 'a'.repeat(1000);
    let i = 0;
    const trickle = setInterval(() => {
      if (!c.socket.destroyed && i < line.length) c.socket.write(line[i++]!);
    }, 50);
    const closedAt = await c.closed;
    clearInterval(trickle);
    expect(closedAt).toBeGreaterThanOrEqual(900);
    expect(closedAt).toBeLessThan(10_000);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('caps connections per address and closes idle ones; a normal client is served once they are gone', async () => {
    const { url } = await serve({
      http: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, maxConnectionsPerAddress: 20 },
    });
    const idle = Array.from({ length: 60 }, () => raw(url));
    const closedAt = await Promise.all(idle.map((c) => c.closed));
    // 40 over the cap were refused as they came; the 20 admitted were cut after sending nothing.
    const refused = closedAt.filter((t) => t < 900).length;
    const timedOut = closedAt.filter((t) => t >= 900).length;
    expect(refused).toBeGreaterThanOrEqual(40);
    expect(timedOut).toBeLessThanOrEqual(20);
    expect(Math.max(...closedAt)).toBeLessThan(15_000);
    expect(idle.filter((c) => c.received() === '').length).toBeGreaterThanOrEqual(40);
    const health = await api(url, 'GET', '/healthz');
    expect(health.status).toBe(200);
  });

  it('under the cap, a normal client is served while others idle; idle keep-alive connections are closed', async () => {
    const { url } = await serve({
      http: {
        headersTimeoutMs: 1500,
        requestTimeoutMs: 3000,
        keepAliveTimeoutMs: 500,
        maxConnectionsPerAddress: 20,
      },
    });
    const idle = Array.from({ length: 15 }, () => raw(url));
    await Promise.all(idle.map((c) => c.opened));
    expect((await api(url, 'GET', '/healthz')).status).toBe(200);
    // A keep-alive connection that asks once and then says nothing is closed after keepAliveTimeout.
    const k = raw(url);
    await k.opened;
    k.socket.write(`GET /healthz HTTP/1.1\r\nhost: ${new URL(url).host}\r\n\r\n`);
    const closedAt = await k.closed;
    expect(k.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(closedAt).toBeLessThan(10_000);
    await Promise.all(idle.map((c) => c.closed));
  });

  it('leaves an idle WebSocket open past the idle timeout', async () => {
    const { url } = await serve({
      http: {
        idleTimeoutMs: 500,
        keepAliveTimeoutMs: 300,
        headersTimeoutMs: 500,
        requestTimeoutMs: 1000,
      },
    });
    const u = await register(url);
    const c = await Client.open(url, u.token);
    await sleep(2000);
    c.send({ type: 'ping' });
    await c.next((f) => f.type === 'pong');
    await c.close();
  });

  it('with --trust-proxy 1, a spoofed left-most X-Forwarded-For does not escape the per-address login limit', async () => {
    // 5 logins per 10 minutes per address: refill during the test is negligible. The
    // per-account backoff is off: this is about addresses, and it would hold the account.
    const { url } = await serve({
      trustProxy: 1,
      rateLimits: { login: { limit: 5, windowMs: 600_000 } },
      loginBackoff: false,
    });
    await register(url, 'victim');
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      // The client writes a fresh address each time; the proxy appends the one it saw.
      const r = await api(url, 'POST', '/api/auth/login', {
        json: { username: 'victim', password: `guess ${i}` },
        headers: { 'x-forwarded-for': `10.9.${i}.${i}, 203.0.113.7` },
      });
      statuses.push(r.status);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(24);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    // Another client behind the same proxy is its own address, not limited by the first.
    const other = await api(url, 'POST', '/api/auth/login', {
      json: { username: 'victim', password: 'correct horse' },
      headers: { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' },
    });
    expect(other.status).toBe(200);
  });

  it('puts the security headers on every response: malformed URL, 404, 413, bad HTTP, static files', async () => {
    const web = mkdtempSync(join(tmpdir(), 'clipchat-web-'));
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>Clipchat</title>');
    writeFileSync(join(web, 'app.js'), 'console.log(1)');
    try {
      const { url } = await serve({ webRoot: web });
      const host = new URL(url).host;
      const bad = raw(url);
      await bad.opened;
      bad.socket.write(
        `GET /api/conversations/%E0%A4%A HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`,
      );
      await bad.closed;
      expect(bad.received()).toMatch(/^HTTP\/1\.1 400 /);
      expect(
        JSON.parse(bad.received().slice(bad.received().indexOf('\r\n\r\n') + 4)).error.code,
      ).toBe('ERR_VALIDATION');
      expectSecurityHeaders(headersOf(bad.received()));

      const notHttp = raw(url);
      await notHttp.opened;
      notHttp.socket.write('HELLO THERE\r\n\r\n');
      await notHttp.closed;
      expect(notHttp.received()).toMatch(/^HTTP\/1\.1 400 /);
      expectSecurityHeaders(headersOf(notHttp.received()));

      const missing = await api(url, 'GET', '/api/nothing-here');
      expect(missing.status).toBe(404);
      expectSecurityHeaders(missing.headers);
      const big = await api(url, 'POST', '/api/auth/login', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'x', password: 'y'.repeat(200_000) }),
      });
      expect(big.status).toBe(413);
      expectSecurityHeaders(big.headers);
      for (const path of ['/', '/app.js', '/some/app/route']) {
        const r = await fetch(url + path);
        expect(r.status).toBe(200);
        expectSecurityHeaders(r.headers);
      }
    } finally {
      rmSync(web, { recursive: true, force: true });
    }
  });
});
