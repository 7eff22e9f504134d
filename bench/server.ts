/**
 * Server load benchmark (`npm run bench:server`): the server in one process, the load
 * from another. N sockets (default 1000 = 500 two-person conversations) send at R msg/s
 * for D seconds; prints accepted/delivered msg/s, send-to-receive latency percentiles,
 * lost and duplicated counts as a table and one JSON line.
 *
 * usage: npm run bench:server -- [--sockets 1000] [--rate 10000] [--duration 10] [--warmup 2] [--sync full|normal]
 *
 * Rates and latencies cover the messages sent after the warm-up; lost and duplicated
 * cover every message. `--sync normal` trades power-loss durability of the last commits
 * for no fsync per commit (acked messages still survive a crash of the server process).
 *        npm run bench:server -- --nodes 2 --backend postgres [same options]   (see server-cluster.ts)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadPlan, LoadResult } from './server-load';

const HERE = dirname(fileURLToPath(import.meta.url));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

// `--nodes N` / `--backend postgres`: the scale-out comparison, one SQLite node and N
// nodes on PostgreSQL + Redis side by side under this same load (bench/server-cluster.ts).
const nodesArg = process.argv[process.argv.indexOf('--nodes') + 1] ?? '';
if (
  process.argv.includes('--node-cpu') ||
  (process.argv.includes('--nodes') && nodesArg.includes(','))
) {
  const { runScaleBench } = await import('./server-scale');
  await runScaleBench(process.argv.slice(2));
  process.exit(0);
}
if (process.argv.includes('--nodes') || process.argv.includes('--backend')) {
  const { runClusterBench } = await import('./server-cluster');
  await runClusterBench(process.argv.slice(2));
  process.exit(0);
}

const sockets = Number(arg('sockets', '1000'));
const rate = Number(arg('rate', '10000'));
const duration = Number(arg('duration', '10'));
const sync = arg('sync', 'full');
const warmup = Number(arg('warmup', '2'));
if (sockets < 2 || sockets % 2) throw new Error('--sockets must be an even number ≥ 2');

function tsx(file: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(HERE, file), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** Yields the lines a child prints on stdout, in order. */
function lines(p: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  let failed: Error | null = null;
  const rejecters: ((e: Error) => void)[] = [];
  createInterface({ input: p.stdout! }).on('line', (l) => {
    const w = waiting.shift();
    rejecters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  p.once('exit', (code) => {
    failed = new Error(`child exited with ${code} before answering`);
    for (const r of rejecters) r(failed);
  });
  return () =>
    new Promise((resolve, reject) => {
      const l = queue.shift();
      if (l !== undefined) return resolve(l);
      if (failed) return reject(failed);
      waiting.push(resolve);
      rejecters.push(reject);
    });
}

const load0 = loadavg()[0]!;
const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-bench-'));
const server = tsx('server-node.ts', [
  '--data',
  dataDir,
  '--port',
  '0',
  '--seed',
  String(sockets / 2),
  '--sync',
  sync,
]);
const serverLine = lines(server);
try {
  const { url, seed } = JSON.parse(await serverLine()) as {
    url: string;
    seed: { tokens: string[]; conversations: string[] };
  };
  const planFile = join(dataDir, 'plan.json');
  const plan: LoadPlan = {
    urls: [url],
    tokens: seed.tokens,
    conversations: seed.conversations,
    rate,
    duration,
    warmup,
  };
  writeFileSync(planFile, JSON.stringify(plan));
  const load = tsx('server-load.ts', [planFile]);
  const r = JSON.parse(await lines(load)()) as LoadResult;
  server.kill('SIGTERM');
  const sv = JSON.parse(await serverLine()) as {
    perCommit: number;
    batches: number;
    mainThreadBusyMs: number;
    processCpuMs: number;
    wallMs: number;
    commitMs: { p50: number; p99: number; max: number };
  };
  const perMsg = (ms: number) => Math.round((ms * 1000) / Math.max(1, r.accepted));

  const rows: [string, string][] = [
    ['backend', `sqlite (synchronous=${sync}), 1 node`],
    [
      'machine',
      `${cpus().length} cores; load average ${load0.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (others' work skews latency)`,
    ],
    ['sockets / conversations', `${r.sockets} / ${r.sockets / 2}`],
    ['target rate', `${rate} msg/s for ${duration} s (after ${warmup} s of warm-up)`],
    ['sent (measured)', `${r.sent} (${r.measuredSent})`],
    ['accepted (acked)', `${r.accepted}  (${r.acceptedPerSec} msg/s)`],
    ['delivered to peer', `${r.delivered}  (${r.deliveredPerSec} msg/s)`],
    [
      'latency send→receive p50 / p95 / p99 / max',
      `${r.latencyMs.p50} / ${r.latencyMs.p95} / ${r.latencyMs.p99} / ${r.latencyMs.max} ms`,
    ],
    ['ack latency p50 / p99', `${r.ackMs.p50} / ${r.ackMs.p99} ms`],
    [
      'p99 latency by second of the run',
      r.p99BySecondMs.map((x) => Math.round(x)).join(' ') + ' ms',
    ],
    ['errors', String(r.errors)],
    ['server: commits, messages per commit', `${sv.batches}, ${sv.perCommit}`],
    [
      'commit time p50 / p99 / max',
      `${sv.commitMs.p50} / ${sv.commitMs.p99} / ${sv.commitMs.max} ms`,
    ],
    [
      'CPU per message: server / load generator',
      `${perMsg(sv.processCpuMs)} / ${r.cpuPerMessageUs} µs (server event loop busy ${Math.round(sv.mainThreadBusyMs / 10) / 100} s of ${Math.round(sv.wallMs / 10) / 100} s)`,
    ],
    ['lost', String(r.lost)],
    ['duplicated', String(r.duplicated)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');
  // Offered load is scheduled in 5 ms ticks, so "10 000 msg/s" may count a few messages
  // short of 100 000 in 10 s; what matters is that every offered message was accepted.
  const goal =
    rate >= 10_000 &&
    r.accepted === r.sent &&
    r.errors === 0 &&
    r.acceptedPerSec >= rate * 0.99 &&
    r.latencyMs.p99 <= 50 &&
    r.lost === 0 &&
    r.duplicated === 0;
  process.stdout.write(
    `goal (≥10000 msg/s all accepted, p99 ≤ 50 ms, none lost or duplicated): ${goal ? 'met' : 'NOT met'}\n`,
  );
  process.stdout.write(
    JSON.stringify({
      bench: 'server',
      backend: 'sqlite',
      nodes: 1,
      sync,
      rate,
      duration,
      warmup,
      cores: cpus().length,
      loadavgBefore: load0,
      loadavgAfter: loadavg()[0],
      ...r,
      goal,
      server: {
        commits: sv.batches,
        perCommit: sv.perCommit,
        commitMs: sv.commitMs,
        cpuUsPerMsg: perMsg(sv.processCpuMs),
        loopBusyMs: sv.mainThreadBusyMs,
        wallMs: sv.wallMs,
      },
    }) + '\n',
  );
} finally {
  if (server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  rmSync(dataDir, { recursive: true, force: true });
}
