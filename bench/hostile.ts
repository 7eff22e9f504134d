/**
 * `npm run bench:hostile`: every attack of bench/hostile/*.ts against a fresh
 * `clipchat serve` (SQLite default unless the attack says otherwise), one server each.
 *
 * For each attack it prints server CPU seconds (the server process and every process it
 * started: decoders, ffmpeg), peak RSS growth (same process tree, MB), another user's p99
 * latency while the attack ran, for reads and for logins apart (a victim in a process of its
 * own on its own loopback address, 127.0.0.2, so neither the bench's work nor per-address limits
 * aimed at the attacker reach it: bench/lib/hostile-victim.ts), the outcome the
 * attack reports, and whether the bound the hardening promises holds. Then one JSON line.
 *
 * usage: tsx bench/hostile.ts [--only SUBSTRING] [--json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from './lib/loopback-http';
import { ROOT } from './lib/proc';
import type { Attack, HostileServer, HostileUser } from './hostile/types';

const CLK_TCK = 100; // USER_HZ on Linux
const PAGE_MB = 4096 / 1024 / 1024;
const ATTACK_LIMIT_MS = 120_000;

const only = (() => {
  const i = process.argv.indexOf('--only');
  return i >= 0 ? process.argv[i + 1] : undefined;
})();

/** utime+stime (+ reaped children's) of a process, seconds; 0 when it is gone. */
function procCpu(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after ")" start at state (3rd field): utime is 14th → index 11.
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return 0;
  }
}

function procRssMb(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(s[1]) * PAGE_MB;
  } catch {
    return 0;
  }
}

/** The pid and every live descendant. */
function tree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of parent) if (pp === out[i]) out.push(p);
  return out;
}

const treeCpu = (root: number) => tree(root).reduce((s, p) => s + procCpu(p), 0);
const treeRss = (root: number) => tree(root).reduce((s, p) => s + procRssMb(p), 0);

let registered = 0;
async function registerUser(url: string, name?: string): Promise<HostileUser> {
  const username =
    name ??
    `h${process.pid.toString(36)}${(registered++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const password = 'correct horse battery';
  // A source address of its own for each registration: setup must not trip the
  // per-address register limit that the attacks themselves may be measuring.
  const from = `127.0.${1 + ((registered >> 8) & 0xff)}.${10 + (registered % 200)}`;
  const r = await http(url, 'POST', '/api/auth/register', {
    body: JSON.stringify({ username, password }),
    from,
  });
  if (r.status !== 201)
    throw new Error(`register ${username}: ${r.status} ${r.body.slice(0, 200)}`);
  const b = JSON.parse(r.body) as {
    user: { id: string; username: string };
    token: string;
    csrfToken: string;
  };
  const set = r.headers['set-cookie'];
  const cookie = (Array.isArray(set) ? set : set ? [set] : [])
    .map((c) => c.split(';')[0])
    .join('; ');
  return {
    id: b.user.id,
    username: b.user.username,
    password,
    token: b.token,
    csrfToken: b.csrfToken,
    cookie,
  };
}

interface Started {
  child: ChildProcess;
  url: string;
  dataDir: string;
}

function startServer(a: Attack): Promise<Started> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-hostile-'));
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'apps/cli/bin/clipchat.mjs'),
      'serve',
      '--port',
      '0',
      '--data',
      dataDir,
      ...(a.serveArgs ?? []),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CLIPCHAT_LOG_LEVEL: 'warn', ...a.env },
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start: ${err.slice(-400)}`));
    }, 60_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-4000);
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /running at (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(t);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve({ child, url: m[1]!, dataDir });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`server exited ${code}: ${err.slice(-400)}`));
    });
  });
}

async function stopServer(s: Started): Promise<void> {
  const gone = new Promise<void>((r) => {
    if (s.child.exitCode !== null) r();
    else s.child.once('exit', () => r());
  });
  s.child.kill('SIGTERM');
  const t = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(t);
  rmSync(s.dataDir, { recursive: true, force: true });
}

/**
 * Another user going about their business, in a process of its own (bench/lib/hostile-victim.ts);
 * latencies (ms) when stopped.
 */
async function victim(
  url: string,
  user: HostileUser,
): Promise<{ stop(): Promise<{ reads: number[]; logins: number[] }> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench/lib/hostile-victim.ts')],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        CLIPCHAT_VICTIM: JSON.stringify({
          url,
          token: user.token,
          username: user.username,
          password: user.password,
        }),
      },
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.startsWith('ready\n')) {
        child.stdout.off('data', check);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => reject(new Error(`victim exited ${code} before it was ready`)));
  });
  return {
    async stop() {
      child.stdin.end('stop\n');
      const code = await exited;
      if (code !== 0) throw new Error(`victim exited ${code}`);
      return JSON.parse(out.slice('ready\n'.length)) as { reads: number[]; logins: number[] };
    },
  };
}

const p99 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(0.99 * s.length))]! : NaN;
};

interface Row {
  attack: string;
  cpuSeconds: number;
  rssGrowthMb: number;
  victimP99Ms: number;
  loginP99Ms: number;
  outcome: string;
  ok: boolean | null;
}

async function runAttack(a: Attack): Promise<Row> {
  const reason = a.skip?.();
  if (reason)
    return {
      attack: a.name,
      cpuSeconds: NaN,
      rssGrowthMb: NaN,
      victimP99Ms: NaN,
      loginP99Ms: NaN,
      outcome: `skipped: ${reason}`,
      ok: null,
    };
  await a.prepare?.();
  const s = await startServer(a);
  const pid = s.child.pid!;
  try {
    const v = await registerUser(s.url);
    // Accounts the attack needs are made before measuring: each costs a scrypt hash.
    await a.setup?.((name) => registerUser(s.url, name));
    // Warm the victim's paths (first requests compile routes, load scrypt) before measuring.
    await http(s.url, 'GET', '/api/conversations', {
      headers: { authorization: `Bearer ${v.token}` },
      from: '127.0.0.2',
    });
    await new Promise((r) => setTimeout(r, 300));
    const cpu0 = treeCpu(pid);
    const rss0 = treeRss(pid);
    let peak = rss0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, treeRss(pid));
    }, 100);
    const server: HostileServer = {
      url: s.url,
      pid,
      dataDir: s.dataDir,
      register: (name) => registerUser(s.url, name),
      cpuSeconds: () => treeCpu(pid) - cpu0,
      rssMb: () => treeRss(pid),
    };
    const vic = await victim(s.url, v);
    const ac = new AbortController();
    const limit = setTimeout(
      () => ac.abort(new Error('attack ran past its time limit')),
      ATTACK_LIMIT_MS,
    );
    let outcome: string;
    try {
      outcome = await a.run(server, ac.signal);
    } catch (e) {
      outcome = `attack failed: ${(e as Error).message}`;
    }
    clearTimeout(limit);
    // Let work the attack left behind show up in CPU/RSS before reading them.
    await new Promise((r) => setTimeout(r, 500));
    const lat = await vic.stop();
    clearInterval(sampler);
    peak = Math.max(peak, treeRss(pid));
    const measured = {
      cpuSeconds: server.cpuSeconds(),
      rssGrowthMb: peak - rss0,
      victimP99Ms: p99(lat.reads),
      loginP99Ms: p99(lat.logins),
    };
    const alive = s.child.exitCode === null;
    if (!alive) outcome += ' (server died)';
    return {
      attack: a.name,
      ...measured,
      outcome,
      ok: alive && (a.ok ? a.ok(outcome, measured) : null),
    };
  } finally {
    await stopServer(s);
  }
}

async function loadAttacks(): Promise<Attack[]> {
  const dir = join(ROOT, 'bench', 'hostile');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'types.ts')
    .sort();
  const all: Attack[] = [];
  for (const f of files) {
    const mod = (await import(join(dir, f))) as { attacks?: Attack[] };
    all.push(...(mod.attacks ?? []));
  }
  return all.filter((a) => !only || a.name.toLowerCase().includes(only.toLowerCase()));
}

const attacks = await loadAttacks();
const rows: Row[] = [];
for (const a of attacks) {
  process.stderr.write(`… ${a.name}\n`);
  const r = await runAttack(a).catch((e: unknown): Row => ({
    attack: a.name,
    cpuSeconds: NaN,
    rssGrowthMb: NaN,
    victimP99Ms: NaN,
    loginP99Ms: NaN,
    outcome: `could not run: ${(e as Error).message}`,
    ok: false,
  }));
  rows.push(r);
  process.stderr.write(`  ${r.ok === false ? 'FAIL' : r.ok ? 'ok' : '—'} ${r.outcome}\n`);
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');
const lines = [
  '| attack | server CPU s | RSS growth MB | other user p99 ms | their login p99 ms | outcome | bound |',
  '| --- | ---: | ---: | ---: | ---: | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.attack} | ${f1(r.cpuSeconds)} | ${f0(r.rssGrowthMb)} | ${f0(r.victimP99Ms)} | ${f0(r.loginP99Ms)} | ${r.outcome.replace(/\|/g, '/')} | ${r.ok === null ? '—' : r.ok ? 'holds' : 'FAILS'} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n\n`);
process.stdout.write(
  `${JSON.stringify({ bench: 'hostile', at: new Date().toISOString(), rows })}\n`,
);
process.exitCode = rows.some((r) => r.ok === false) ? 1 : 0;
