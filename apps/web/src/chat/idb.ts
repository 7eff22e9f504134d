/**
 * The outbox's key-value store over IndexedDB (idb-keyval), so typed text and captured
 * bytes survive a reload or a lost connection. Falls back to memory when IndexedDB is
 * unavailable (private modes). The database `clipchat` and its object store `outbox` are
 * the ones the outbox always used (idb-keyval opens the existing version 1 as it is), so
 * messages queued before an upgrade are still sent.
 */
import { createStore, del, set, values, type UseStore } from 'idb-keyval';

const DB = 'clipchat';
const STORE = 'outbox';

const store: UseStore = createStore(DB, STORE);

/** Runs an IndexedDB call; undefined when it fails, or when there is no IndexedDB (it throws then). */
async function attempt<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch {
    return undefined;
  }
}

const memory = new Map<string, unknown>();

export const idb = {
  async put(key: string, value: unknown): Promise<void> {
    memory.set(key, value);
    await attempt(() => set(key, value, store));
  },
  async delete(key: string): Promise<void> {
    memory.delete(key);
    await attempt(() => del(key, store));
  },
  async all<T>(): Promise<T[]> {
    return (await attempt(() => values<T>(store))) ?? ([...memory.values()] as T[]);
  },
};
