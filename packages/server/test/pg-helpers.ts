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
const TEST_DATABASE_URL =
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
function withSearchPath(url: string, schema: string): string {
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
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
          '--loglevel',
          'warning',
        ],
        { stdio: 'ignore' },
      );
      child = c;
      c.once('exit', () => {
        if (child === c) child = undefined;
      });
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
      s.once('connect', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`redis on port ${port} did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------
// The PostgreSQL + Redis backend of the parameterised server suite (see backends.ts).

const backendSchemas = new Set<string>();
const backendPrefix = testChannelPrefix();

// Schemas only reached through env() (child servers) are dropped when the test file ends.
// Registered while the file is collected: a hook added from inside a running test would
// never run.
try {
  afterAll(async () => {
    for (const s of [...backendSchemas]) await dropSchema(s).catch(() => {});
  });
} catch {
  /* imported outside a test file */
}

/** The schema a test's dataDir maps to: the same for the test's store and its child servers. */
function schemaForDataDir(dataDir: string): string {
  return `t_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`;
}

async function dropSchema(name: string): Promise<void> {
  if (!backendSchemas.delete(name)) return;
  await adminQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
}

function trackSchema(name: string): void {
  backendSchemas.add(name);
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

// ---------------------------------------------------------------------------------------
// A chat client as the web app behaves: an outbox of unacknowledged sends that is resent
// (same clientIds) after every reconnect, a sync from the highest gapless seq it holds,
// failover to the next node when its node goes away, and de-duplication by seq.

/** Messages one client holds for one conversation, by seq. */
export interface Held {
  seq: number;
  clientId: string;
  text: string | null;
  sender: string;
}

export interface ChatClientOptions {
  /** Base URLs (`http://127.0.0.1:PORT`) of the nodes, tried in turn from `start`. */
  nodes: string[];
  token: string;
  /** Index of the first node to use. */
  start?: number;
  /** Pause before reconnecting, ms (default 50). */
  retryMs?: number;
}

type Frame = { type: string; [k: string]: unknown };

export class ChatClient {
  readonly held = new Map<string, Map<number, Held>>();
  /** clientId → seq of every ack received. */
  readonly acked = new Map<string, { conversationId: string; seq: number }>();
  /** Sent but not acknowledged, in send order. */
  readonly outbox = new Map<string, { conversationId: string; text: string }>();
  /** Live or replayed messages whose seq we already held (harmless, counted for the record). */
  redelivered = 0;
  /** Acks saying the clientId was already stored (a resend of a message whose ack was lost). */
  duplicateAcks = 0;
  /** `resync` hints from the server (its delivery between nodes was interrupted). */
  resyncHints = 0;
  /** Times a sync was answered with `synced`. */
  syncs = 0;
  connects = 0;
  /** Close code of every socket this client had closed (by either side). */
  readonly closeCodes: number[] = [];
  node: number;
  errors: Frame[] = [];
  #ws: import('ws').WebSocket | undefined;
  #ready = false;
  #closed = false;
  #listeners = new Set<() => void>();

  constructor(private readonly opts: ChatClientOptions) {
    this.node = opts.start ?? 0;
  }

  /** Connects (and keeps reconnecting until {@link close}). Resolves after the first `hello`. */
  async open(): Promise<void> {
    this.#connect();
    await this.until(() => this.connects > 0, 10_000);
  }

  #connect(): void {
    if (this.#closed) return;
    const base = this.opts.nodes[this.node % this.opts.nodes.length]!.replace(/^http/, 'ws');
    void import('ws').then(({ WebSocket }) => {
      if (this.#closed) return;
      const ws = new WebSocket(`${base}/ws`, {
        headers: { authorization: `Bearer ${this.opts.token}` },
      });
      this.#ws = ws;
      ws.on('message', (data) => this.#onFrame(JSON.parse(String(data)) as Frame));
      ws.on('error', () => {});
      ws.on('close', (code) => {
        this.closeCodes.push(code);
        if (this.#ws === ws) {
          this.#ws = undefined;
          this.#ready = false;
        }
        if (this.#closed) return;
        // Failover: the node we were on may be gone; try the next one.
        this.node = (this.node + 1) % this.opts.nodes.length;
        setTimeout(() => this.#connect(), this.opts.retryMs ?? 50);
      });
    });
  }

  #onFrame(f: Frame): void {
    switch (f.type) {
      case 'hello':
        this.connects++;
        this.#ready = true;
        this.sync();
        for (const [clientId, m] of this.outbox)
          this.#sendFrame(clientId, m.conversationId, m.text);
        break;
      case 'ack': {
        const clientId = f.clientId as string;
        this.outbox.delete(clientId);
        if (f.duplicate) this.duplicateAcks++;
        this.acked.set(clientId, {
          conversationId: f.conversationId as string,
          seq: f.seq as number,
        });
        break;
      }
      case 'message': {
        const m = f.message as {
          conversationId: string;
          seq: number;
          clientId: string;
          text: string | null;
          sender: string;
        };
        let conv = this.held.get(m.conversationId);
        if (!conv) {
          conv = new Map();
          this.held.set(m.conversationId, conv);
        }
        if (conv.has(m.seq)) {
          this.redelivered++;
          break;
        }
        conv.set(m.seq, { seq: m.seq, clientId: m.clientId, text: m.text, sender: m.sender });
        // A gap means live delivery missed something (a node died before publishing): fill it.
        if (m.seq > 1 && !conv.has(m.seq - 1)) this.sync();
        break;
      }
      case 'synced':
        this.syncs++;
        // One page of a longer replay: ask for the rest from where we now stand.
        if (f.more === true) this.sync();
        break;
      case 'resync':
        this.resyncHints++;
        this.sync();
        break;
      case 'error':
        this.errors.push(f);
        break;
    }
    for (const l of this.#listeners) l();
  }

  /** Highest seq below which this client holds every message of `conversationId`. */
  contiguous(conversationId: string): number {
    const conv = this.held.get(conversationId);
    let s = 0;
    while (conv?.has(s + 1)) s++;
    return s;
  }

  /** Asks for everything after the gapless prefix of each known conversation. */
  sync(extra: string[] = []): void {
    const since: Record<string, number> = {};
    for (const id of new Set([...this.held.keys(), ...extra, ...this.#known]))
      since[id] = this.contiguous(id);
    if (this.#ws?.readyState === 1) this.#ws.send(JSON.stringify({ type: 'sync', since }));
  }

  #known = new Set<string>();

  /** Queues a text message; it is (re)sent until acknowledged. Returns its clientId. */
  send(
    conversationId: string,
    text: string,
    clientId = `c-${randomBytes(8).toString('hex')}`,
  ): string {
    this.#known.add(conversationId);
    this.outbox.set(clientId, { conversationId, text });
    this.#sendFrame(clientId, conversationId, text);
    return clientId;
  }

  #sendFrame(clientId: string, conversationId: string, text: string): void {
    // Until `hello`, new sends wait in the outbox: resent there in order, they never
    // overtake older unacknowledged ones.
    if (!this.#ready || this.#ws?.readyState !== 1) return;
    this.#ws.send(JSON.stringify({ type: 'send', clientId, conversationId, kind: 'text', text }));
  }

  /** Follows a conversation (so sync covers it even before its first message arrives). */
  follow(conversationId: string): void {
    this.#known.add(conversationId);
  }

  /** Drops the current socket without closing the client (it reconnects, to the next node). */
  dropConnection(): void {
    this.#ws?.terminate();
  }

  /** Resolves when `cond` holds (checked after every frame and every 50 ms). */
  until(cond: () => boolean, ms = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (cond()) return resolve();
      const done = () => {
        if (!cond()) return;
        clearInterval(poll);
        clearTimeout(timer);
        this.#listeners.delete(done);
        resolve();
      };
      const poll = setInterval(done, 50);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.#listeners.delete(done);
        reject(new Error(`condition not met within ${ms} ms`));
      }, ms);
      this.#listeners.add(done);
    });
  }

  close(): void {
    this.#closed = true;
    this.#ws?.close();
  }
}

// ---------------------------------------------------------------------------------------
// Server nodes as child processes (so a test can `kill -9` one).

const SRC = new URL('../src/', import.meta.url).pathname;

export interface NodeProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** SIGKILL: no goodbye, no flush; what a crash looks like. */
  kill9(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts `createServer` in a child `node` process on a free port with `env` (e.g. the
 * postgres backend's env) and waits until `/healthz` answers. `config`: more ServerConfig
 * fields (JSON) for this node.
 */
export async function spawnNode(
  env: Record<string, string>,
  dataDir: string,
  config: Record<string, unknown> = {},
): Promise<NodeProcess> {
  const port = await freePort();
  // Store and bus come from CLIPCHAT_DATABASE_URL / CLIPCHAT_REDIS_URL, as in production.
  const code = `
    import { createServer } from ${JSON.stringify(SRC + 'index.ts')};
    import { postgresStoreFromEnv } from ${JSON.stringify(SRC + 'store/postgres-env.ts')};
    import { redisBusFromEnv } from ${JSON.stringify(SRC + 'bus/redis-env.ts')};
    const server = await createServer({
      dataDir: ${JSON.stringify(dataDir)}, logger: false, rateLimits: false,
      store: postgresStoreFromEnv(), bus: await redisBusFromEnv(), ...${JSON.stringify(config)},
    });
    await server.listen({ port: ${port}, host: '127.0.0.1' });
    process.on('SIGTERM', () => { server.close().then(() => process.exit(0)); });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`node on port ${port} exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`node on port ${port} did not start`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const kill = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return {
    url,
    port,
    child,
    kill9: () => kill('SIGKILL'),
    async stop() {
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await kill('SIGTERM');
      clearTimeout(t);
    },
  };
}
