/**
 * Scale-out from the environment: `CLIPCHAT_DATABASE_URL=postgres://…` puts a node's data
 * in PostgreSQL. Read once at start by the server's store factory.
 */
import { PostgresStore } from './postgres';

/** Environment variables read here (documented in docs/deploy.md). */
export interface PostgresEnv {
  /** `postgres://` or `postgresql://` URL; absent or empty: the embedded SQLite store. */
  CLIPCHAT_DATABASE_URL?: string;
  /** Connections per node (default 10). */
  CLIPCHAT_DATABASE_POOL?: string;
}

/**
 * A (not yet initialised) {@link PostgresStore} when `CLIPCHAT_DATABASE_URL` is set, else
 * `undefined`. Throws on a URL that is not PostgreSQL's, rather than silently using SQLite.
 */
export function postgresStoreFromEnv(
  env: PostgresEnv = process.env,
  onError?: (err: Error) => void,
): PostgresStore | undefined {
  const url = env.CLIPCHAT_DATABASE_URL?.trim();
  if (!url) return undefined;
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(
      `CLIPCHAT_DATABASE_URL must start with postgres:// or postgresql://, got ${url.split(':')[0]}:…`,
    );
  }
  const pool = env.CLIPCHAT_DATABASE_POOL ? Number(env.CLIPCHAT_DATABASE_POOL) : undefined;
  if (pool !== undefined && !(Number.isInteger(pool) && pool >= 1 && pool <= 1000)) {
    throw new Error(
      `CLIPCHAT_DATABASE_POOL must be an integer 1–1000, got ${env.CLIPCHAT_DATABASE_POOL}`,
    );
  }
  return new PostgresStore({ url, poolSize: pool, onError });
}
