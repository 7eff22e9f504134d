/**
 * `clipchat serve` as a user starts it: it prints the URL it serves on, answers there, and
 * its proxy switches change what they say: `--secure-cookies` marks the session cookie
 * Secure, `--trust-proxy` makes rate limits count per X-Forwarded-For address. Bad flags
 * exit 2 with the usage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'apps/cli/bin/clipchat.mjs');
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts `clipchat serve` on a free port; resolves with its base URL once it prints it. */
function serve(
  flags: string[],
  extraEnv: Record<string, string> = {},
  output?: (s: string) => void,
): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'clipchat-serve-'));
  dirs.push(data);
  const env: NodeJS.ProcessEnv = { ...process.env, CLIPCHAT_LOG_LEVEL: 'error', ...extraEnv };
  delete env.CLIPCHAT_DATABASE_URL;
  delete env.CLIPCHAT_REDIS_URL;
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', data, ...flags], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      output?.(out);
      const m = /running at (http:\/\/\S+?)[\s(]/.exec(out);
      if (m?.[1]) ok(m[1].replace(/\/$/, ''));
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => fail(new Error(`serve exited ${code}: ${err}`)));
  });
}

let n = 0;
const register = (base: string, forwardedFor?: string) =>
  fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
    },
    body: JSON.stringify({
      username: `user${process.pid}x${n++}`,
      password: 'correct horse battery',
    }),
  });

describe('clipchat serve', () => {
  it('logs requests as JSON lines into a pipe, and one readable line each with CLIPCHAT_LOG_FORMAT=pretty', async () => {
    let json = '';
    const a = await serve([], { CLIPCHAT_LOG_LEVEL: 'info' }, (o) => {
      json = o;
    });
    expect((await fetch(`${a}/healthz`)).status).toBe(200);
    await expect.poll(() => json.includes('/healthz'), { timeout: 10_000 }).toBe(true);
    const line = json.split('\n').find((l) => l.includes('/healthz'))!;
    expect((JSON.parse(line) as { req?: { url?: string } }).req?.url).toBe('/healthz');

    let text = '';
    const b = await serve(
      [],
      { CLIPCHAT_LOG_LEVEL: 'info', CLIPCHAT_LOG_FORMAT: 'pretty' },
      (o) => {
        text = o;
      },
    );
    expect((await fetch(`${b}/healthz`)).status).toBe(200);
    await expect.poll(() => text.includes('/healthz'), { timeout: 10_000 }).toBe(true);
    const pretty = text.split('\n').find((l) => l.includes('/healthz'))!;
    expect(pretty.startsWith('{')).toBe(false);
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\] INFO/);

    const bad = spawn(
      process.execPath,
      [BIN, 'serve', '--port', '0', '--data', mkdtempSync(join(tmpdir(), 'clipchat-serve-'))],
      {
        cwd: ROOT,
        env: { ...process.env, CLIPCHAT_LOG_FORMAT: 'xml' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    bad.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => bad.on('exit', r));
    expect(code).toBe(2);
    expect(err).toContain('CLIPCHAT_LOG_FORMAT must be pretty or json, got "xml"');
  });

  it('marks session cookies Secure only with --secure-cookies', async () => {
    const plain = await register(await serve([]));
    expect(plain.status).toBe(201);
    expect(plain.headers.getSetCookie().join('\n')).not.toMatch(/;\s*Secure/i);
    const secure = await register(await serve(['--secure-cookies']));
    expect(secure.status).toBe(201);
    const cookies = secure.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const c of cookies) expect(c).toMatch(/;\s*Secure/i);
  }, 60_000);

  it('counts sign-up limits per forwarded client address only with --trust-proxy', async () => {
    // Ten sign-ups a minute per address; the eleventh from the same address is refused.
    const run = async (base: string): Promise<number> => {
      for (let i = 0; i < 10; i++) expect((await register(base, '10.0.0.1')).status).toBe(201);
      expect((await register(base, '10.0.0.1')).status).toBe(429);
      return (await register(base, '10.0.0.2')).status;
    };
    expect(await run(await serve(['--trust-proxy']))).toBe(201);
    // Without it every request is the proxy's own address: the header is not believed.
    expect(await run(await serve([]))).toBe(429);
  }, 120_000);

  it('--max-sockets-per-user caps the WebSockets of one user', async () => {
    const { openSocket } = await import('../../../bench/hostile/ws');
    const base = await serve(['--max-sockets-per-user', '2']);
    const { token } = (await (await register(base)).json()) as { token: string };
    const first = await openSocket(base, token);
    const second = await openSocket(base, token);
    expect(await openSocket(base, token)).toEqual({ status: 429, code: 'ERR_TOO_MANY_SOCKETS' });
    for (const r of [first, second])
      if ('ws' in r) r.ws.close();
      else throw new Error(`refused: ${r.status} ${r.code}`);
  }, 60_000);

  it('refuses a value on a switch and unknown options, exit 2 with the usage', async () => {
    for (const args of [['--trust-proxy=yes'], ['--secure-cookie']]) {
      const child = spawn(process.execPath, [BIN, 'serve', ...args], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      expect(code).toBe(2);
      expect(err).toMatch(/--trust-proxy takes no value|unknown option --secure-cookie/);
      expect(err).toContain('usage: clipchat serve');
    }
  }, 60_000);

  it('takes upload decode limits as flags: --max-total-pixels refuses a larger image, bad values exit 2', async () => {
    const base = await serve([
      '--max-total-pixels',
      '1000',
      '--decode-concurrency=1',
      '--decode-timeout-ms',
      '3000',
    ]);
    const r = await register(base);
    const { token } = (await r.json()) as { token: string };
    // A 40×40 PNG: 1600 pixels.
    const png = await import('sharp').then((m) =>
      m
        .default({ create: { width: 40, height: 40, channels: 3, background: '#123456' } })
        .png()
        .toBuffer(),
    );
    const up = await fetch(`${base}/api/media`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: png,
    });
    expect(up.status).toBe(422);
    expect(
      ((await up.json()) as { error: { code: string; message: string } }).error.message,
    ).toMatch(/at most 1000/);
    const child = spawn(process.execPath, [BIN, 'serve', '--decode-timeout-ms', '0'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise<number | null>((res) => child.on('exit', res))).toBe(2);
    expect(err).toMatch(/--decode-timeout-ms must be a whole number ≥ 1, got 0/);
  }, 60_000);

  it('takes the HTTP edge flags: a trickled body is cut at --request-timeout, --trust-proxy 2 trusts two hops, bad values exit 2', async () => {
    const base = await serve([
      '--request-timeout',
      '1.5',
      '--headers-timeout',
      '1',
      '--max-connections-per-ip',
      '8',
    ]);
    const { hostname, port } = new URL(base);
    const sock = connect(Number(port), hostname);
    sock.on('error', () => {});
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    const t0 = Date.now();
    sock.write(
      `POST /api/auth/login HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: 2000\r\n\r\n`,
    );
    const drip = setInterval(() => {
      if (!sock.destroyed) sock.write('{');
    }, 100);
    await new Promise((r) => sock.once('close', r));
    clearInterval(drip);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(got).toMatch(/^HTTP\/1\.1 408 [\s\S]*ERR_TIMEOUT/);

    // Two hops: the address two entries from the right is the client; the left-most is not believed.
    const two = await serve(['--trust-proxy', '2']);
    for (let i = 0; i < 10; i++)
      expect((await register(two, `1.1.1.${i}, 10.0.0.1, 10.0.0.254`)).status).toBe(201);
    expect((await register(two, '9.9.9.9, 10.0.0.1, 10.0.0.254')).status).toBe(429);
    expect((await register(two, '9.9.9.9, 10.0.0.2, 10.0.0.254')).status).toBe(201);

    for (const args of [
      ['--request-timeout', 'soon'],
      ['--max-connections-per-ip', '-1'],
      ['--trust-proxy', 'everyone'],
    ]) {
      const child = spawn(process.execPath, [BIN, 'serve', ...args], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      expect(await new Promise<number | null>((r) => child.on('exit', r))).toBe(2);
      expect(err).toContain(args[0]);
      expect(err).toContain('usage: clipchat serve');
    }
  }, 120_000);
});
