/**
 * `clipchat serve` as a user starts it: it prints the URL it serves on, answers there, and
 * its proxy switches change what they say: `--secure-cookies` marks the session cookie
 * Secure, `--trust-proxy` makes rate limits count per X-Forwarded-For address. Bad flags
 * exit 2 with the usage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
function serve(flags: string[]): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'clipchat-serve-'));
  dirs.push(data);
  const env: NodeJS.ProcessEnv = { ...process.env, CLIPCHAT_LOG_LEVEL: 'error' };
  delete env.CLIPCHAT_DATABASE_URL;
  delete env.CLIPCHAT_REDIS_URL;
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', data, ...flags], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/\S+?)[\s(]/.exec(out);
      if (m) ok(m[1].replace(/\/$/, ''));
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => fail(new Error(`serve exited ${code}: ${err}`)));
  });
}

let n = 0;
const register = (base: string, forwardedFor?: string) =>
  fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    body: JSON.stringify({ username: `user${process.pid}x${n++}`, password: 'correct horse battery' }),
  });

describe('clipchat serve', () => {
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

  it('refuses a value on a switch and unknown options, exit 2 with the usage', async () => {
    for (const args of [['--trust-proxy=yes'], ['--secure-cookie']]) {
      const child = spawn(process.execPath, [BIN, 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      expect(code).toBe(2);
      expect(err).toMatch(/--trust-proxy takes no value|unknown option --secure-cookie/);
      expect(err).toContain('usage: clipchat serve');
    }
  }, 60_000);
});
