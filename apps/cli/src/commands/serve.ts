/**
 * `clipchat serve --port N --data DIR [--host H] [--web DIR] [--trust-proxy [N|ADDRS]]
 * [--secure-cookies] [timeouts]`: runs the Clipchat server, serving the built web app
 * (apps/web/dist) when present. PostgreSQL/Redis when CLIPCHAT_DATABASE_URL /
 * CLIPCHAT_REDIS_URL are set. Stops cleanly on SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import pretty from 'pino-pretty';
import {
  backendsFromEnv,
  createServer,
  parseDuration,
  parseLoginBackoffFlag,
  parseRateLimitFlag,
  type HttpLimits,
  type LoginBackoff,
  type RateLimits,
} from '@clipchat/server';
import { parseArgs, UsageError, type FlagSpec, type Parsed } from '../args.ts';

const USAGE = `usage: clipchat serve [--port N] [--data DIR] [--host H] [--web DIR]
  --port N    port to listen on (default 8080; 0 picks a free one)
  --data DIR  data folder: SQLite database and media (default ./data)
  --host H    address to bind (default 127.0.0.1; 0.0.0.0 for all interfaces)
  --web DIR   built web app to serve (default: apps/web/dist when built)
  --trust-proxy [N|ADDRS]  behind N reverse proxies (default 1), or the proxies at ADDRS (comma-separated
                    addresses/CIDRs): the client address is the one the outermost trusted proxy appended to X-Forwarded-For
  --secure-cookies  mark session cookies Secure (HTTPS only); set when users reach Clipchat over HTTPS
  --headers-timeout S     longest wait for a request's headers, seconds (default 10)
  --request-timeout S     longest wait for a whole request, body included, seconds (default 60)
  --idle-timeout S        close a connection silent both ways this long, seconds (default 60; not WebSockets)
  --keep-alive-timeout S  how long an idle keep-alive connection waits for its next request, seconds (default 10)
  --max-connections-per-ip N  connections open at once per peer address (default 64, 0 = no cap; with --trust-proxy 0)
  --rate-limit NAME=N/WINDOW  override one rate limit, e.g. createConversation=20/1m (repeatable; see docs/api.md)
  --login-backoff F/BASE/MAX[/FORGET]  per-account login backoff, e.g. 5/1s/5m (default), or off
  --decode-concurrency N    upload decodes at once, one process each (default 2)
  --decode-timeout-ms MS    CPU time one upload's decode may use (default 5000)
  --max-total-pixels N      most pixels over all frames of an upload (default 32000000)
  --max-sockets-per-user N  open WebSockets one user may hold, over all nodes (default 20)
  --edit-window DURATION    how long after sending a text message its sender may edit it, e.g. 48h (default), 15m, 0 (no edits)
  --video-max-bytes SIZE    largest shared video, bytes or with K/M/G (binary; default 2G)
  --video-quota-bytes SIZE  storage one user may hold, stored media + unfinished uploads (default 10G)
environment: CLIPCHAT_DATABASE_URL (PostgreSQL), CLIPCHAT_REDIS_URL (Redis), CLIPCHAT_LOG_LEVEL (info),
  CLIPCHAT_LOG_FORMAT (pretty on a terminal, json otherwise)`;

/**
 * Request logs: one line a request that a person reads on a terminal (pino-pretty), JSON lines
 * otherwise (a pipe, a file, a log collector); CLIPCHAT_LOG_FORMAT=pretty|json decides instead.
 */
function loggerOptions(): { level: string; stream?: NodeJS.WritableStream } | string {
  const level = process.env.CLIPCHAT_LOG_LEVEL ?? 'info';
  const format = process.env.CLIPCHAT_LOG_FORMAT || (process.stdout.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty' && format !== 'json')
    return `CLIPCHAT_LOG_FORMAT must be pretty or json, got ${JSON.stringify(format)}`;
  if (format === 'json') return { level };
  return {
    level,
    stream: pretty({
      colorize: process.stdout.isTTY,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname',
      singleLine: true,
    }),
  };
}

interface Args {
  port: number;
  data: string;
  host: string;
  web: string | null;
  trustProxy: false | number | string[];
  secureCookies: boolean;
  http: Partial<HttpLimits>;
  rateLimits?: Partial<RateLimits>;
  loginBackoff?: Partial<LoginBackoff> | false;
  maxSocketsPerUser?: number;
  editWindowMs?: number;
  media: Partial<Record<(typeof MEDIA_FLAGS)[keyof typeof MEDIA_FLAGS], number>>;
  video: Partial<Record<(typeof VIDEO_FLAGS)[keyof typeof VIDEO_FLAGS], number>>;
}

/** `--flag S` (seconds, may be fractional) → the HttpLimits field in ms. */
const SECONDS_FLAGS: Record<string, keyof HttpLimits> = {
  'headers-timeout': 'headersTimeoutMs',
  'request-timeout': 'requestTimeoutMs',
  'idle-timeout': 'idleTimeoutMs',
  'keep-alive-timeout': 'keepAliveTimeoutMs',
};

/** Upload decode limits (`MediaLimits`) given as flags. */
const MEDIA_FLAGS = {
  'decode-concurrency': 'decodeConcurrency',
  'decode-timeout-ms': 'decodeTimeoutMs',
  'max-total-pixels': 'maxTotalPixels',
} as const;

/** Shared-video limits (`VideoLimits`) given as flags. */
const VIDEO_FLAGS = {
  'video-max-bytes': 'maxBytes',
  'video-quota-bytes': 'quotaBytes',
} as const;
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** The flags serve takes (each is listed in {@link USAGE}). */
export const FLAGS: FlagSpec[] = [
  { name: 'port' },
  { name: 'data' },
  { name: 'host' },
  { name: 'web' },
  { name: 'trust-proxy', optionalValue: true },
  { name: 'secure-cookies', switch: true },
  ...Object.keys(SECONDS_FLAGS).map((name) => ({ name })),
  { name: 'max-connections-per-ip' },
  { name: 'rate-limit' },
  { name: 'login-backoff' },
  { name: 'max-sockets-per-user' },
  { name: 'edit-window' },
  ...Object.keys(MEDIA_FLAGS).map((name) => ({ name })),
  ...Object.keys(VIDEO_FLAGS).map((name) => ({ name })),
  { name: 'help', short: 'h', switch: true },
];

/** The parsed flags, or the one-line error ('' for --help). */
function parse(args: string[]): Args | string {
  let p: Parsed;
  try {
    // Lenient: a missing value gets each flag's own wording below.
    p = parseArgs(args, FLAGS, { lenient: true });
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  if (p.flags.has('help')) return '';
  if (p.positionals.length) return `unknown option ${p.positionals[0]}`;
  const out: Args = {
    port: 8080,
    data: './data',
    host: '127.0.0.1',
    web: null,
    trustProxy: false,
    secureCookies: p.flags.has('secure-cookies'),
    http: {},
    media: {},
    video: {},
  };
  /** The value given, `undefined` when the flag was given without one, `false` when absent. */
  const value = (name: string): string | undefined | false => {
    if (!p.flags.has(name)) return false;
    const v = p.flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  let v: string | undefined | false;
  if ((v = value('port')) !== false) {
    const n = Number(v);
    if (!v || !Number.isInteger(n) || n < 0 || n > 65535)
      return `--port must be 0–65535, got ${v ?? 'nothing'}`;
    out.port = n;
  }
  if ((v = value('data')) !== false) {
    if (!v) return '--data needs a folder';
    out.data = v;
  }
  if ((v = value('host')) !== false) {
    if (!v) return '--host needs an address';
    out.host = v;
  }
  if ((v = value('web')) !== false) {
    if (!v) return '--web needs a folder';
    out.web = v;
  }
  if (p.flags.has('trust-proxy')) {
    // Alone: one proxy. A following word that is not a flag is the hop count or the proxies' addresses.
    const t = p.flags.get('trust-proxy');
    if (typeof t !== 'string') out.trustProxy = 1;
    else if (/^\d+$/.test(t)) {
      const n = Number(t);
      if (n < 1 || n > 100)
        return `--trust-proxy takes no value, a hop count 1–100 or proxy addresses; got ${t}`;
      out.trustProxy = n;
    } else {
      const list = t
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean);
      if (
        !list.length ||
        list.some((a) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(a))
      ) {
        return `--trust-proxy takes no value, a hop count 1–100 or comma-separated proxy addresses/CIDRs; got ${t}`;
      }
      out.trustProxy = list;
    }
  }
  for (const [flag, field] of Object.entries(SECONDS_FLAGS)) {
    if ((v = value(flag)) === false) continue;
    const sec = Number(v);
    if (!v || !Number.isFinite(sec) || sec < 0 || sec > 86_400)
      return `--${flag} takes seconds 0–86400 (0 = no limit), got ${v ?? 'nothing'}`;
    out.http[field] = Math.round(sec * 1000);
  }
  if ((v = value('max-connections-per-ip')) !== false) {
    const n = Number(v);
    if (!v || !Number.isInteger(n) || n < 0 || n > 1_000_000)
      return `--max-connections-per-ip takes a count ≥ 0 (0 = no cap), got ${v ?? 'nothing'}`;
    out.http.maxConnectionsPerAddress = n;
  }
  for (const r of p.all.get('rate-limit') ?? []) {
    const err = parseRateLimitFlag(typeof r === 'string' ? r : '', (out.rateLimits ??= {}));
    if (err) return err;
  }
  if ((v = value('login-backoff')) !== false) {
    const b = parseLoginBackoffFlag(v ?? '');
    if (typeof b === 'string') return b;
    out.loginBackoff = b;
  }
  if ((v = value('max-sockets-per-user')) !== false) {
    const n = Number(v);
    if (!v || !Number.isInteger(n) || n < 1 || n > 10_000)
      return `--max-sockets-per-user must be 1–10000, got ${v ?? 'nothing'}`;
    out.maxSocketsPerUser = n;
  }
  if ((v = value('edit-window')) !== false) {
    const ms = v === undefined ? NaN : v.trim() === '0' ? 0 : parseDuration(v);
    if (!Number.isInteger(ms) || ms < 0 || ms > 3650 * 86_400_000)
      return `--edit-window takes a duration such as 48h, 15m, 90s or 0 (no edits), up to 10 years; got ${v ?? 'nothing'}`;
    out.editWindowMs = ms;
  }
  for (const [flag, field] of Object.entries(MEDIA_FLAGS)) {
    if ((v = value(flag)) === false) continue;
    const n = Number(v);
    if (!v || !Number.isInteger(n) || n < 1)
      return `--${flag} must be a whole number ≥ 1, got ${v ?? 'nothing'}`;
    out.media[field] = n;
  }
  for (const [flag, field] of Object.entries(VIDEO_FLAGS)) {
    if ((v = value(flag)) === false) continue;
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(v ?? '');
    const n = m ? Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!) : NaN;
    if (!Number.isSafeInteger(n) || n < 1)
      return `--${flag} takes a size in bytes, e.g. 2147483648 or 2G, got ${v ?? 'nothing'}`;
    out.video[field] = n;
  }
  return out;
}

/** Runs the server until SIGINT/SIGTERM. Returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const parsed = parse(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed ? `clipchat serve: ${parsed}\n` : ''}${USAGE}\n`);
    return parsed ? 2 : 0;
  }
  const logger = loggerOptions();
  if (typeof logger === 'string') {
    process.stderr.write(`clipchat serve: ${logger}\n`);
    return 2;
  }
  // apps/web/dist beside this package, from src/commands/ (sources) or dist/ (the built command).
  const defaultWeb = fileURLToPath(
    new URL(
      import.meta.url.includes('/src/commands/') ? '../../../web/dist' : '../../web/dist',
      import.meta.url,
    ),
  );
  const webRoot = parsed.web
    ? resolve(parsed.web)
    : existsSync(resolve(defaultWeb, 'index.html'))
      ? defaultWeb
      : null;
  const { store, bus, limitStore, describe } = await backendsFromEnv();
  const server = await createServer({
    dataDir: resolve(parsed.data),
    store,
    bus,
    limitStore,
    webRoot,
    rateLimits: parsed.rateLimits,
    loginBackoff: parsed.loginBackoff,
    trustProxy: parsed.trustProxy,
    secureCookies: parsed.secureCookies,
    http: parsed.http,
    logger,
    media: parsed.media,
    video: parsed.video,
    ...(parsed.maxSocketsPerUser ? { ws: { maxSocketsPerUser: parsed.maxSocketsPerUser } } : {}),
    ...(parsed.editWindowMs !== undefined
      ? { messages: { editWindowMs: parsed.editWindowMs } }
      : {}),
  });
  let url: string;
  try {
    url = await server.listen({ port: parsed.port, host: parsed.host });
  } catch (e) {
    await server.close().catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(
      `clipchat serve: cannot listen on ${parsed.host}:${parsed.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}\n`,
    );
    return 1;
  }
  const shown =
    parsed.host === '0.0.0.0' || parsed.host === '::'
      ? url.replace(/\/\/[^:/]+|\/\/\[[^\]]+\]/, '//localhost')
      : url;
  process.stdout.write(
    `Clipchat is running at ${shown} (data: ${store ? 'database' : resolve(parsed.data)}; ${describe}; web app: ${webRoot ?? 'not built, API only'})\n`,
  );
  if (!webRoot) {
    process.stdout.write(
      '  The web app is not built: run `npm run build -w @clipchat/web` (or `npm start`, which builds it), or pass --web <folder>.\n',
    );
  }
  if (parsed.host === '127.0.0.1' || parsed.host === 'localhost') {
    process.stdout.write(
      '  Only this machine can reach it: pass --host 0.0.0.0 to serve your network (see docs/deploy.md).\n',
    );
  }

  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`\n${sig}: stopping…\n`);
      const force = setTimeout(() => done(1), 10_000);
      force.unref();
      server.close().then(
        () => {
          clearTimeout(force);
          done(0);
        },
        (e) => {
          process.stderr.write(`${(e as Error).message}\n`);
          done(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
