/**
 * Hostile WebSocket clients: one user's many sockets that stop reading while asking for a
 * full `sync` of a large history, and a `sync` flood from three sockets of one user. The
 * server tests (packages/server/test/ws-limits.test.ts) run these same functions against
 * an in-process server; `attacks` runs them against the benchmark's `clipchat serve`.
 */
import WebSocket from 'ws';
import type { Attack, HostileServer, HostileUser } from './types';

/** An account as the attacks need it (a subset of {@link HostileUser}). */
export interface AttackUser {
  id: string;
  username: string;
  token: string;
}

async function post(url: string, path: string, token: string, json: unknown): Promise<Response> {
  return fetch(url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds a history: a group of `owner` and `senders` with `count` messages of `textChars`
 * characters, posted over REST by every sender in turn (each sender waits out its own
 * rate limit). Resolves with the conversation id.
 */
export async function buildHistory(
  url: string,
  owner: AttackUser,
  senders: AttackUser[],
  count: number,
  textChars: number,
  signal?: AbortSignal,
): Promise<string> {
  const r = await post(url, '/api/conversations', owner.token, {
    members: senders.filter((s) => s.id !== owner.id).map((s) => s.username),
    title: 'history',
  });
  if (r.status !== 201) throw new Error(`creating the conversation: ${r.status} ${await r.text()}`);
  const cid = ((await r.json()) as { id: string }).id;
  const all = [owner, ...senders.filter((s) => s.id !== owner.id)];
  let next = 0;
  await Promise.all(
    all.map(async (u) => {
      for (;;) {
        const i = next++;
        if (i >= count || signal?.aborted) return;
        const text = `${i} `.padEnd(textChars, 'abcdefghij');
        for (;;) {
          const res = await post(url, `/api/conversations/${cid}/messages`, u.token, {
            clientId: `h${i}`,
            kind: 'text',
            text,
          });
          if (res.status === 201) break;
          if (res.status !== 429)
            throw new Error(`posting message ${i}: ${res.status} ${await res.text()}`);
          await sleep(1000 * Number(res.headers.get('retry-after') ?? 1));
        }
      }
    }),
  );
  return cid;
}

/** Opens a socket; resolves with it once open, or with the HTTP refusal of the upgrade. */
export function openSocket(
  url: string,
  token: string,
): Promise<{ ws: WebSocket } | { status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws', {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
    });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => {
        let code: string;
        try {
          code = (JSON.parse(body) as { error: { code: string } }).error.code;
        } catch {
          code = body.slice(0, 80);
        }
        resolve({ status: res.statusCode ?? 0, code });
      });
    });
    ws.once('error', (e) => reject(e));
  });
}

type Raw = { pause(): void; resume(): void };
const rawOf = (ws: WebSocket) => (ws as unknown as { _socket: Raw })._socket;

/** What {@link pausedSyncSockets} saw. */
export interface PausedResult {
  opened: number;
  /** Upgrades refused, as `status code` (e.g. `429 ERR_TOO_MANY_SOCKETS`). */
  refused: string[];
  /** syncs sent over all sockets. */
  syncsSent: number;
  /** Close code of each opened socket, seen once it reads again (1006: no close frame arrived). */
  closeCodes: number[];
  seconds: number;
}

/**
 * `sockets` sockets of one user that stop reading (the TCP socket is paused right after
 * the upgrade) and keep asking for a full sync of `cid` every `everyMs`, until `stop()`
 * says so or `maxMs` passes. Then they read again, and each reports how it was closed.
 * `tick` runs every 100 ms (to sample memory).
 */
export async function pausedSyncSockets(o: {
  url: string;
  token: string;
  cid: string;
  sockets: number;
  everyMs?: number;
  maxMs: number;
  stop?: () => boolean;
  tick?: () => void;
  signal?: AbortSignal;
}): Promise<PausedResult> {
  const t0 = Date.now();
  const open: WebSocket[] = [];
  const refused: string[] = [];
  for (let i = 0; i < o.sockets; i++) {
    const r = await openSocket(o.url, o.token);
    if ('ws' in r) {
      rawOf(r.ws).pause();
      open.push(r.ws);
    } else refused.push(`${r.status} ${r.code}`);
  }
  const closeCodes = open.map(
    (ws) =>
      new Promise<number>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve(-1);
        }, o.maxMs + 45_000);
        ws.once('close', (code) => {
          clearTimeout(t);
          resolve(code);
        });
        ws.on('error', () => {});
      }),
  );
  let syncsSent = 0;
  const frame = JSON.stringify({ type: 'sync', since: { [o.cid]: 0 } });
  const deadline = t0 + o.maxMs;
  let lastSync = 0;
  while (Date.now() < deadline && !o.signal?.aborted && !o.stop?.()) {
    if (Date.now() - lastSync >= (o.everyMs ?? 100)) {
      lastSync = Date.now();
      for (const ws of open)
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(frame);
          syncsSent++;
        }
    }
    o.tick?.();
    await sleep(100);
  }
  o.tick?.();
  for (const ws of open) rawOf(ws).resume();
  // A socket the server did not close is closed here (1000 from our side).
  const settle = setTimeout(() => {
    for (const ws of open) if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  }, 20_000);
  const codes = await Promise.all(closeCodes);
  clearTimeout(settle);
  return {
    opened: open.length,
    refused,
    syncsSent,
    closeCodes: codes,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** What {@link syncFlood} saw. */
export interface FloodResult {
  syncsSent: number;
  /** `synced` frames received (pages served). */
  synced: number;
  /** `error` frames answering a sync with ERR_RATE_LIMITED. */
  limited: number;
  /** Sorted latencies (ms) of the victim's requests during the flood. */
  victimMs: number[];
  seconds: number;
}

/**
 * Three (or `sockets`) reading sockets of `attacker` each send a full sync of `cid` every
 * `everyMs` for `ms`, while `victim` (another user) lists its conversations over and over;
 * resolves with what the attacker was served and how long the victim's requests took.
 */
export async function syncFlood(o: {
  url: string;
  attacker: AttackUser;
  victim: AttackUser;
  cid: string;
  sockets?: number;
  everyMs?: number;
  ms: number;
  signal?: AbortSignal;
}): Promise<FloodResult> {
  const socks: WebSocket[] = [];
  let synced = 0;
  let limited = 0;
  for (let i = 0; i < (o.sockets ?? 3); i++) {
    const r = await openSocket(o.url, o.attacker.token);
    if (!('ws' in r)) throw new Error(`flood socket refused: ${r.status} ${r.code}`);
    r.ws.on('message', (d) => {
      const s = String(d);
      // Only the small frames need parsing: message frames are most of the bytes.
      if (s.startsWith('{"type":"synced"')) synced++;
      else if (s.startsWith('{"type":"error"') && s.includes('ERR_RATE_LIMITED')) limited++;
    });
    socks.push(r.ws);
  }
  const t0 = Date.now();
  let syncsSent = 0;
  const frame = JSON.stringify({ type: 'sync', since: { [o.cid]: 0 } });
  const timer = setInterval(() => {
    for (const ws of socks)
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(frame);
        syncsSent++;
      }
  }, o.everyMs ?? 5);
  const victimMs: number[] = [];
  while (Date.now() - t0 < o.ms && !o.signal?.aborted) {
    const t = performance.now();
    const r = await fetch(`${o.url}/api/conversations`, {
      headers: { authorization: `Bearer ${o.victim.token}` },
    });
    await r.arrayBuffer();
    victimMs.push(performance.now() - t);
    await sleep(20);
  }
  clearInterval(timer);
  const seconds = (Date.now() - t0) / 1000;
  for (const ws of socks) ws.close();
  return { syncsSent, synced, limited, victimMs: victimMs.sort((a, b) => a - b), seconds };
}

const pct = (xs: number[], p: number) =>
  xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : NaN;

/** Registers `n` users on the hostile server. */
async function users(server: HostileServer, n: number): Promise<HostileUser[]> {
  const out: HostileUser[] = [];
  for (let i = 0; i < n; i++) out.push(await server.register());
  return out;
}

export const attacks: Attack[] = [
  {
    name: 'ws: 35 sockets of one user stop reading, each syncing 12 MB',
    async run(server, signal) {
      const [owner, ...senders] = await users(server, 4);
      const cid = await buildHistory(server.url, owner!, senders, 1500, 8000, signal);
      const r = await pausedSyncSockets({
        url: server.url,
        token: owner!.token,
        cid,
        sockets: 35,
        maxMs: 20_000,
        signal,
      });
      const slow = r.closeCodes.filter((c) => c === 1013).length;
      return `${r.opened} open, ${r.refused.length} refused (${r.refused[0] ?? 'none'}), ${slow}/${r.opened} closed 1013, ${r.syncsSent} syncs sent`;
    },
    ok(outcome, m) {
      // Closes are reported, not required: with the default sync rate most syncs are refused
      // (small error frames), so a paused socket's backlog can stay in the kernel's buffers
      // without ever reaching 4 MiB; what must hold is the cap and the memory.
      const [, open, refused] = /^(\d+) open, (\d+) refused/.exec(outcome) ?? [];
      return (
        open !== undefined && Number(open) <= 20 && Number(refused) >= 15 && m.rssGrowthMb <= 150
      );
    },
  },
  {
    name: 'ws: sync flood from 3 sockets of one user (12 MB history)',
    async run(server, signal) {
      const [owner, victim, ...senders] = await users(server, 4);
      const cid = await buildHistory(server.url, owner!, senders, 1500, 8000, signal);
      const r = await syncFlood({
        url: server.url,
        attacker: owner!,
        victim: victim!,
        cid,
        ms: 15_000,
        signal,
      });
      return `${r.synced} pages served of ${r.syncsSent} syncs in ${r.seconds.toFixed(1)} s, ${r.limited} rate-limited; victim p50 ${pct(r.victimMs, 0.5).toFixed(0)} ms p99 ${pct(r.victimMs, 0.99).toFixed(0)} ms`;
    },
    ok(outcome, m) {
      const [, served, , secs, limited, p50] =
        /^(\d+) pages served of (\d+) syncs in ([\d.]+) s, (\d+) rate-limited; victim p50 (\d+)/.exec(
          outcome,
        ) ?? [];
      // Default limit: 10 at once, then 5 a second.
      return (
        Number(limited) > 0 &&
        Number(served) <= 10 + 5 * Number(secs) + 5 &&
        Number(p50) <= 100 &&
        m.victimP99Ms <= 1000
      );
    },
  },
];
