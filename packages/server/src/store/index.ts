/** Picks the storage backend from the server config. */
import type { Store } from './types';
import { SqliteStore } from './sqlite';

/** Returns `store` when it is a Store, otherwise a {@link SqliteStore} in `dataDir`. Initialises it. */
export async function openStore(
  store: Store | 'sqlite' | undefined,
  dataDir: string,
): Promise<Store> {
  const s = store && store !== 'sqlite' ? store : new SqliteStore({ dataDir });
  await s.init();
  return s;
}
