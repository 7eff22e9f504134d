/**
 * Servers for the conversation benches (bench/alive.ts, bench/alive-screen.ts): one SQLite
 * node, or N nodes sharing one PostgreSQL schema of their own and Redis, each in this
 * process on a free port. Also the two statistics those benches print.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createServer, type ClipchatServer } from '../../packages/server/src/index';
import { createRedisBus } from '../../packages/server/src/bus/redis';
import { PostgresStore } from '../../packages/server/src/store/postgres';

const DB = process.env.CLIPCHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.CLIPCHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
export const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;
export const p90 = (xs: number[]) =>
  sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))]!;

/** A PostgreSQL schema of its own (its URL sets the search_path), dropped by `drop()`. */
export async function schema(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: DB });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE SCHEMA ${name}`);
  const u = new URL(DB);
  u.searchParams.set('options', `-c search_path=${name}`);
  return { url: u.toString(), drop: () => admin(`DROP SCHEMA IF EXISTS ${name} CASCADE`) };
}

export interface Nodes {
  urls: string[];
  /** Closes the servers, removes their folders, drops the schema (PostgreSQL). */
  close(): Promise<void>;
}

/**
 * `backend` 'sqlite': one node. 'postgres': `n` nodes on one fresh schema and one Redis
 * channel prefix, as a cluster behind a load balancer. `webRoot`: serve the built web app.
 */
export async function startNodes(
  backend: 'sqlite' | 'postgres',
  n = 2,
  webRoot?: string,
): Promise<Nodes> {
  const dirs: string[] = [];
  const servers: ClipchatServer[] = [];
  const sc = backend === 'postgres' ? await schema() : undefined;
  const prefix = `clipchat-bench-${randomBytes(4).toString('hex')}:`;
  const close = async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await sc?.drop();
  };
  try {
    const urls: string[] = [];
    for (let i = 0; i < (sc ? n : 1); i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-bench-nodes-'));
      dirs.push(dataDir);
      const s = await createServer({
        dataDir,
        webRoot,
        ...(sc && {
          store: new PostgresStore({ url: sc.url, poolSize: 4 }),
          bus: await createRedisBus({ url: REDIS, prefix }),
        }),
        logger: false,
        rateLimits: false,
      });
      servers.push(s);
      urls.push(await s.listen({ port: 0, host: '127.0.0.1' }));
    }
    return { urls, close };
  } catch (err) {
    await close();
    throw err;
  }
}
