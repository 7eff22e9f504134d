/**
 * Scale-out from the environment: `CLIPCHAT_REDIS_URL=redis://…` carries live delivery
 * between nodes. Read once at start by the server's bus factory.
 */
import { createRedisBus, type RedisBus, type RedisBusOptions } from './redis';
import type { Bus, BusEvent } from './types';

/** Environment variables read here (documented in docs/deploy.md). */
export interface RedisEnv {
  /** `redis://` or `rediss://` URL; absent or empty: in-process delivery (one node). */
  CLIPCHAT_REDIS_URL?: string;
  /** Channel prefix (default `clipchat:`), to share one Redis between deployments. */
  CLIPCHAT_REDIS_PREFIX?: string;
}

/**
 * A started {@link RedisBus} when `CLIPCHAT_REDIS_URL` is set, else `undefined`. Starting
 * does not fail when Redis is down: the bus keeps retrying and asks for a resync once up.
 */
export async function redisBusFromEnv(
  env: RedisEnv = process.env,
  log?: RedisBusOptions['log'],
): Promise<(RedisBus<BusEvent> & Bus) | undefined> {
  const url = env.CLIPCHAT_REDIS_URL?.trim();
  if (!url) return undefined;
  if (!/^rediss?:\/\//.test(url)) {
    throw new Error(
      `CLIPCHAT_REDIS_URL must start with redis:// or rediss://, got ${url.split(':')[0]}:…`,
    );
  }
  return createRedisBus({ url, prefix: env.CLIPCHAT_REDIS_PREFIX || undefined, log });
}
