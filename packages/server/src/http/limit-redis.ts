/**
 * Rate limits shared by every node through Redis: each check is one Lua script, so it is
 * atomic across nodes, and it reads Redis' clock (TIME), so nodes with skewed clocks still
 * count in one time line. When Redis cannot answer, the node fails open to its own
 * in-memory counters ({@link MemoryLimitStore}): limits then hold per node, not per
 * cluster, until Redis is back, and no request fails because Redis is away.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { LoginBackoff, RateLimit } from '../config';
import { MemoryLimitStore, type LimitStore } from './limit-store';

/** Options of {@link RedisLimitStore}. */
export interface RedisLimitStoreOptions {
  /** `redis://[user:pass@]host:port[/db]` (also `rediss://`). */
  url: string;
  /** Prepended to every key (default `clipchat:`), so deployments or tests can share one Redis. */
  prefix?: string;
  /** Longest wait for an answer before falling back to the node's counters, ms (default 500). */
  timeoutMs?: number;
  /** Where an outage and the recovery are reported (pino-compatible); default: silent. */
  log?: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

// GCRA (a token bucket as one timestamp): the key holds the theoretical arrival time of the
// next action, in microseconds; an action is allowed while that is at most a window ahead.
// ARGV: emission interval (µs), window (µs). Returns 0 (allowed, counted) or ms to wait.
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
local wait = nxt - window - now
if wait > 0 then return math.ceil(wait / 1000) end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.max(1, math.ceil((nxt - now) / 1000)))
return 0
`;

// Backoff: hash {n = attempts counted, u = refused before (ms)}. An attempt outside the
// refusal is counted at once and sets the next refusal from the count. ARGV: free
// failures, base ms, max ms, forget ms. Returns 0 (go ahead, counted) or ms to wait.
const BACKOFF = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 'n', 'u')
local n = tonumber(v[1] or '0')
local u = tonumber(v[2] or '0')
if u > now then return u - now end
n = n + 1
local free = tonumber(ARGV[1])
local delay = 0
if n >= free then delay = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ math.min(n - free, 40)) end
u = now + delay
redis.call('HSET', KEYS[1], 'n', n, 'u', string.format('%.0f', u))
redis.call('PEXPIRE', KEYS[1], math.floor(delay + tonumber(ARGV[4])))
return 0
`;

interface LimitCommands {
  clipchatGcra(key: string, intervalUs: string, windowUs: string): Promise<number>;
  clipchatBackoff(
    key: string,
    free: number,
    baseMs: number,
    maxMs: number,
    forgetMs: number,
  ): Promise<number>;
}

/** A {@link LimitStore} in Redis, shared by every node given the same URL and prefix. */
export class RedisLimitStore implements LimitStore {
  /** Checks answered by this node's own counters because Redis could not answer. */
  fallbacks = 0;
  private readonly redis: Redis & LimitCommands;
  private readonly prefix: string;
  private readonly local = new MemoryLimitStore();
  private log: NonNullable<RedisLimitStoreOptions['log']>;
  private down = false;
  private closed = false;

  constructor(options: RedisLimitStoreOptions) {
    this.prefix = `${options.prefix ?? 'clipchat:'}limit:`;
    this.log = options.log ?? { warn() {}, info() {} };
    this.redis = new Redis(options.url, {
      // As the bus: reconnect forever, at most 1 s apart; never queue a check while
      // disconnected (it would answer late): fail over to local counters at once instead.
      retryStrategy: (times: number) => Math.min(50 * times, 1000),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.timeoutMs ?? 500,
      lazyConnect: true,
      connectionName: `clipchat-limits-${randomBytes(4).toString('hex')}`,
    }) as Redis & LimitCommands;
    this.redis.defineCommand('clipchatGcra', { numberOfKeys: 1, lua: GCRA });
    this.redis.defineCommand('clipchatBackoff', { numberOfKeys: 1, lua: BACKOFF });
    // ioredis emits 'error' on every failed (re)connect; without a listener the process dies.
    this.redis.on('error', (err: Error) => this.outage(err));
    this.redis.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.log.info({}, 'redis is back: rate limits are shared between nodes again');
    });
  }

  /** Connects; resolves (without throwing) even when Redis is down, which is retried in the background. */
  async start(): Promise<void> {
    await this.redis.connect().catch((err: Error) => this.outage(err));
  }

  useLog(log: NonNullable<RedisLimitStoreOptions['log']>): void {
    this.log = log;
  }

  /** True while the Redis connection is up. */
  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  async take(key: string, limit: RateLimit): Promise<number> {
    const interval = (limit.windowMs * 1000) / limit.limit;
    return this.shared(
      () =>
        this.redis.clipchatGcra(
          this.prefix + key,
          interval.toFixed(0),
          String(limit.windowMs * 1000),
        ),
      () => this.local.takeNow(key, limit),
    );
  }

  async attempt(key: string, b: LoginBackoff): Promise<number> {
    return this.shared(
      () =>
        this.redis.clipchatBackoff(
          this.prefix + key,
          b.freeFailures,
          b.baseMs,
          b.maxMs,
          b.forgetMs,
        ),
      () => this.local.attemptNow(key, b),
    );
  }

  async reset(key: string): Promise<void> {
    await this.local.reset(key);
    await this.shared(
      async () => {
        await this.redis.del(this.prefix + key);
        return 0;
      },
      () => 0,
    );
  }

  private async shared(remote: () => Promise<number>, local: () => number): Promise<number> {
    if (this.closed || this.redis.status !== 'ready') return this.fallback(local);
    try {
      return Number(await remote());
    } catch (err) {
      this.outage(err as Error);
      return this.fallback(local);
    }
  }

  private fallback(local: () => number): number {
    this.fallbacks++;
    return local();
  }

  private outage(err: Error): void {
    if (this.down || this.closed) return;
    this.down = true;
    this.log.warn(
      { err: err.message },
      'redis unreachable: rate limits count per node until it is back',
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.local.close();
    try {
      if (this.redis.status === 'ready') await this.redis.quit();
      else this.redis.disconnect();
    } catch {
      this.redis.disconnect();
    }
  }
}

/** Creates and connects a {@link RedisLimitStore} (never fails for Redis being down). */
export async function createRedisLimitStore(
  options: RedisLimitStoreOptions,
): Promise<RedisLimitStore> {
  const s = new RedisLimitStore(options);
  await s.start();
  return s;
}
