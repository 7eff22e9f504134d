// PostgreSQL and Redis for tests: every test gets its own schema in the shared `test`
// database, so parallel runs never see each other's rows, and a private redis-server when
// a test needs to stop and restart Redis without disturbing anyone else.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import pg from 'pg';
import { afterAll } from 'vitest';
import { createRedisBus } from '../src/bus/redis';
import { PostgresStore } from '../src/store/postgres';
import type { Backend } from './backends';

/** The database tests run against; override with CLIPCHAT_TEST_DATABASE_URL. */
export const TEST_DATABASE_URL =
  process.env.CLIPCHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The shared Redis tests may publish on (each test under its own channel prefix). */
export const TEST_REDIS_URL = process.env.CLIPCHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A schema of its own for one test, and a URL that puts it first on the search path. */
export interface TestSchema {
  /** `t_<random>`. */
  readonly name: string;
  /** TEST_DATABASE_URL with `options=-c search_path=<name>`: every connection made from it lands in the schema. */
  readonly url: string;
  /** Drops the schema and everything in it. Idempotent. */
  drop(): Promise<void>;
}

/** Creates `t_<random>` in the test database; drop it in `afterEach`/`afterAll`. */
export async function createTestSchema(): Promise<TestSchema> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE SCHEMA ${name}`);
  const url = withSearchPath(TEST_DATABASE_URL, name);
  let dropped = false;
  return {
    name,
    url,
    async drop() {
      if (dropped) return;
      dropped = true;
      await adminQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    },
  };
}

/** `url` with its connections' search_path set to `schema` (via the libpq `options` parameter). */
export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A random channel prefix so tests sharing one Redis never hear each other. */
export function testChannelPrefix(): string {
  return `clipchat-test-${randomBytes(6).toString('hex')}:`;
}

/** A free TCP port on 127.0.0.1 (asks the kernel, then releases it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of the test's own on a random port, which the test may stop and start
 * again (on the same port) to see how nodes live through Redis going away.
 */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Starts (again) and resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGKILLs the server (no goodbye to clients: what a crash or a network cut looks like). */
  stop(): Promise<void>;
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const self: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child) return;
      const c = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
        { stdio: 'ignore' },
      );
      child = c;
      c.once('exit', () => { if (child === c) child = undefined; });
      await waitForPort(port, 10_000);
    },
    async stop() {
      const c = child;
      if (!c) return;
      child = undefined;
      await new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      });
    },
  };
  await self.start();
  return self;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.end(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis on port ${port} did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------
// The PostgreSQL + Redis backend of the parameterised server suite (see backends.ts).

const backendSchemas = new Set<string>();
const backendPrefix = testChannelPrefix();
let cleanupRegistered = false;

/** The schema a test's dataDir maps to: the same for the test's store and its child servers. */
export function schemaForDataDir(dataDir: string): string {
  return `t_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`;
}

async function dropSchema(name: string): Promise<void> {
  if (!backendSchemas.delete(name)) return;
  await adminQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
}

function trackSchema(name: string): void {
  backendSchemas.add(name);
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  // Schemas only reached through env() (child servers) are dropped when the file ends.
  afterAll(async () => {
    for (const s of [...backendSchemas]) await dropSchema(s).catch(() => {});
  });
}

/**
 * PostgreSQL store (a schema per test, dropped when the store closes or the file ends)
 * with the Redis bus (a channel prefix per test file).
 */
export const postgresBackend: Backend = {
  name: 'postgres',
  async makeStore(dataDir) {
    const name = schemaForDataDir(dataDir);
    trackSchema(name);
    const store = new PostgresStore({ url: withSearchPath(TEST_DATABASE_URL, name), poolSize: 4 });
    await store.init();
    const close = store.close.bind(store);
    store.close = async () => {
      await close();
      await dropSchema(name);
    };
    return store;
  },
  async makeBus() {
    return createRedisBus({ url: TEST_REDIS_URL, prefix: backendPrefix });
  },
  env(dataDir) {
    const name = schemaForDataDir(dataDir);
    trackSchema(name);
    return {
      CLIPCHAT_DATABASE_URL: withSearchPath(TEST_DATABASE_URL, name),
      CLIPCHAT_REDIS_URL: TEST_REDIS_URL,
      CLIPCHAT_REDIS_PREFIX: backendPrefix,
    };
  },
};
