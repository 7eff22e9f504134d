/**
 * The storage/delivery backends every server test runs against. Each suite does
 * `describe.each(backends)(...)`, so adding a backend here runs the whole suite on it.
 */
import type { Store } from '../src/store/types';
import type { Bus } from '../src/bus/types';
import { SqliteStore } from '../src/store/sqlite';
import { postgresBackend } from './pg-helpers';

export interface Backend {
  name: string;
  /** A fresh, empty, initialised store. `dataDir` is a new temp folder of the test. */
  makeStore(dataDir: string): Promise<Store>;
  /** A bus for one node; omitted means the in-process bus. */
  makeBus?(): Promise<Bus>;
  /** Environment for a child server process (`clipchat serve`) to reach the same data. */
  env?(dataDir: string): Record<string, string>;
}

export const backends: Backend[] = [
  {
    name: 'sqlite',
    async makeStore(dataDir) {
      const s = new SqliteStore({ dataDir });
      await s.init();
      return s;
    },
  },
  // PostgreSQL (a schema per test) + Redis: needs scripts/services.sh; CLIPCHAT_TEST_POSTGRES=0 skips it.
  ...(process.env.CLIPCHAT_TEST_POSTGRES === '0' ? [] : [postgresBackend]),
];
