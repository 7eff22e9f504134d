/**
 * The decode budget of uploads: at most `concurrency` decodes at once, a bounded queue
 * behind them (a full queue answers ERR_MEDIA_BUSY with a retry-after), and each decode in
 * its own process — sharp in a decoder child (decoder.child.mjs) or ffmpeg/ffprobe — niced,
 * single-threaded, and killed when it has used `timeoutMs` of CPU time or the client goes away.
 * The budget is CPU, not wall time: a niced decoder slowed by the server's own work or a busy
 * machine is not refused for it (a wall-clock ceiling of {@link WALL_FACTOR}× still holds).
 *
 * Why processes: sharp runs on libuv's threadpool, which scrypt (every login) shares, so an
 * in-process decode of a hostile file starves logins, and a native decode cannot be stopped
 * once started. A child can be killed, and a niced one yields the CPU to the server.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../errors';

/** Limits of a {@link DecodePool}. */
export interface DecodePoolOptions {
  /** Decodes running at once (each one process, one thread). */
  concurrency: number;
  /** Decodes allowed to wait for a slot; more are refused with ERR_MEDIA_BUSY. */
  queue: number;
  /** CPU time one decode may use, ms, once it has its slot (wall time: {@link WALL_FACTOR}× that). */
  timeoutMs: number;
}

/** Niceness of decoder processes: the server's own requests (logins, messages) come first. */
const NICE = 10;
const CHILD = fileURLToPath(new URL('./decoder.child.mjs', import.meta.url));
/** A decode may take this many times its CPU budget in wall time before it is stopped anyway. */
const WALL_FACTOR = 6;
/** How often the CPU time of ffmpeg/ffprobe children is read, ms. */
const CPU_POLL_MS = 50;

/** CPU seconds of a live process from /proc (Linux); null where that cannot be read. */
function cpuOf(pid: number): number | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ ticks
  } catch {
    return null;
  }
}

/** Thrown when the client went away mid-decode; nobody is left to answer. */
export class DecodeAborted extends Error {
  constructor() {
    super('the client closed the connection; decoding was stopped');
    this.name = 'DecodeAborted';
  }
}

const tooSlow = (ms: number, what = 'CPU') =>
  new ApiError(
    'ERR_MEDIA_LIMITS',
    `decoding the upload took longer than the server's ${(ms / 1000).toFixed(1)} s ${what} limit; send a smaller or simpler file`,
  );

function nice(child: ChildProcess): void {
  try {
    if (child.pid) setPriority(child.pid, NICE);
  } catch {
    /* not permitted here: still bounded by time */
  }
}

/** A persistent sharp decoder process; one job at a time. */
interface Decoder {
  child: ChildProcess;
  dead: boolean;
}

export class DecodePool {
  #running = 0;
  #waiting: { go: () => void; fail: (e: Error) => void }[] = [];
  #idle: Decoder[] = [];
  #live = new Set<ChildProcess>();
  #seq = 0;
  #closed = false;

  constructor(readonly opts: DecodePoolOptions) {}

  /** Decodes now running and waiting (for stats and tests). */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  /** Process ids of live decoder children (sharp and ffmpeg), for CPU accounting in tests. */
  get pids(): number[] {
    return [...this.#live].map((c) => c.pid!).filter(Boolean);
  }

  /** Runs `job` in a decode slot, waiting in the queue when all are taken. */
  async slot<T>(signal: AbortSignal, job: () => Promise<T>): Promise<T> {
    if (signal.aborted) throw new DecodeAborted();
    if (this.#closed) throw new ApiError('ERR_UNAVAILABLE', 'the server is shutting down');
    if (this.#running >= this.opts.concurrency) {
      if (this.#waiting.length >= this.opts.queue) {
        const wait = Math.max(1, Math.ceil(this.opts.timeoutMs / 1000));
        throw new ApiError(
          'ERR_MEDIA_BUSY',
          `the server is decoding ${this.#running} uploads with ${this.#waiting.length} waiting; retry in ${wait} s`,
          undefined,
          wait,
        );
      }
      await new Promise<void>((go, fail) => {
        const entry = {
          go: () => {
            signal.removeEventListener('abort', gone);
            go();
          },
          fail,
        };
        const gone = () => {
          this.#waiting = this.#waiting.filter((w) => w !== entry);
          fail(new DecodeAborted());
        };
        signal.addEventListener('abort', gone, { once: true });
        this.#waiting.push(entry);
      });
    } else this.#running++;
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next.go();
      else this.#running--;
    }
  }

  /** Fully decodes an image (every frame) with sharp in a decoder child. Call inside {@link slot}. */
  decodeImage(
    bytes: Buffer,
    animated: boolean,
    limitInputPixels: number,
    signal: AbortSignal,
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    const d = this.#idle.pop() ?? this.#spawnDecoder();
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', gone);
        d.child.off('message', onMessage);
        d.child.off('exit', onExit);
        fn();
      };
      const kill = () => {
        d.dead = true;
        d.child.kill('SIGKILL');
      };
      const onMessage = (m: { id: number; ok: boolean; message?: string; spent?: boolean }) => {
        if (m.id !== id) return;
        // The child used up its CPU budget mid-decode; a native decode cannot be stopped but by the process.
        if (m.spent) {
          done(() => {
            kill();
            reject(tooSlow(this.opts.timeoutMs));
          });
          return;
        }
        done(() => {
          if (!this.#closed && this.#idle.length < this.opts.concurrency) this.#idle.push(d);
          else kill();
          resolve(m.ok ? { ok: true } : { ok: false, message: m.message ?? 'decode failed' });
        });
      };
      const onExit = () =>
        done(() => {
          d.dead = true;
          resolve({ ok: false, message: 'the decoder stopped on this file' });
        });
      const gone = () =>
        done(() => {
          kill();
          reject(new DecodeAborted());
        });
      const wall = this.opts.timeoutMs * WALL_FACTOR;
      const timer = setTimeout(
        () =>
          done(() => {
            kill();
            reject(tooSlow(wall, 'wall-clock'));
          }),
        wall,
      );
      signal.addEventListener('abort', gone, { once: true });
      d.child.on('message', onMessage);
      d.child.once('exit', onExit);
      d.child.send({ id, bytes, animated, limitInputPixels, cpuMs: this.opts.timeoutMs });
    });
  }

  /**
   * Runs ffmpeg/ffprobe niced, killed once it has used `cpuMs` of CPU (read from /proc), after
   * {@link WALL_FACTOR}× that in wall time, or on abort. Call inside {@link slot}.
   */
  run(
    cmd: string,
    args: string[],
    signal: AbortSignal,
    cpuMs = this.opts.timeoutMs,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      nice(child);
      this.#track(child);
      let stdout = '';
      let stderr = '';
      let why: Error | null = null;
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (stdout.length < 1 << 20) stdout += d;
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < 1 << 16) stderr += d;
      });
      const stop = (e: Error) => {
        why ??= e;
        child.kill('SIGKILL');
      };
      const gone = () => stop(new DecodeAborted());
      const t = setTimeout(
        () => stop(tooSlow(cpuMs * WALL_FACTOR, 'wall-clock')),
        cpuMs * WALL_FACTOR,
      );
      const poll = setInterval(() => {
        const cpu = child.pid ? cpuOf(child.pid) : null;
        if (cpu !== null && cpu * 1000 > cpuMs) stop(tooSlow(cpuMs));
      }, CPU_POLL_MS);
      signal.addEventListener('abort', gone, { once: true });
      if (signal.aborted) gone();
      const end = () => {
        clearTimeout(t);
        clearInterval(poll);
        signal.removeEventListener('abort', gone);
      };
      child.on('error', (e) => {
        end();
        reject(e);
      });
      child.on('close', (code) => {
        end();
        if (why) reject(why);
        else resolve({ code, stdout, stderr });
      });
    });
  }

  /** Kills every decoder; waiting decodes fail with ERR_UNAVAILABLE. */
  close(): void {
    this.#closed = true;
    for (const w of this.#waiting.splice(0))
      w.fail(new ApiError('ERR_UNAVAILABLE', 'the server is shutting down'));
    for (const c of this.#live) c.kill('SIGKILL');
    this.#idle = [];
  }

  #track(child: ChildProcess): void {
    this.#live.add(child);
    child.once('exit', () => this.#live.delete(child));
  }

  #spawnDecoder(): Decoder {
    // No execArgv: the child is plain JavaScript and needs none of the server's loaders.
    const child = fork(CHILD, [], {
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    nice(child);
    this.#track(child);
    const d: Decoder = { child, dead: false };
    child.once('exit', () => {
      d.dead = true;
      this.#idle = this.#idle.filter((x) => x !== d);
    });
    // An idle decoder must not keep the server process alive.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    child.on('error', () => {
      d.dead = true;
    });
    return d;
  }
}
