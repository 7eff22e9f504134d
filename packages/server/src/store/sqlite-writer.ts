/**
 * The SQLite message writer thread, seen from the main thread. Appending a batch (one
 * transaction, one fsync) takes tens of milliseconds under load; on its own thread and
 * connection it no longer stalls the event loop that reads and writes sockets. WAL lets
 * the main connection keep reading meanwhile. Message changes go through the same thread,
 * so the main thread never waits on SQLite's write lock. The thread is the typed module
 * sqlite-writer.thread.ts.
 */
import type { Worker } from 'node:worker_threads';
import { startThread } from './thread';

/** The thread's `workerData`. */
export interface WriterData {
  file: string;
  synchronous: 'FULL' | 'NORMAL';
}
/** One message to insert: its conversation and sender ids and its columns (`toSqliteRow`). */
export interface WriterAppend {
  conversationId: string;
  senderId: string;
  row: Record<string, unknown>;
}
/** Per row: the new seq, or the existing row (as selected by MESSAGE_SELECT) when the clientId was seen. */
export type WriterResult = { seq: number } | { existing: Record<string, unknown> };
/**
 * A change of the message at (conversationId, seq), applied only when its rev is still
 * `expectRev`: `row` holds the mutable columns (all but rev). `detachMedia`: the media the
 * change removed from the message.
 */
export interface WriterChange {
  conversationId: string;
  seq: number;
  expectRev: number;
  row: Record<string, unknown>;
  detachMedia: string | null;
}
/**
 * The change's rev, and the media ids whose rows were removed (a video's poster with it;
 * their files are the caller's); `stale` when the message changed meanwhile.
 */
export type ChangeResult = { rev: number; removedMedia?: string[] } | { stale: true };
export type WriterRequest =
  | { op: 'append'; id: number; rows: WriterAppend[] }
  | { op: 'change'; id: number; change: WriterChange }
  | { op: 'close' };

/** A writer thread over the database file. */
export class SqliteWriter {
  #worker: Worker;
  #next = 1;
  #pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  #failed: Error | null = null;
  /**
   * Resolves once the thread has loaded its module (about 2 s from sources on a loaded
   * machine, through tsx) and listens; rejects if it fails first.
   */
  readonly ready: Promise<void>;

  constructor(file: string, synchronous: 'FULL' | 'NORMAL') {
    this.#worker = startThread<WriterData>('sqlite-writer', { file, synchronous });
    let ready!: () => void;
    let notReady!: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      ready = resolve;
      notReady = reject;
    });
    this.ready.catch(() => undefined);
    this.#worker.on(
      'message',
      (m: { id?: number; ready?: true; results?: unknown; error?: string; code?: string }) => {
        if (m.ready) {
          ready();
          return;
        }
        if (m.id === undefined) return;
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (!p) return;
        // Keep SQLite's code (SQLITE_FULL, SQLITE_IOERR_…): it tells a full disk from a fault.
        if (m.error !== undefined)
          p.reject(Object.assign(new Error(m.error), m.code ? { code: m.code } : {}));
        else p.resolve(m.results);
      },
    );
    const fail = (e: Error) => {
      this.#failed = e;
      notReady(e);
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`SQLite writer thread exited (${code})`)));
  }

  #call<T>(
    req: { op: 'append'; rows: WriterAppend[] } | { op: 'change'; change: WriterChange },
  ): Promise<T> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.#worker.postMessage({ ...req, id } satisfies WriterRequest);
    });
  }

  /** Appends rows in one transaction on the writer thread; resolves after the commit. */
  append(rows: WriterAppend[]): Promise<WriterResult[]> {
    return this.#call({ op: 'append', rows });
  }

  /** Applies one change in one transaction on the writer thread; resolves after the commit. */
  change(change: WriterChange): Promise<ChangeResult> {
    return this.#call({ op: 'change', change });
  }

  async close(): Promise<void> {
    if (this.#failed) return;
    await new Promise<void>((resolve) => {
      const closed = (m: { closed?: true }) => {
        if (m.closed) {
          this.#worker.off('message', closed);
          resolve();
        }
      };
      this.#worker.on('message', closed);
      this.#worker.once('exit', () => resolve());
      this.#worker.postMessage({ op: 'close' } satisfies WriterRequest);
    });
    await this.#worker.terminate();
  }
}
