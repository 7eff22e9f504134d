/**
 * A minimal key-value store over IndexedDB (one object store), used by the outbox so
 * typed text and captured bytes survive a reload or a lost connection. Falls back to
 * memory when IndexedDB is unavailable (private modes).
 */
const DB = 'clipchat';
const STORE = 'outbox';

let dbp: Promise<IDBDatabase | null> | null = null;
function db(): Promise<IDBDatabase | null> {
  dbp ??= new Promise((resolve) => {
    try {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(null);
    } catch {
      resolve(null);
    }
  });
  return dbp;
}

const memory = new Map<string, unknown>();

function tx<T>(
  mode: IDBTransactionMode,
  fn: (s: IDBObjectStore) => IDBRequest<T>,
): Promise<T | undefined> {
  return db().then(
    (d) =>
      new Promise<T | undefined>((resolve, reject) => {
        if (!d) return resolve(undefined);
        const req = fn(d.transaction(STORE, mode).objectStore(STORE));
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
      }),
  );
}

export const idb = {
  async put(key: string, value: unknown): Promise<void> {
    memory.set(key, value);
    await tx('readwrite', (s) => s.put(value, key)).catch(() => {});
  },
  async delete(key: string): Promise<void> {
    memory.delete(key);
    await tx('readwrite', (s) => s.delete(key)).catch(() => {});
  },
  async all<T>(): Promise<T[]> {
    const r = await tx<unknown[]>('readonly', (s) => s.getAll()).catch(() => undefined);
    return (r ?? [...memory.values()]) as T[];
  },
};
