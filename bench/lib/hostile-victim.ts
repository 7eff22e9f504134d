/**
 * Another user going about their business while an attack runs, in a process of its own
 * (as another person's machine would be): the attack's own work in the bench process,
 * building bombs or pushing 32 MiB of bodies, cannot delay its requests. An authenticated
 * `GET /api/conversations` every 100 ms and a correct login every 5 s, from 127.0.0.2.
 * Prints `ready`, and on `stop` (a line on stdin) one JSON line `{reads, logins}` of
 * latencies in ms, then exits.
 *
 * usage: tsx bench/lib/hostile-victim.ts   (CLIPCHAT_VICTIM={"url","token","username","password"})
 */
import { createInterface } from 'node:readline';
import { http } from './loopback-http';

const { url, token, username, password } = JSON.parse(
  process.env.CLIPCHAT_VICTIM ?? '{}',
) as Record<string, string>;
if (!url || !token || !username || !password) {
  process.stderr.write('victim: CLIPCHAT_VICTIM must hold url, token, username and password\n');
  process.exit(2);
}
const reads: number[] = [];
const logins: number[] = [];
let running = true;
const from = '127.0.0.2';
const timed = async (into: number[], f: () => Promise<unknown>) => {
  const t0 = performance.now();
  try {
    await f();
  } catch {
    /* a refused or timed-out request counts with its time */
  }
  into.push(performance.now() - t0);
};
const readLoop = (async () => {
  while (running) {
    await timed(reads, () =>
      http(url, 'GET', '/api/conversations', {
        headers: { authorization: `Bearer ${token}` },
        from,
        timeoutMs: 20_000,
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
  }
})();
const loginLoop = (async () => {
  while (running) {
    await timed(logins, () =>
      http(url, 'POST', '/api/auth/login', {
        body: JSON.stringify({ username, password }),
        from,
        timeoutMs: 20_000,
      }),
    );
    for (let i = 0; i < 50 && running; i++) await new Promise((r) => setTimeout(r, 100));
  }
})();
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).once('line', () => {
  running = false;
  void Promise.all([readLoop, loginLoop]).then(() => {
    process.stdout.write(`${JSON.stringify({ reads, logins })}\n`, () => process.exit(0));
  });
});
