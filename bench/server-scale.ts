/**
 * Scale-out as it would run on many small machines (`npm run bench:server -- --nodes 1,2,3
 * --node-cpu 0.3 --backend postgres`): for each node count N, N `clipchat serve` nodes on
 * one PostgreSQL database and Redis, each node in its own cgroup capped at the same share
 * of a core (bench/lib/cgroup.ts), offered N × the per-node rate by an independent load
 * process, the two people of every conversation on different nodes. One SQLite node under
 * the same cap and the first per-node rate is the reference for CPU per message.
 *
 * Prints nodes × (offered, delivered/s, p50, p95, p99, lost, duplicated, CPU µs per message
 * of nodes / PostgreSQL / Redis, time throttled) and the scaling efficiency
 * delivered(N) / (N × delivered(1)), then one JSON line per configuration.
 *
 * usage: npm run bench:server -- --nodes 1,2,3 --node-cpu 0.3[,0] --backend postgres
 *          [--rate-per-node 1500[,2500…]] [--period-us 10000] [--sockets 1200] [--duration 10]
 *          [--runs 1] [--no-sqlite]
 * `--node-cpu 0` runs the nodes uncapped (to compare capped and uncapped at the same rates).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { cgroupProblem } from './lib/cgroup';
import { backendUrls, runConfig, withSchema, type ConfigResult, type Opts } from './server-cluster';

interface ScaleOpts {
  nodes: number[];
  cpus: number[];
  ratesPerNode: number[];
  periodUs: number;
  runs: number;
  sqlite: boolean;
  base: Opts;
}

function parse(argv: string[]): ScaleOpts {
  const arg = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
  };
  const list = (name: string, def: string) => arg(name, def).split(',').map(Number);
  const o: ScaleOpts = {
    nodes: list('nodes', '1,2,3'),
    cpus: list('node-cpu', '0.3'),
    ratesPerNode: list('rate-per-node', '1500'),
    periodUs: Number(arg('period-us', '10000')),
    runs: Number(arg('runs', '1')),
    sqlite: !argv.includes('--no-sqlite'),
    base: {
      nodes: 0,
      backend: 'postgres',
      sockets: Number(arg('sockets', '1200')),
      rates: [],
      duration: Number(arg('duration', '10')),
      sync: arg('sync', 'full'),
      ...backendUrls(arg),
      placement: 'split',
    },
  };
  if (arg('backend', 'postgres') !== 'postgres')
    throw new Error('--backend must be postgres (the scale-out backend)');
  if (o.nodes.some((n) => !(Number.isInteger(n) && n >= 1 && n <= 8)))
    throw new Error(`--nodes must be whole numbers 1–8, comma-separated, got ${arg('nodes', '')}`);
  if (o.cpus.some((c) => !(c >= 0 && c <= 64)))
    throw new Error('--node-cpu must be cores ≥ 0 (0: uncapped), comma-separated');
  if (o.ratesPerNode.some((r) => !(r > 0)))
    throw new Error('--rate-per-node must be positive numbers, comma-separated');
  if (!(o.periodUs >= 1000 && o.periodUs <= 1_000_000))
    throw new Error('--period-us must be 1000–1000000');
  if (o.base.sockets % (2 * Math.max(...o.nodes)))
    throw new Error('--sockets must be a multiple of 2 × the largest node count');
  if (o.cpus.some((c) => c > 0)) {
    const problem = cgroupProblem();
    if (problem) throw new Error(`--node-cpu: ${problem}`);
  }
  return o;
}

interface Row {
  backend: 'sqlite' | 'postgres';
  nodes: number;
  cpu: number;
  ratePerNode: number;
  offered: number;
  runs: ConfigResult[];
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f0 = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? '—' : String(Math.round(n));

/** CPU µs per delivered message of [nodes, postgres, redis] for one run. */
function perMsg(c: ConfigResult): [number, number | undefined, number | undefined] {
  const rate = Math.max(1, c.load.acceptedPerSec);
  const nodes = Object.entries(c.cpu)
    .filter(([k]) => k.startsWith('node'))
    .reduce((s, [, v]) => s + v, 0);
  const us = (v: number | undefined) => (v === undefined ? undefined : (v * 1e6) / rate);
  return [us(nodes)!, us(c.cpu.postgres), us(c.cpu.redis)];
}

/** The median over runs of one figure. */
const m = (r: Row, fn: (c: ConfigResult) => number | undefined) =>
  med(r.runs.map(fn).map((v) => v ?? NaN));

function table(rows: Row[]): string[] {
  const one = new Map<string, number>();
  for (const r of rows)
    if (r.backend === 'postgres' && r.nodes === 1)
      one.set(
        `${r.cpu}:${r.ratePerNode}`,
        m(r, (c) => c.load.deliveredPerSec),
      );
  const head = [
    'backend',
    'nodes',
    'cores/node',
    'offered/s',
    'delivered/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'lost',
    'dup',
    'errors',
    'µs/msg nodes',
    'pg',
    'redis',
    'throttled',
    'efficiency',
  ];
  const body = rows.map((r) => {
    const base = one.get(`${r.cpu}:${r.ratePerNode}`);
    const d = m(r, (c) => c.load.deliveredPerSec);
    return [
      r.backend,
      String(r.nodes),
      r.cpu ? String(r.cpu) : 'uncapped',
      String(r.offered),
      f0(d),
      m(r, (c) => c.load.latencyMs.p50).toFixed(1),
      f0(m(r, (c) => c.load.latencyMs.p95)),
      f0(m(r, (c) => c.load.latencyMs.p99)),
      String(Math.max(...r.runs.map((c) => c.load.lost))),
      String(Math.max(...r.runs.map((c) => c.load.duplicated))),
      String(Math.max(...r.runs.map((c) => c.load.errors))),
      f0(m(r, (c) => perMsg(c)[0])),
      f0(m(r, (c) => perMsg(c)[1])),
      f0(m(r, (c) => perMsg(c)[2])),
      r.cpu ? `${f0(m(r, (c) => (c.throttled?.share ?? 0) * 100))} %` : '—',
      r.backend === 'postgres' && base ? (d / (r.nodes * base)).toFixed(2) : '—',
    ];
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...body.map(line)];
}

export async function runScaleBench(argv: string[]): Promise<void> {
  const o = parse(argv);
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const env = {
    CLIPCHAT_DATABASE_URL: withSchema(o.base.databaseUrl, schema),
    CLIPCHAT_REDIS_URL: o.base.redisUrl,
    CLIPCHAT_REDIS_PREFIX: `clipchat-bench-${schema}:`,
  };
  const admin = new pg.Client({ connectionString: o.base.databaseUrl });
  await admin.connect();
  const rows: Row[] = [];
  const load0 = loadavg()[0]!;
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(
    `scale-out: nodes ${o.nodes.join(',')} × cores/node ${o.cpus.join(',')} × per-node rate ` +
      `${o.ratesPerNode.join(',')} msg/s, ${o.base.sockets} sockets, ${o.base.duration} s, ` +
      `period ${o.periodUs} µs, ${o.runs} run(s) each (median shown); load average ${load0.toFixed(1)}`,
  );
  try {
    for (const cpu of o.cpus) {
      const cap = cpu > 0 ? { cores: cpu, periodUs: o.periodUs } : undefined;
      for (const ratePerNode of o.ratesPerNode) {
        const configs: Row[] = [];
        if (o.sqlite && ratePerNode === o.ratesPerNode[0])
          configs.push({
            backend: 'sqlite',
            nodes: 1,
            cpu,
            ratePerNode,
            offered: ratePerNode,
            runs: [],
          });
        for (const n of o.nodes)
          configs.push({
            backend: 'postgres',
            nodes: n,
            cpu,
            ratePerNode,
            offered: n * ratePerNode,
            runs: [],
          });
        // Runs interleave over the configurations, so a noisy minute spreads over all of them.
        for (let run = 0; run < o.runs; run++) {
          for (const c of configs) {
            const label = `${c.backend} ×${c.nodes} @${c.offered}/s${cap ? ` cap ${cpu}` : ''}`;
            process.stderr.write(`${label} run ${run + 1}/${o.runs}\n`);
            const r = await runConfig(
              label,
              o.base,
              c.offered,
              c.nodes,
              c.backend === 'postgres' ? env : null,
              cap,
            );
            if (c.backend === 'postgres')
              await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
            c.runs.push(r);
            process.stdout.write(
              JSON.stringify({
                bench: 'server-scale',
                backend: c.backend,
                nodes: c.nodes,
                cpu,
                periodUs: o.periodUs,
                offered: c.offered,
                run,
                load: r.load,
                cpuCores: r.cpu,
                throttled: r.throttled,
                perMsgUs: perMsg(r),
              }) + '\n',
            );
          }
        }
        rows.push(...configs);
      }
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  }
  say('');
  for (const l of table(rows)) say(l);
  say(`load average ${load0.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`);
  say(
    'efficiency: delivered(N) / (N × delivered(1)) at the same cap and per-node rate; ' +
      'µs/msg: CPU time of all nodes (or PostgreSQL, Redis) per accepted message',
  );
}
