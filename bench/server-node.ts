/**
 * One Clipchat server node for the load benchmark. Prints one JSON line on stdout when
 * listening: `{url, seed?}`. With `--seed PAIRS` it first creates 2·PAIRS users with
 * sessions and PAIRS direct conversations straight through the Store (setup is not what
 * the benchmark measures; password hashing 1000 users would take a minute).
 *
 * usage: tsx bench/server-node.ts --data DIR [--port 0] [--seed 500] [--sync full|normal]
 * env: CLIPCHAT_DATABASE_URL / CLIPCHAT_REDIS_URL select PostgreSQL / Redis.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { backendsFromEnv, createServer } from '../packages/server/src/index';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const dataDir = arg('data')!;
const port = Number(arg('port', '0'));
const seedPairs = Number(arg('seed', '0'));
const sync = arg('sync', 'full') as 'full' | 'normal';

const { store, bus } = await backendsFromEnv();
const server = await createServer({
  dataDir,
  store,
  bus,
  logger: { level: 'warn' },
  rateLimits: false,
  // Every benchmark socket comes from 127.0.0.1: the per-address cap (64) would refuse them.
  http: { maxConnectionsPerAddress: 0 },
  sqliteSynchronous: sync,
});

let seed: { tokens: string[]; userIds: string[]; conversations: string[] } | undefined;
if (seedPairs > 0) {
  const s = server.store;
  const now = Date.now();
  const tag = randomBytes(3).toString('hex');
  const tokens: string[] = [];
  const userIds: string[] = [];
  const conversations: string[] = [];
  for (let i = 0; i < seedPairs * 2; i++) {
    const id = randomUUID();
    // No one logs in with these: the hash is a placeholder that matches no password.
    await s.createUser({
      id,
      username: `bench${tag}${i}`,
      passwordHash: 'scrypt$16384$8$1$AA==$AA==',
      createdAt: now,
    });
    const token = randomBytes(24).toString('base64url');
    await s.createSession({
      tokenHash: createHash('sha256').update(token).digest('hex'),
      userId: id,
      csrfToken: 'x',
      createdAt: now,
      expiresAt: now + 86_400_000,
    });
    tokens.push(token);
    userIds.push(id);
  }
  for (let p = 0; p < seedPairs; p++) {
    const a = userIds[2 * p]!;
    const b = userIds[2 * p + 1]!;
    const { conversation } = await s.createConversation({
      id: randomUUID(),
      kind: 'direct',
      title: null,
      createdBy: a,
      createdAt: now,
      memberIds: [a, b],
      directKey: [a, b].sort().join(':'),
    });
    conversations.push(conversation.id);
  }
  seed = { tokens, userIds, conversations };
}

const url = await server.listen({ port, host: '127.0.0.1' });
process.stdout.write(JSON.stringify({ url, seed }) + '\n');

// CPU accounting from here on (setup excluded): the event loop's busy time is the main
// thread; the rest of the process CPU is the writer/checkpoint threads and libuv.
const elu0 = performance.eventLoopUtilization();
const cpu0 = process.cpuUsage();
const t0 = performance.now();

const stop = () => {
  const st = server.stats();
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const c = st.commitMs.sort((a, b) => a - b);
  const q = (p: number) =>
    Math.round((c[Math.min(c.length - 1, Math.floor(p * c.length))] ?? 0) * 10) / 10;
  const report = {
    commitMs: { p50: q(0.5), p99: q(0.99), max: q(1) },
    written: st.written,
    batches: st.batches,
    perCommit: Math.round(st.written / Math.max(1, st.batches)),
    delivered: st.delivered,
    mainThreadBusyMs: Math.round(elu.active),
    processCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    wallMs: Math.round(wallMs),
  };
  process.stdout.write(JSON.stringify(report) + '\n');
  void server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
