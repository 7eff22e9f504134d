/**
 * Scale-out benchmark (`npm run bench:server -- --nodes 2 --backend postgres`): the same
 * load as the single-node benchmark (bench/server-load.ts, bench/server-node.ts), run
 * first against one SQLite node, then against N nodes sharing PostgreSQL and Redis, and
 * printed side by side. Conversations are split across nodes (socket 2p on one node, its
 * peer 2p+1 on the next), so every message crosses Redis: the hard case.
 *
 * While each load runs it samples CPU time of every part — each node, the load generator,
 * all PostgreSQL processes, Redis — and the whole machine, to say where the limit is.
 *
 * usage: npm run bench:server -- --nodes 2 --backend postgres [--sockets 1000] [--rate 10000[,15000…]]
 *          [--duration 10] [--sync full|normal] [--placement split|together]
 *          [--database-url postgres://…] [--redis-url redis://…]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { capProcess, type Cap } from './lib/cgroup';
import type { LoadPlan, LoadResult } from './server-load';

const HERE = dirname(fileURLToPath(import.meta.url));
const TICK = 100; // USER_HZ: /proc CPU times are in 1/100 s on Linux

export interface Opts {
  nodes: number;
  backend: string;
  sockets: number;
  rates: number[];
  duration: number;
  sync: string;
  databaseUrl: string;
  redisUrl: string;
  /**
   * `split`: the two people of a conversation on different nodes (every message crosses Redis);
   * `together`: on the same node.
   */
  placement: 'split' | 'together';
}

/** `--database-url` / `--redis-url`, else the CLIPCHAT_BENCH_* variables, else this machine's. */
export function backendUrls(arg: (name: string, def: string) => string) {
  return {
    databaseUrl: arg(
      'database-url',
      process.env.CLIPCHAT_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    ),
    redisUrl: arg('redis-url', process.env.CLIPCHAT_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'),
  };
}

function parse(argv: string[]): Opts {
  const arg = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
  };
  const o: Opts = {
    nodes: Number(arg('nodes', '2')),
    backend: arg('backend', 'postgres'),
    sockets: Number(arg('sockets', '1000')),
    rates: arg('rate', '10000').split(',').map(Number),
    duration: Number(arg('duration', '10')),
    sync: arg('sync', 'full'),
    ...backendUrls(arg),
    placement: arg('placement', 'split') as Opts['placement'],
  };
  if (o.placement !== 'split' && o.placement !== 'together')
    throw new Error(`--placement must be split or together, got ${String(o.placement)}`);
  if (o.backend !== 'postgres')
    throw new Error(`--backend must be postgres (the scale-out backend), got ${o.backend}`);
  if (!(o.nodes >= 1 && o.nodes <= 16)) throw new Error(`--nodes must be 1–16, got ${o.nodes}`);
  if (o.sockets < 2 || o.sockets % 2) throw new Error('--sockets must be an even number ≥ 2');
  if (o.rates.some((r) => !(r > 0)))
    throw new Error('--rate must be positive numbers, comma-separated');
  return o;
}

// ---- processes ------------------------------------------------------------------------

interface Proc {
  child: ChildProcess;
  stderr: string[];
  lines: string[];
  waiters: ((l: string) => void)[];
}

function tsx(file: string, args: string[], env: Record<string, string> = {}): Proc {
  // CLIPCHAT_BENCH_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to the nodes.
  const flags =
    file === 'server-node.ts'
      ? (process.env.CLIPCHAT_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)
      : [];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', join(HERE, file), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const p: Proc = { child, stderr: [], lines: [], waiters: [] };
  createInterface({ input: child.stderr }).on('line', (l) => p.stderr.push(l));
  createInterface({ input: child.stdout }).on('line', (l) => {
    p.lines.push(l);
    for (const w of p.waiters.splice(0)) w(l);
  });
  return p;
}

/** The first stdout line (nodes: their URL and seed; the load: its result). */
function firstLine(p: Proc): Promise<string> {
  if (p.lines.length) return Promise.resolve(p.lines[0]!);
  const failed = () =>
    new Error(
      `child exited with ${p.child.exitCode ?? p.child.signalCode}: ${p.stderr.slice(-20).join(' | ')}`,
    );
  // A child that already exited never emits 'exit' again: answer at once, not never.
  if (p.child.exitCode !== null || p.child.signalCode !== null) return Promise.reject(failed());
  return new Promise((resolve, reject) => {
    p.waiters.push(resolve);
    p.child.once('close', () => reject(failed()));
  });
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  // 'close' (not 'exit'): the node's last stderr line (its write counters) is read by then.
  const exited = new Promise((r) => p.child.once('close', r));
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

// ---- CPU accounting -------------------------------------------------------------------

function procTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return 0;
  }
}

export function pidsNamed(name: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === name) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const idle = f[3]! + f[4]!;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU used (in cores) by named groups of processes between start() and stop(). */
function cpuMeter(groups: Record<string, () => number[]>) {
  const snap = () => ({
    at: performance.now(),
    m: machineTicks(),
    g: Object.fromEntries(
      Object.entries(groups).map(([k, pids]) => [k, new Map(pids().map((p) => [p, procTicks(p)]))]),
    ),
  });
  let a = snap();
  return {
    start() {
      a = snap();
    },
    stop(): Record<string, number> {
      const b = snap();
      const secs = (b.at - a.at) / 1000;
      const out: Record<string, number> = {};
      for (const k of Object.keys(groups)) {
        let ticks = 0;
        for (const [pid, t] of b.g[k]!) ticks += t - (a.g[k]!.get(pid) ?? t);
        out[k] = ticks / TICK / secs;
      }
      const cores = (b.m.total - a.m.total) / TICK / secs;
      out.machineBusy = (b.m.busy - a.m.busy) / Math.max(1, b.m.total - a.m.total);
      out.cores = cores;
      return out;
    },
  };
}

// ---- one configuration ----------------------------------------------------------------

export interface ConfigResult {
  label: string;
  /** Nodes throttled by their CPU cap: share of quota periods throttled, and the stall time. */
  throttled?: { share: number; secs: number };
  load: LoadResult;
  cpu: Record<string, number>;
  written: number;
  batches: number;
  commitsPerSec?: number;
}

export async function runConfig(
  label: string,
  o: Opts,
  rate: number,
  nodeCount: number,
  env: Record<string, string> | null,
  cap?: { cores: number; periodUs: number },
): Promise<ConfigResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-bench-'));
  const nodes: Proc[] = [];
  const caps: Cap[] = [];
  try {
    const first = tsx(
      'server-node.ts',
      ['--data', dataDir, '--port', '0', '--seed', String(o.sockets / 2), '--sync', o.sync],
      env ?? {},
    );
    nodes.push(first);
    const { url, seed } = JSON.parse(await firstLine(first)) as {
      url: string;
      seed: { tokens: string[]; conversations: string[] };
    };
    const urls = [url];
    // The other nodes start once the first has migrated and seeded the shared database.
    const rest = Array.from({ length: nodeCount - 1 }, () =>
      tsx('server-node.ts', ['--data', dataDir, '--port', '0'], env ?? {}),
    );
    nodes.push(...rest);
    for (const p of rest) urls.push((JSON.parse(await firstLine(p)) as { url: string }).url);
    // Capped from here on: seeding and start-up are setup, as on a machine already running.
    if (cap)
      nodes.forEach((n, i) =>
        caps.push(capProcess(n.child.pid!, `clipchat-node${i + 1}`, cap.cores, cap.periodUs)),
      );

    const planFile = join(dataDir, 'plan.json');
    // The load puts socket i on urls[i % urls.length] and pairs sockets 2p, 2p+1: listing
    // each node twice keeps both people of a conversation on one node.
    const planUrls = o.placement === 'together' ? urls.flatMap((u) => [u, u]) : urls;
    const plan: LoadPlan = {
      urls: planUrls,
      tokens: seed.tokens,
      conversations: seed.conversations,
      rate,
      duration: o.duration,
    };
    writeFileSync(planFile, JSON.stringify(plan));
    const groups: Record<string, () => number[]> = {};
    nodes.forEach((n, i) => {
      groups[`node${i + 1}`] = () => [n.child.pid!];
    });
    let loadPid = 0;
    groups.load = () => (loadPid ? [loadPid] : []);
    if (env) {
      groups.postgres = () => pidsNamed('postgres');
      groups.redis = () => pidsNamed('redis-server');
    }
    const db = env ? new pg.Client({ connectionString: env.CLIPCHAT_DATABASE_URL }) : null;
    await db?.connect();
    const commits = async () =>
      db
        ? Number(
            (
              await db.query(
                `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`,
              )
            ).rows[0].xact_commit,
          )
        : 0;

    const load = tsx('server-load.ts', [planFile]);
    loadPid = load.child.pid!;
    const meter = cpuMeter(groups);
    // Skip the connection phase and the load's warm-up (2 s): measure the steady state.
    await new Promise((r) => setTimeout(r, Math.min(3000, 200 + o.sockets * 1.5) + 2000));
    meter.start();
    const th0 = caps.map((c) => c.throttled());
    const c0 = await commits();
    const t0 = performance.now();
    const resultLine = firstLine(load);
    await new Promise((r) => setTimeout(r, o.duration * 1000 * 0.8));
    const cpu = meter.stop();
    const th1 = caps.map((c) => c.throttled());
    const c1 = await commits();
    const commitSecs = (performance.now() - t0) / 1000;
    const r = JSON.parse(await resultLine) as LoadResult;
    await db?.end();

    let written = 0;
    let batches = 0;
    await Promise.all(nodes.map(stop));
    // On SIGTERM each node prints its counters as a second JSON line.
    for (const n of nodes) {
      const last =
        n.lines.length > 1
          ? (JSON.parse(n.lines[n.lines.length - 1]!) as { written?: number; batches?: number })
          : {};
      written += last.written ?? 0;
      batches += last.batches ?? 0;
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const throttled = caps.length
      ? {
          share:
            sum(th1.map((t, i) => t.throttledPeriods - th0[i]!.throttledPeriods)) /
            Math.max(1, sum(th1.map((t, i) => t.periods - th0[i]!.periods))),
          secs: sum(th1.map((t, i) => t.throttledSecs - th0[i]!.throttledSecs)),
        }
      : undefined;
    return {
      label,
      throttled,
      load: r,
      cpu,
      written,
      batches,
      commitsPerSec: env ? (c1 - c0) / commitSecs : undefined,
    };
  } finally {
    await Promise.all(nodes.map(stop));
    for (const c of caps) c.release();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---- report ---------------------------------------------------------------------------

export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

const f0 = (n: number) => (Number.isFinite(n) ? String(Math.round(n)) : '—');
const f2 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(2));

/** CPU time per accepted message of each part, µs: [nodes, postgres, redis, load generator]. */
function perMsg(c: ConfigResult): (number | undefined)[] {
  const rate = Math.max(1, c.load.acceptedPerSec);
  const nodes = Object.entries(c.cpu)
    .filter(([k]) => k.startsWith('node'))
    .reduce((s, [, v]) => s + v, 0);
  const us = (v: number | undefined) => (v === undefined ? undefined : (v * 1e6) / rate);
  return [us(nodes), us(c.cpu.postgres), us(c.cpu.redis), us(c.cpu.load)];
}

/**
 * Messages per second this machine's cores could carry if the benchmark had them all:
 * cores ÷ CPU time per message summed over every part (load generator included, since it
 * shares the machine). Other work on a shared machine does not move this figure much,
 * unlike the measured msg/s.
 */
function ceiling(c: ConfigResult): number {
  const total = perMsg(c).reduce<number>((s, v) => s + (v ?? 0), 0);
  return total > 0 ? (c.cpu.cores! * 1e6) / total : NaN;
}

function report(
  rate: number,
  a: ConfigResult,
  b: ConfigResult,
  o: Opts,
): { lines: string; verdict: Record<string, unknown> } {
  const rows: [string, (c: ConfigResult) => string][] = [
    ['accepted msg/s', (c) => f0(c.load.acceptedPerSec)],
    ['delivered msg/s', (c) => f0(c.load.deliveredPerSec)],
    [
      'latency p50 / p95 / p99 ms',
      (c) =>
        `${f0(c.load.latencyMs.p50)} / ${f0(c.load.latencyMs.p95)} / ${f0(c.load.latencyMs.p99)}`,
    ],
    ['ack p50 / p99 ms', (c) => `${f0(c.load.ackMs.p50)} / ${f0(c.load.ackMs.p99)}`],
    [
      'lost / duplicated / errors',
      (c) => `${c.load.lost} / ${c.load.duplicated} / ${c.load.errors}`,
    ],
    ['msgs per commit', (c) => f0(c.written / Math.max(1, c.batches))],
    [
      'CPU nodes (cores)',
      (c) =>
        Object.entries(c.cpu)
          .filter(([k]) => k.startsWith('node'))
          .map(([, v]) => f2(v))
          .join(' + '),
    ],
    ['CPU load generator', (c) => f2(c.cpu.load)],
    [
      'CPU postgres / redis',
      (c) => (c.cpu.postgres === undefined ? '—' : `${f2(c.cpu.postgres)} / ${f2(c.cpu.redis)}`),
    ],
    ['machine busy (of cores)', (c) => `${f0(c.cpu.machineBusy! * 100)} % of ${f0(c.cpu.cores!)}`],
    [
      'CPU µs/msg nodes/pg/redis/load',
      (c) =>
        perMsg(c)
          .map((v) => (v === undefined ? '—' : f0(v)))
          .join(' / '),
    ],
    ['CPU-bound ceiling msg/s', (c) => f0(ceiling(c))],
  ];
  const w0 = Math.max(...rows.map(([k]) => k.length), 22);
  const cols = [a, b].map((c) => [c.label, ...rows.map(([, fn]) => fn(c))]);
  const w = cols.map((c) => Math.max(...c.map((s) => s.length)));
  const line = (k: string, cells: string[]) =>
    `| ${k.padEnd(w0)} | ${cells.map((s, i) => s.padEnd(w[i]!)).join(' | ')} |`;
  const out = [
    `offered ${rate} msg/s for ${o.duration} s over ${o.sockets} sockets (${o.sockets / 2} two-person conversations)`,
    line(
      '',
      cols.map((c) => c[0]!),
    ),
    `| ${'-'.repeat(w0)} | ${w.map((n) => '-'.repeat(n)).join(' | ')} |`,
    ...rows.map(([k], i) =>
      line(
        k,
        cols.map((c) => c[i + 1]!),
      ),
    ),
  ];
  const ratio = b.load.acceptedPerSec / Math.max(1, a.load.acceptedPerSec);
  const met =
    ratio >= 1.5 && b.load.latencyMs.p99 <= 100 && b.load.lost === 0 && b.load.duplicated === 0;
  // Where the limit is: the busiest part, against what the machine had to give.
  const parts = Object.entries(b.cpu).filter(([k]) => !['machineBusy', 'cores'].includes(k));
  const nodeSum = parts.filter(([k]) => k.startsWith('node')).reduce((s, [, v]) => s + v, 0);
  const byPart: [string, number][] = [
    ['nodes', nodeSum],
    ['postgres', b.cpu.postgres ?? 0],
    ['redis', b.cpu.redis ?? 0],
    ['load generator', b.cpu.load ?? 0],
  ];
  byPart.sort((x, y) => y[1] - x[1]);
  const saturated = (b.cpu.machineBusy ?? 0) > 0.9;
  const limit = saturated
    ? `the machine's ${f0(b.cpu.cores!)} cores are saturated (${f0(b.cpu.machineBusy! * 100)} % busy): ${byPart.map(([k, v]) => `${k} ${f2(v)}`).join(', ')} cores`
    : `CPU is not saturated (${f0(b.cpu.machineBusy! * 100)} % busy); busiest: ${byPart.map(([k, v]) => `${k} ${f2(v)}`).join(', ')} cores`;
  out.push(
    `${b.label} / ${a.label}: ${ratio.toFixed(2)}× accepted msg/s; goal (≥ 1.5×, p99 ≤ 100 ms, none lost or duplicated): ${met ? 'met' : 'NOT met'}`,
  );
  out.push(`limit: ${limit}`);
  out.push(
    `CPU-bound ceilings on these ${f0(b.cpu.cores!)} cores: ${a.label} ${f0(ceiling(a))} msg/s, ${b.label} ${f0(ceiling(b))} msg/s (${(ceiling(b) / ceiling(a)).toFixed(2)}×)`,
  );
  return {
    lines: out.join('\n'),
    verdict: {
      rate,
      ratio: +ratio.toFixed(2),
      goal: met,
      limit,
      ceilings: { sqlite: Math.round(ceiling(a)), cluster: Math.round(ceiling(b)) },
      sqlite: a,
      cluster: b,
    },
  };
}

/** Runs the comparison for every requested rate and prints tables and JSON lines. */
export async function runClusterBench(argv: string[]): Promise<void> {
  const o = parse(argv);
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const env = {
    CLIPCHAT_DATABASE_URL: withSchema(o.databaseUrl, schema),
    CLIPCHAT_REDIS_URL: o.redisUrl,
    CLIPCHAT_REDIS_PREFIX: `clipchat-bench-${schema}:`,
  };
  const admin = new pg.Client({ connectionString: o.databaseUrl });
  await admin.connect();
  try {
    for (const rate of o.rates) {
      const a = await runConfig(`sqlite, 1 node`, o, rate, 1, null);
      // A fresh schema per rate so every run starts from the same empty database.
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      const b = await runConfig(
        `postgres + redis, ${o.nodes} nodes${o.placement === 'together' ? ' (pairs together)' : ''}`,
        o,
        rate,
        o.nodes,
        env,
      );
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      const { lines, verdict } = report(rate, a, b, o);
      process.stdout.write(`\n${lines}\n`);
      process.stdout.write(
        JSON.stringify({
          bench: 'server-cluster',
          nodes: o.nodes,
          backend: o.backend,
          sync: o.sync,
          placement: o.placement,
          ...verdict,
        }) + '\n',
      );
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  }
}
