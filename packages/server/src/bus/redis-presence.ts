// Presence shared by every node through Redis: one sorted set per user
// (`<prefix>presence:<userId>`) of socket ids scored by their expiry, as for the socket
// slots (redis-slots.ts). Opening and closing a socket are each one Lua script that also
// says whether the user went from no socket to one, or from one to none, so two nodes
// racing (a phone connecting while a laptop disconnects) announce exactly one change.
// Time is Redis' clock. A node refreshes its sockets every third of the TTL; a crashed
// node's sockets stop counting within one TTL.
import type { Redis } from 'ioredis';
import { LocalPresence, type PresenceTracker } from '../im/presence';

const UP = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
if before == 0 then return 1 end
return 0`;

const DOWN = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then return 1 end
return 0`;

const ONLINE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS do out[i] = redis.call('ZCOUNT', KEYS[i], '(' .. now, '+inf') end
return out`;

const REFRESH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1`;

interface PresenceCommands {
  clipchatPresenceUp(key: string, socketId: string, ttlMs: number): Promise<number>;
  clipchatPresenceDown(key: string, socketId: string): Promise<number>;
  clipchatPresenceOnline(n: number, ...keys: string[]): Promise<number[]>;
  clipchatPresenceRefresh(key: string, ttlMs: number, ...members: string[]): Promise<number>;
}

/** Options of {@link RedisPresence}. */
export interface RedisPresenceOptions {
  /** A connection that fails commands fast while Redis is away (no offline queue). */
  redis: Redis;
  /** Key prefix, e.g. `clipchat:`. */
  prefix: string;
  /** A socket not refreshed for this long no longer counts, ms. */
  ttlMs: number;
  log?: { warn(obj: object, msg?: string): void };
}

/**
 * {@link PresenceTracker} over Redis. While Redis cannot be reached, this node's own
 * sockets decide (a user is never shown offline because Redis is down while connected here).
 */
export class RedisPresence implements PresenceTracker {
  readonly #local = new LocalPresence();
  readonly #redis: Redis & PresenceCommands;
  readonly #opts: RedisPresenceOptions;
  readonly #timer: NodeJS.Timeout;
  /** Answers given by this node's own count because Redis failed. */
  fallbacks = 0;

  constructor(opts: RedisPresenceOptions) {
    this.#opts = opts;
    const r = opts.redis as Redis & Partial<PresenceCommands>;
    if (!r.clipchatPresenceUp) {
      r.defineCommand('clipchatPresenceUp', { numberOfKeys: 1, lua: UP });
      r.defineCommand('clipchatPresenceDown', { numberOfKeys: 1, lua: DOWN });
      r.defineCommand('clipchatPresenceOnline', { lua: ONLINE });
      r.defineCommand('clipchatPresenceRefresh', { numberOfKeys: 1, lua: REFRESH });
    }
    this.#redis = r as Redis & PresenceCommands;
    this.#timer = setInterval(() => this.#heartbeat(), Math.max(100, Math.floor(opts.ttlMs / 3)));
    this.#timer.unref();
  }

  #key(userId: string): string {
    return `${this.#opts.prefix}presence:${userId}`;
  }

  #fallback(err: unknown): void {
    this.fallbacks++;
    this.#opts.log?.warn({ err: String(err) }, 'redis unreachable: presence from this node only');
  }

  async up(userId: string, socketId: string): Promise<boolean> {
    const first = this.#local.upSync(userId, socketId);
    try {
      return (
        (await this.#redis.clipchatPresenceUp(this.#key(userId), socketId, this.#opts.ttlMs)) === 1
      );
    } catch (err) {
      this.#fallback(err);
      return first;
    }
  }

  async down(userId: string, socketId: string): Promise<boolean> {
    const last = this.#local.downSync(userId, socketId);
    try {
      return (await this.#redis.clipchatPresenceDown(this.#key(userId), socketId)) === 1;
    } catch (err) {
      this.#fallback(err);
      return last;
    }
  }

  async online(userIds: string[]): Promise<Set<string>> {
    if (!userIds.length) return new Set();
    try {
      const counts = await this.#redis.clipchatPresenceOnline(
        userIds.length,
        ...userIds.map((u) => this.#key(u)),
      );
      return new Set(userIds.filter((_, i) => Number(counts[i]) > 0));
    } catch (err) {
      this.#fallback(err);
      return this.#local.online(userIds);
    }
  }

  #heartbeat(): void {
    for (const [userId, ids] of this.#local.entries()) {
      this.#redis.clipchatPresenceRefresh(this.#key(userId), this.#opts.ttlMs, ...ids).catch(() => {
        /* next beat */
      });
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#local.close();
  }
}
