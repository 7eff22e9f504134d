// Socket slots shared by every node through Redis: one sorted set per user
// (`<prefix>sockets:<userId>`) whose members are socket ids scored by their expiry time.
// A node refreshes the expiry of its own sockets every third of the TTL, so the sockets of
// a node that crashed (no goodbye, no ZREM) drop out of the count within one TTL. Taking a
// slot is one Lua script (prune expired, count, add), so two nodes racing for a user's last
// slot cannot both win. Time comes from Redis' clock, never a node's, so nodes whose clocks
// disagree still agree on what has expired.
import type { Redis } from 'ioredis';
import { LocalSocketSlots, type SocketSlots } from '../im/slots';

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1`;

const REFRESH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1`;

interface SlotCommands {
  clipchatSlotAcquire(key: string, member: string, max: number, ttlMs: number): Promise<number>;
  clipchatSlotRefresh(key: string, ttlMs: number, ...members: string[]): Promise<number>;
}

/** Options of {@link RedisSocketSlots}. */
export interface RedisSocketSlotsOptions {
  /** A connection that fails commands fast while Redis is away (no offline queue). */
  redis: Redis;
  /** Key prefix, e.g. `clipchat:`. */
  prefix: string;
  /** A socket not refreshed for this long no longer counts, ms. */
  ttlMs: number;
  /** Where a fallback to the per-node count is reported; default: silent. */
  log?: { warn(obj: object, msg?: string): void };
}

/**
 * {@link SocketSlots} over Redis. While Redis cannot be reached the cap is counted on
 * this node alone (a socket is never refused because Redis is down); the node's slots are
 * written to Redis again at the next heartbeat once it is back.
 */
export class RedisSocketSlots implements SocketSlots {
  readonly #local = new LocalSocketSlots();
  readonly #redis: Redis & SlotCommands;
  readonly #opts: RedisSocketSlotsOptions;
  readonly #timer: NodeJS.Timeout;
  /** Acquires answered by the per-node count because Redis failed. */
  fallbacks = 0;

  constructor(opts: RedisSocketSlotsOptions) {
    this.#opts = opts;
    const r = opts.redis as Redis & Partial<SlotCommands>;
    if (!r.clipchatSlotAcquire) {
      r.defineCommand('clipchatSlotAcquire', { numberOfKeys: 1, lua: ACQUIRE });
      r.defineCommand('clipchatSlotRefresh', { numberOfKeys: 1, lua: REFRESH });
    }
    this.#redis = r as Redis & SlotCommands;
    this.#timer = setInterval(() => this.#heartbeat(), Math.max(100, Math.floor(opts.ttlMs / 3)));
    this.#timer.unref();
  }

  #key(userId: string): string {
    return `${this.#opts.prefix}sockets:${userId}`;
  }

  async acquire(userId: string, socketId: string, max: number): Promise<boolean> {
    let ok: boolean;
    try {
      ok =
        (await this.#redis.clipchatSlotAcquire(
          this.#key(userId),
          socketId,
          max,
          this.#opts.ttlMs,
        )) === 1;
    } catch (err) {
      this.fallbacks++;
      this.#opts.log?.warn(
        { err: String(err) },
        'redis unreachable: counting sockets per user on this node only',
      );
      return this.#local.tryAcquire(userId, socketId, max);
    }
    if (ok) this.#local.tryAcquire(userId, socketId, Infinity);
    return ok;
  }

  release(userId: string, socketId: string): void {
    this.#local.release(userId, socketId);
    this.#redis.zrem(this.#key(userId), socketId).catch(() => {
      /* expires by itself */
    });
  }

  held(userId: string): number {
    return this.#local.held(userId);
  }

  #heartbeat(): void {
    for (const [userId, ids] of this.#local.entries()) {
      this.#redis.clipchatSlotRefresh(this.#key(userId), this.#opts.ttlMs, ...ids).catch(() => {
        /* next beat */
      });
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#local.close();
  }
}
