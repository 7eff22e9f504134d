/**
 * Attacks on the HTTP edge, the same ones packages/server/test/http-edge.test.ts and
 * outage.test.ts make: a body trickled byte by byte, idle connections from one address,
 * a login brute force hiding behind spoofed X-Forwarded-For entries, a malformed URL
 * (are the security headers on its 400?), and PostgreSQL cut off under steady sends.
 */
import { connect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import pg from 'pg';
import type { Attack, HostileServer } from './types';

/** Header names every response must carry (packages/server/src/http/security.ts). */
const SECURITY = [
  'content-security-policy',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'permissions-policy',
];

interface Raw {
  socket: Socket;
  received(): string;
  closed: Promise<number>;
}

/** A raw TCP client of the server; `closed` resolves with ms from opening to the server's close. */
function raw(url: string, signal: AbortSignal): Raw {
  const { hostname, port } = new URL(url);
  const t0 = performance.now();
  const socket = connect(Number(port), hostname);
  let data = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    data += d;
  });
  socket.on('error', () => {});
  const abort = () => socket.destroy();
  signal.addEventListener('abort', abort, { once: true });
  const closed = new Promise<number>((r) =>
    socket.once('close', () => {
      signal.removeEventListener('abort', abort);
      r(performance.now() - t0);
    }),
  );
  return { socket, received: () => data, closed };
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
const codeOf = (response: string) => /"code":"(ERR_[A-Z_]+)"/.exec(response)?.[1] ?? 'no body';
const bounded = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, j) =>
      setTimeout(() => j(new Error(`${what} still open after ${ms / 1000} s`)), ms).unref(),
    ),
  ]);

const trickle: Attack = {
  name: 'trickled request body (1 B / 100 ms)',
  serveArgs: ['--request-timeout', '15'],
  async run(server, signal) {
    const c = raw(server.url, signal);
    await new Promise((r) => c.socket.once('connect', r));
    c.socket.write(
      `POST /api/auth/login HTTP/1.1\r\nhost: ${new URL(server.url).host}\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n`,
    );
    const timer = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write('{');
    }, 100);
    try {
      const ms = await bounded(c.closed, 60_000, 'the trickled request');
      return `${statusOf(c.received())} ${codeOf(c.received())}, closed after ${(ms / 1000).toFixed(1)} s`;
    } finally {
      clearInterval(timer);
      c.socket.destroy();
    }
  },
  ok: (o) =>
    /^408 ERR_TIMEOUT, closed after (\d+\.\d) s/.test(o) &&
    Number(/after ([\d.]+)/.exec(o)![1]) < 30,
};

const idle: Attack = {
  name: '300 idle connections from one address',
  async run(server, signal) {
    setMaxListeners(400, signal);
    const conns = Array.from({ length: 300 }, () => raw(server.url, signal));
    try {
      const closedAt = await bounded(
        Promise.all(conns.map((c) => c.closed)),
        60_000,
        'an idle connection',
      );
      const refused = closedAt.filter((t) => t < 1000).length;
      const last = Math.max(...closedAt) / 1000;
      const health = await fetch(`${server.url}/healthz`, { signal });
      return `${refused} refused at once, ${300 - refused} cut by ${last.toFixed(1)} s; then /healthz ${health.status}`;
    } finally {
      for (const c of conns) c.socket.destroy();
    }
  },
  ok: (o) => {
    const m = /^(\d+) refused at once, (\d+) cut by ([\d.]+) s; then \/healthz 200$/.exec(o);
    return !!m && Number(m[2]) <= 64 && Number(m[3]) < 30;
  },
};

const spoofedLogins: Attack = {
  name: 'brute-force login behind spoofed X-Forwarded-For (30 tries)',
  serveArgs: ['--trust-proxy', '1'],
  async run(server, signal) {
    const victim = await server.register();
    let limited = 0;
    for (let i = 0; i < 30; i++) {
      // The attacker writes a fresh left-most address; the proxy appends the one it saw.
      const r = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        signal,
        headers: {
          'content-type': 'application/json',
          'x-forwarded-for': `10.${i}.${i}.${i}, 203.0.113.7`,
        },
        body: JSON.stringify({ username: victim.username, password: `guess-${i}` }),
      });
      await r.arrayBuffer();
      if (r.status === 429) limited++;
    }
    return `${limited}/30 got 429`;
  },
  ok: (o) => Number(/^(\d+)\/30/.exec(o)?.[1] ?? 0) >= 10,
};

const malformedUrl: Attack = {
  name: 'malformed URL and non-HTTP request: security headers',
  async run(server, signal) {
    const out: string[] = [];
    for (const request of [
      `GET /api/conversations/%E0%A4%A HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
      'HELLO THERE\r\n\r\n',
    ]) {
      const c = raw(server.url, signal);
      c.socket.write(request);
      await bounded(c.closed, 10_000, 'the malformed request');
      const head = c.received().slice(0, c.received().indexOf('\r\n\r\n')).toLowerCase();
      const present = SECURITY.filter((h) => head.includes(`\r\n${h}:`)).length;
      out.push(
        `${statusOf(c.received())} ${codeOf(c.received())} ${present}/${SECURITY.length} headers`,
      );
    }
    return out.join('; ');
  },
  ok: (o) =>
    o
      .split('; ')
      .every((part) =>
        new RegExp(`^400 ERR_VALIDATION ${SECURITY.length}/${SECURITY.length} headers$`).test(part),
      ),
};

// ---------------------------------------------------------------------------------------
// PostgreSQL cut off: the server's database URL points at a TCP proxy of this file's own in
// front of the bench PostgreSQL, which the attack cuts for 8 s and restores.

const DB_URL = process.env.CLIPCHAT_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

class Proxy {
  readonly links = new Set<Socket>();
  server: Server | undefined;
  port = 0;
  constructor(private readonly target: URL) {}
  async open(): Promise<void> {
    const s = createNetServer((client) => {
      const up = connect(Number(this.target.port || 5432), this.target.hostname);
      for (const x of [client, up]) {
        this.links.add(x);
        x.on('error', () => {});
        x.on('close', () => {
          this.links.delete(x);
          client.destroy();
          up.destroy();
        });
      }
      client.pipe(up).pipe(client);
    });
    await new Promise<void>((r, j) => {
      s.once('error', j);
      s.listen(this.port, '127.0.0.1', () => r());
    });
    this.port = (s.address() as { port: number }).port;
    this.server = s;
  }
  async cut(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    const done = new Promise<void>((r) => (s ? s.close(() => r()) : r()));
    for (const x of this.links) x.destroy();
    await done;
  }
}

/** Set up at import: a schema of the attack's own and the proxy (the server needs both at start). */
const outageSetup: { proxy: Proxy; schema: string; env: Record<string, string> } | string =
  await (async () => {
    try {
      const target = new URL(DB_URL);
      const schema = `hostile_${randomBytes(5).toString('hex')}`;
      const admin = new pg.Client({ connectionString: DB_URL, connectionTimeoutMillis: 2000 });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA ${schema}`);
      } finally {
        await admin.end();
      }
      const proxy = new Proxy(target);
      await proxy.open();
      const via = new URL(DB_URL);
      via.port = String(proxy.port);
      via.searchParams.set('options', `-c search_path=${schema}`);
      proxy.server!.unref();
      return { proxy, schema, env: { CLIPCHAT_DATABASE_URL: via.toString() } };
    } catch (e) {
      return `PostgreSQL not reachable at ${DB_URL.replace(/\/\/[^@]*@/, '//')}: ${(e as Error).message}`;
    }
  })();

let dropped = false;
async function dropOutageSchema(schema: string): Promise<void> {
  if (dropped) return;
  dropped = true;
  const admin = new pg.Client({ connectionString: DB_URL });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await admin.end();
  }
}

// A run that never reached this attack still drops its schema before the process ends.
process.once('beforeExit', () => {
  if (typeof outageSetup !== 'string') void dropOutageSchema(outageSetup.schema).catch(() => {});
});

async function outageRun(server: HostileServer, signal: AbortSignal): Promise<string> {
  if (typeof outageSetup === 'string') throw new Error(outageSetup);
  const { proxy, schema } = outageSetup;
  const alice = await server.register();
  const bob = await server.register();
  const h = { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' };
  const conv = (await (
    await fetch(`${server.url}/api/conversations`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ members: [bob.username] }),
      signal,
    })
  ).json()) as { id: string };
  const path = `${server.url}/api/conversations/${conv.id}/messages`;
  const counts = new Map<string, number>();
  const refused: string[] = [];
  const send = async (clientId: string) => {
    const r = await fetch(path, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ clientId, kind: 'text', text: clientId }),
      signal,
    });
    const b = (await r.json()) as { error?: { code: string; retryAfter?: number } };
    const key =
      r.status === 503
        ? `503 ${b.error?.code}${b.error?.retryAfter && r.headers.get('retry-after') ? ' +retryAfter' : ''}`
        : String(r.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (r.status >= 400) refused.push(clientId);
    return r.status;
  };
  let n = 0;
  const steady = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await send(`c${n++}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    await steady(2000);
    await proxy.cut();
    await steady(8000);
    await proxy.open();
    const deadline = Date.now() + 30_000;
    while (refused.length && Date.now() < deadline) {
      const again = refused.splice(0);
      // Paced under the per-user send limit (60/s), as a client's outbox would be.
      for (const id of again) {
        if ((await send(id)) >= 400) refused.push(id);
        await new Promise((r) => setTimeout(r, 25));
      }
      if (refused.length) await new Promise((r) => setTimeout(r, 1000));
    }
    const history = (await (await fetch(`${path}?limit=200`, { headers: h, signal })).json()) as {
      messages: Array<{ clientId: string }>;
    };
    let all = history.messages.map((m) => m.clientId);
    // Older pages, when more than 200 were sent.
    for (let before = (history as unknown as { before: number | null }).before; before;) {
      const page = (await (
        await fetch(`${path}?limit=200&before=${before}`, { headers: h, signal })
      ).json()) as { messages: Array<{ clientId: string }>; before: number | null };
      all = [...page.messages.map((m) => m.clientId), ...all];
      before = page.before;
    }
    const once = new Set(all).size === all.length && all.length === n;
    return `${[...counts].map(([k, v]) => `${v}× ${k}`).join(', ')}; ${all.length}/${n} stored${once ? ' once' : ' NOT once'}${refused.length ? `, ${refused.length} never stored` : ''}`;
  } finally {
    await proxy.cut().catch(() => {});
    await dropOutageSchema(schema).catch(() => {});
  }
}

const outage: Attack = {
  name: 'PostgreSQL cut for 8 s under steady sends',
  get env() {
    return typeof outageSetup === 'string' ? {} : outageSetup.env;
  },
  skip: () => (typeof outageSetup === 'string' ? outageSetup : null),
  run: outageRun,
  ok: (o) => {
    const [tally = '', stored = ''] = o.split('; ');
    const keys = tally.split(', ').map((t) => t.replace(/^\d+× /, ''));
    return (
      keys.includes('503 ERR_UNAVAILABLE +retryAfter') &&
      keys.every((k) => ['200', '201', '503 ERR_UNAVAILABLE +retryAfter'].includes(k)) &&
      / stored once$/.test(stored)
    );
  },
};

export const attacks: Attack[] = [trickle, idle, spoofedLogins, malformedUrl, outage];
