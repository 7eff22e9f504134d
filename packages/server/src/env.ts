/**
 * Storage and delivery from the environment, for `clipchat serve`:
 * `CLIPCHAT_DATABASE_URL` (PostgreSQL) and `CLIPCHAT_REDIS_URL` (Redis). Unset means the
 * embedded SQLite store in the data folder and in-process delivery. The scale-out modules
 * load only when their variable is set.
 */
import type { Store } from './store/types';
import type { Bus } from './bus/types';
import type { LimitStore } from './http/limit-store';

/**
 * Store and bus chosen by the environment. `store`/`bus` are undefined when their variable
 * is unset (the server then uses SQLite in its data folder / in-process delivery);
 * `describe` names the choice for a start-up line. With Redis, `limitStore` shares rate
 * limits and login backoffs between nodes (same URL and `CLIPCHAT_REDIS_PREFIX`).
 * @throws Error when a variable is set to a URL of the wrong kind.
 */
export async function backendsFromEnv(
  env: Record<string, string | undefined> = process.env,
): Promise<{ store?: Store; bus?: Bus; limitStore?: LimitStore; describe: string }> {
  let store: Store | undefined;
  let bus: Bus | undefined;
  let limitStore: LimitStore | undefined;
  if (env.CLIPCHAT_DATABASE_URL?.trim()) {
    const { postgresStoreFromEnv } = await import('./store/postgres-env');
    store = postgresStoreFromEnv(env);
  }
  if (env.CLIPCHAT_REDIS_URL?.trim()) {
    const { redisBusFromEnv } = await import('./bus/redis-env');
    bus = await redisBusFromEnv(env);
    const { createRedisLimitStore } = await import('./http/limit-redis');
    limitStore = await createRedisLimitStore({
      url: env.CLIPCHAT_REDIS_URL.trim(),
      prefix: env.CLIPCHAT_REDIS_PREFIX || undefined,
    });
  }
  return {
    store,
    bus,
    limitStore,
    describe: `${store ? 'postgres' : 'sqlite'} + ${bus ? 'redis' : 'in-process'} delivery${limitStore ? ' + shared limits' : ''}`,
  };
}
