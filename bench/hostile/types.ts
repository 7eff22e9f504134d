/**
 * The contract between `npm run bench:hostile` (bench/hostile.ts) and the attacks it runs.
 * Each area of hardening keeps its attacks in its own file here (`media.ts`, `ws.ts`,
 * `http.ts`, `limits.ts`, …) exporting `attacks: Attack[]`; the runner starts a fresh
 * `clipchat serve` child for every attack, samples that process's CPU and RSS from /proc,
 * runs a victim (another user's light requests and a login) alongside, and prints one row
 * per attack: server CPU s, RSS growth MB, victim p99 ms, outcome.
 */

/** An account on the server under attack. */
export interface HostileUser {
  id: string;
  username: string;
  password: string;
  /** Bearer token. */
  token: string;
  csrfToken: string;
  /** `name=value; …` of the session cookies. */
  cookie: string;
}

/** The server under attack, as the runner started it. */
export interface HostileServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The server process (CPU/RSS are read from /proc/PID). */
  readonly pid: number;
  /** The data folder (SQLite backend). */
  readonly dataDir: string;
  /** Registers a fresh user (bypasses nothing: a real POST /api/auth/register). */
  register(name?: string): Promise<HostileUser>;
  /** Server CPU seconds (user+system, all threads and children reaped) since the attack began. */
  cpuSeconds(): number;
  /** Current RSS of the server process, MB. */
  rssMb(): number;
}

/** One attack: a row of the table. */
export interface Attack {
  /** Row label, e.g. `JPEG scan bomb 383 KB`. */
  readonly name: string;
  /** Extra `clipchat serve` flags for this attack's server (e.g. `['--trust-proxy', '1']`). */
  readonly serveArgs?: readonly string[];
  /** Extra environment for the server (e.g. a PostgreSQL URL). */
  readonly env?: Readonly<Record<string, string>>;
  /** Needs something that may be absent (a tool, the shared footage): return a reason to skip, or null. */
  skip?(): string | null;
  /**
   * Builds what the attack will send, before its server starts and the victim's clock runs:
   * the victim's requests share this process's event loop, so minutes of building bombs
   * during `run` would count as the server's latency.
   */
  prepare?(): Promise<void>;
  /**
   * Runs once the server is up, before measuring: makes the accounts the attack uses
   * (`register` signs one up), whose password hashes would otherwise count against it.
   */
  setup?(register: (name?: string) => Promise<HostileUser>): Promise<void>;
  /**
   * Makes the attack and resolves with the outcome a person reads, e.g.
   * `413 ERR_MEDIA_LIMITS after 0.3 s` or `socket closed 1008 after 4.1 MB`. Must stop by
   * itself within about 60 s, send only to `server.url`, and release what it opened.
   * `signal` aborts when the runner gives up on it.
   */
  run(server: HostileServer, signal: AbortSignal): Promise<string>;
  /** Whether the outcome meets the attack's bound (printed as ok / FAIL; docs/benchmarks.md). */
  ok?(
    outcome: string,
    measured: { cpuSeconds: number; rssGrowthMb: number; victimP99Ms: number; loginP99Ms: number },
  ): boolean;
}
