/**
 * Hostile benchmark, rate limits: the attacks of packages/server/test/limits.test.ts made
 * against a `clipchat serve` with its default limits. Login guessing spoofs a new client
 * address per guess (`--trust-proxy` + X-Forwarded-For, as a botnet would have), so only
 * the per-account backoff stands in its way; the others come from signed-in attackers.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { Attack, HostileServer, HostileUser } from './types';

/** A valid 1×1 PNG, for the sticker-save flood. */
const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==',
  'base64',
);

interface Res {
  status: number;
  body: any;
  retryAfter: number | null;
}

async function call(
  server: HostileServer,
  signal: AbortSignal,
  method: string,
  path: string,
  opts: { user?: HostileUser; json?: unknown; body?: Buffer; ip?: string } = {},
): Promise<Res> {
  const headers: Record<string, string> = {};
  if (opts.user) headers.authorization = `Bearer ${opts.user.token}`;
  if (opts.ip) headers['x-forwarded-for'] = opts.ip;
  let body: string | Buffer | undefined = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const r = await fetch(server.url + path, { method, headers, body, signal });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* raw */
  }
  const ra = r.headers.get('retry-after');
  return { status: r.status, body: parsed, retryAfter: ra === null ? null : Number(ra) };
}

/** Runs `n` calls of `f`, `width` at a time. */
async function flood<T>(n: number, width: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await f(i);
    }),
  );
  return out;
}

const count = (rs: Res[], status: number) => rs.filter((r) => r.status === status).length;
const secs = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);
/** First number after `label` in an outcome line. */
const num = (outcome: string, label: string) =>
  Number(new RegExp(`${label} (\\d+)`).exec(outcome)?.[1] ?? NaN);

/** 500 password guesses on one account, each from a new address, 20 at a time. */
function loginGuessing(name: string, env?: Record<string, string>): Attack {
  return {
    name,
    serveArgs: ['--trust-proxy'],
    env,
    async run(server, signal) {
      const victim = await server.register();
      const t0 = Date.now();
      const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const rs = await flood(500, 20, (i) =>
        call(server, signal, 'POST', '/api/auth/login', {
          ip: ip(i + 1),
          json: { username: victim.username, password: `guess ${i}` },
        }),
      );
      const checked = count(rs, 401);
      const maxRetry = Math.max(0, ...rs.map((r) => r.body?.error?.retryAfter ?? 0));
      const right = await call(server, signal, 'POST', '/api/auth/login', {
        ip: ip(9999),
        json: { username: victim.username, password: victim.password },
      });
      return `checked ${checked} of 500 guesses in ${secs(t0)} s, ${count(rs, 429)} × 429 (retryAfter up to ${maxRetry} s); right password then: ${right.status}`;
    },
    // Default backoff: 5 free failures, then waits of 1, 2, 4 … s; a few seconds of attack allow a handful more.
    ok: (outcome) => num(outcome, 'checked') <= 12 && /right password then: 429/.test(outcome),
  };
}

export const attacks: Attack[] = [
  loginGuessing('login guessing, 500 guesses on one account from 500 addresses'),
  loginGuessing('login guessing, limits in Redis', {
    CLIPCHAT_REDIS_URL: process.env.CLIPCHAT_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    CLIPCHAT_REDIS_PREFIX: `clipchat-hostile-${randomBytes(4).toString('hex')}:`,
  }),
  {
    name: 'group flood: 1000 new groups naming one victim, 5 attackers',
    async run(server, signal) {
      const victim = await server.register();
      const attackers: HostileUser[] = [];
      for (let i = 0; i < 5; i++) attackers.push(await server.register());
      const t0 = Date.now();
      const rs = await flood(1000, 25, (i) =>
        call(server, signal, 'POST', '/api/conversations', {
          user: attackers[i % 5],
          json: { members: [victim.username], title: `spam ${i}` },
        }),
      );
      const list = await call(server, signal, 'GET', '/api/conversations', { user: victim });
      const groups = (list.body.conversations as { kind: string }[]).filter(
        (c) => c.kind === 'group',
      ).length;
      return `victim in ${groups} groups of 1000 tries in ${secs(t0)} s, ${count(rs, 429)} × 429, ${rs.length - count(rs, 201) - count(rs, 429)} other`;
    },
    // Default addedToGroup: 20 per hour per victim.
    ok: (outcome) => num(outcome, 'victim in') <= 21 && / 0 other/.test(outcome),
  },
  {
    name: 'username enumeration: 20 × 256 names through create-conversation',
    async run(server, signal) {
      const me = await server.register();
      const real: HostileUser[] = [];
      for (let i = 0; i < 4; i++) real.push(await server.register());
      const t0 = Date.now();
      const answers = new Set<string>();
      let leaked = 0;
      let limited = 0;
      for (let p = 0; p < 20; p++) {
        const members = Array.from({ length: 256 }, (_, i) =>
          i < real.length && p % 2 === 0 ? real[i]!.username : `probe-${p}-${i}`,
        );
        const r = await call(server, signal, 'POST', '/api/conversations', {
          user: me,
          json: { members, title: 'probe' },
        });
        if (r.status === 429) {
          limited++;
          continue;
        }
        const text = JSON.stringify(r.body);
        answers.add(`${r.status} ${text}`);
        leaked += members.filter((n) => text.includes(n)).length;
      }
      // What stays: one unknown name per direct-conversation try, until the limit says no.
      const direct = await flood(40, 4, (i) =>
        call(server, signal, 'POST', '/api/conversations', {
          user: me,
          json: { members: [`single-${i}`] },
        }),
      );
      return `leaked ${leaked} of 5120 names in ${secs(t0)} s; ${answers.size} distinct answer(s), ${limited} × 429; direct probes: ${count(direct, 404)} answered, ${count(direct, 429)} × 429`;
    },
    ok: (outcome) =>
      num(outcome, 'leaked') === 0 && Number(/(\d+) distinct/.exec(outcome)?.[1]) === 1,
  },
  {
    name: 'sticker-save flood: 1000 saves of one media',
    async run(server, signal) {
      const u = await server.register();
      const up = await call(server, signal, 'POST', '/api/media', { user: u, body: PNG_1X1 });
      if (up.status !== 201) return `upload refused: ${up.status} ${JSON.stringify(up.body)}`;
      const t0 = Date.now();
      const rs = await flood(1000, 25, () =>
        call(server, signal, 'POST', '/api/stickers', { user: u, json: { mediaId: up.body.id } }),
      );
      return `saved ${count(rs, 201)} of 1000 in ${secs(t0)} s, ${count(rs, 429)} × 429`;
    },
    // Default saveSticker: 30 at once, refilled 30 per minute (0.5 a second) while the flood lasts.
    ok: (outcome) =>
      num(outcome, 'saved') <= 30 + 0.5 * (Number(/in ([\d.]+) s/.exec(outcome)?.[1] ?? 0) + 1),
  },
  {
    name: 'mark-read flood: 1000 REST + 1000 WebSocket read receipts',
    async run(server, signal) {
      const [u, peer] = [await server.register(), await server.register()];
      const cid = (
        await call(server, signal, 'POST', '/api/conversations', {
          user: u,
          json: { members: [peer.username] },
        })
      ).body.id as string;
      const t0 = Date.now();
      const rest = await flood(1000, 25, () =>
        call(server, signal, 'POST', `/api/conversations/${cid}/read`, {
          user: u,
          json: { seq: 0 },
        }),
      );
      const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws`, {
        headers: { authorization: `Bearer ${u.token}` },
      });
      let read = 0;
      let limited = 0;
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`only ${read + limited} of 1000 answers in 30 s`)),
            30_000,
          );
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new Error('aborted'));
          });
          ws.on('error', reject);
          ws.on('message', (d) => {
            const f = JSON.parse(String(d));
            if (f.type === 'hello')
              for (let i = 0; i < 1000; i++)
                ws.send(JSON.stringify({ type: 'read', conversationId: cid, seq: 0 }));
            if (f.type === 'read') read++;
            if (f.type === 'error' && f.error?.code === 'ERR_RATE_LIMITED') limited++;
            if (read + limited >= 1000) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
      } finally {
        ws.close();
      }
      return `accepted ${count(rest, 200) + read} of 2000 in ${secs(t0)} s (REST ${count(rest, 200)}, WebSocket ${read}); ${count(rest, 429) + limited} refused`;
    },
    // Default markRead: 60 per 10 s, refilled 6 per second.
    ok: (outcome) =>
      num(outcome, 'accepted') <= 60 + 6 * (Number(/in ([\d.]+) s/.exec(outcome)?.[1] ?? 0) + 1),
  },
];
