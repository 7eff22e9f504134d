/**
 * `clipchat serve --rate-limit NAME=N/WINDOW` and `--login-backoff`: the flags reach the
 * server (a limit of 1 per hour refuses the second create), and bad values exit 2 with a
 * message naming the limit and what is allowed.
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

function run(flags: string[]): {
  child: ChildProcess;
  url: Promise<string>;
  exit: Promise<{ code: number | null; err: string }>;
} {
  const data = mkdtempSync(join(tmpdir(), 'clipchat-serve-limits-'));
  dirs.push(data);
  const env: NodeJS.ProcessEnv = { ...process.env, CLIPCHAT_LOG_LEVEL: 'error' };
  delete env.CLIPCHAT_DATABASE_URL;
  delete env.CLIPCHAT_REDIS_URL;
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', data, ...flags], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; err: string }>((r) =>
    child.on('exit', (code) => r({ code, err })),
  );
  const url = new Promise<string>((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/\S+?)[\s(]/.exec(out);
      if (m) ok(m[1]!.replace(/\/$/, ''));
    });
    void exit.then((e) => fail(new Error(`serve exited ${e.code}: ${e.err}`)));
  });
  url.catch(() => undefined); // the bad-flag cases only look at the exit
  return { child, url, exit };
}

const post = async (url: string, path: string, body: unknown, token?: string) => {
  const r = await fetch(url + path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any };
};

describe('clipchat serve limit flags', () => {
  it('applies --rate-limit and --login-backoff', async () => {
    const url = await run(['--rate-limit', 'createConversation=1/1h', '--login-backoff=1/30s/1m'])
      .url;
    const a = await post(url, '/api/auth/register', {
      username: `lim${process.pid}a`,
      password: 'correct horse',
    });
    const b = await post(url, '/api/auth/register', {
      username: `lim${process.pid}b`,
      password: 'correct horse',
    });
    expect(
      (await post(url, '/api/conversations', { members: [b.body.user.username] }, a.body.token))
        .status,
    ).toBe(201);
    const second = await post(
      url,
      '/api/conversations',
      { members: [b.body.user.username], title: 'g' },
      a.body.token,
    );
    expect(second.status).toBe(429);
    expect(second.body.error.retryAfter).toBeGreaterThan(3000);
    expect(
      (
        await post(url, '/api/auth/login', {
          username: a.body.user.username,
          password: 'wrong password',
        })
      ).status,
    ).toBe(401);
    const backing = await post(url, '/api/auth/login', {
      username: a.body.user.username,
      password: 'correct horse',
    });
    expect(backing.status).toBe(429);
    expect(backing.body.error.retryAfter).toBeGreaterThan(20);
  }, 60_000);

  it('applies --edit-window: 0 closes edits at once, and the refusal says so', async () => {
    const url = await run(['--edit-window', '0']).url;
    const a = await post(url, '/api/auth/register', {
      username: `edw${process.pid}a`,
      password: 'correct horse',
    });
    const b = await post(url, '/api/auth/register', {
      username: `edw${process.pid}b`,
      password: 'correct horse',
    });
    const conv = (
      await post(url, '/api/conversations', { members: [b.body.user.username] }, a.body.token)
    ).body.id;
    const m = (
      await post(
        url,
        `/api/conversations/${conv}/messages`,
        { clientId: 'e1', kind: 'text', text: 'typo' },
        a.body.token,
      )
    ).body.message;
    await new Promise((r) => setTimeout(r, 20));
    const r = await fetch(`${url}/api/messages/${m.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.body.token}` },
      body: JSON.stringify({ text: 'fixed' }),
    });
    expect(r.status).toBe(409);
    expect(((await r.json()) as any).error).toMatchObject({
      code: 'ERR_NOT_EDITABLE',
      message: expect.stringMatching(/edited for 0 s/),
    });
    // Deleting goes through the same writer thread and is not bound by the window.
    const d = await fetch(`${url}/api/messages/${m.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${a.body.token}` },
    });
    expect(d.status).toBe(200);
    expect(((await d.json()) as any).message.deletedAt).toEqual(expect.any(Number));
  }, 60_000);

  it('refuses unknown limits and bad values with exit 2 and a message', async () => {
    const cases: [string[], RegExp][] = [
      [['--rate-limit', 'nosuch=1/1m'], /unknown limit nosuch; known: login, register/],
      [['--rate-limit', 'login=0/1m'], /login: limit must be a whole number 1–1000000, got 0/],
      [['--rate-limit', 'login=5/soon'], /login: windowMs must be/],
      [['--rate-limit', 'login'], /--rate-limit takes name=N\/window/],
      [['--login-backoff', '5/1s'], /--login-backoff takes off or failures\/base\/max/],
      [['--login-backoff', '5/1m/1s'], /maxMs \(1000\) must be at least baseMs \(60000\)/],
      [['--edit-window', 'soon'], /--edit-window takes a duration such as 48h/],
      [['--edit-window'], /--edit-window takes a duration/],
    ];
    for (const [flags, re] of cases) {
      const e = await run(flags).exit;
      expect(e.code, flags.join(' ')).toBe(2);
      expect(e.err).toMatch(re);
    }
  }, 60_000);
});
