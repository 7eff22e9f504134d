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
}

/** `--flag S` (seconds, may be fractional) → the HttpLimits field in ms. */
const SECONDS_FLAGS: Record<string, keyof HttpLimits> = {
  '--headers-timeout': 'headersTimeoutMs',
  '--request-timeout': 'requestTimeoutMs',
  '--idle-timeout': 'idleTimeoutMs',
  '--keep-alive-timeout': 'keepAliveTimeoutMs',
};

function parse(args: string[]): Args | string {
  const out: Args = {
    port: 8080,
    data: './data',
    host: '127.0.0.1',
    web: null,
    trustProxy: false,
    secureCookies: false,
    http: {},
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case '--port': {
        const v = value();
        const p = Number(v);
        if (!v || !Number.isInteger(p) || p < 0 || p > 65535)
          return `--port must be 0–65535, got ${v ?? 'nothing'}`;
        out.port = p;
        break;
      }
      case '--data': {
        const v = value();
        if (!v) return '--data needs a folder';
        out.data = v;
        break;
      }
      case '--host': {
        const v = value();
        if (!v) return '--host needs an address';
        out.host = v;
        break;
      }
      case '--web': {
        const v = value();
        if (!v) return '--web needs a folder';
        out.web = v;
        break;
      }
      case '--trust-proxy': {
        // Alone: one proxy. A following word that is not a flag is the hop count or the proxies' addresses.
        const v =
          inline ??
          (args[i + 1] !== undefined && !args[i + 1]!.startsWith('-') ? args[++i] : undefined);
        if (v === undefined) {
          out.trustProxy = 1;
          break;
        }
        if (/^\d+$/.test(v)) {
          const n = Number(v);
          if (n < 1 || n > 100)
            return `--trust-proxy takes no value, a hop count 1–100 or proxy addresses; got ${v}`;
          out.trustProxy = n;
        } else {
          const list = v
            .split(',')
            .map((a) => a.trim())
            .filter(Boolean);
          if (
            !list.length ||
            list.some(
              (a) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(a),
            )
          ) {
            return `--trust-proxy takes no value, a hop count 1–100 or comma-separated proxy addresses/CIDRs; got ${v}`;
          }
          out.trustProxy = list;
        }
        break;
      }
      case '--headers-timeout':
      case '--request-timeout':
      case '--idle-timeout':
      case '--keep-alive-timeout': {
        const v = value();
        const sec = Number(v);
        if (!v || !Number.isFinite(sec) || sec < 0 || sec > 86_400)
          return `${flag} takes seconds 0–86400 (0 = no limit), got ${v ?? 'nothing'}`;
        out.http[SECONDS_FLAGS[flag]!] = Math.round(sec * 1000);
        break;
      }
      case '--max-connections-per-ip': {
        const v = value();
        const n = Number(v);
        if (!v || !Number.isInteger(n) || n < 0 || n > 1_000_000)
          return `--max-connections-per-ip takes a count ≥ 0 (0 = no cap), got ${v ?? 'nothing'}`;
        out.http.maxConnectionsPerAddress = n;
        break;
      }
      case '--secure-cookies':
        if (inline !== undefined) return '--secure-cookies takes no value';
        out.secureCookies = true;
        break;
      case '--rate-limit': {
        const err = parseRateLimitFlag(value() ?? '', (out.rateLimits ??= {}));
        if (err) return err;
        break;
      }
      case '--login-backoff': {
        const b = parseLoginBackoffFlag(value() ?? '');
        if (typeof b === 'string') return b;
        out.loginBackoff = b;
        break;
      }
      case '--max-sockets-per-user': {
        const v = value();
        const n = Number(v);
        if (!v || !Number.isInteger(n) || n < 1 || n > 10_000)
          return `--max-sockets-per-user must be 1–10000, got ${v ?? 'nothing'}`;
        out.maxSocketsPerUser = n;
        break;
      }
      case '--edit-window': {
        const v = value();
        const ms = v === undefined ? NaN : v.trim() === '0' ? 0 : parseDuration(v);
        if (!Number.isInteger(ms) || ms < 0 || ms > 3650 * 86_400_000)
          return `--edit-window takes a duration such as 48h, 15m, 90s or 0 (no edits), up to 10 years; got ${v ?? 'nothing'}`;
        out.editWindowMs = ms;
        break;
      }
      case '-h':
      case '--help':
        return '';
      default:
        return `unknown option ${a}`;
    }
  }
  return out;
}

/** Upload decode limits (`MediaLimits`) given as flags, taken out of `args`. */
const MEDIA_FLAGS = {
  '--decode-concurrency': 'decodeConcurrency',
  '--decode-timeout-ms': 'decodeTimeoutMs',
  '--max-total-pixels': 'maxTotalPixels',
} as const;

function mediaFlags(args: string[]):
  | {
      media: Partial<Record<(typeof MEDIA_FLAGS)[keyof typeof MEDIA_FLAGS], number>>;
      rest: string[];
    }
  | string {
  const media: Partial<Record<(typeof MEDIA_FLAGS)[keyof typeof MEDIA_FLAGS], number>> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    const field = MEDIA_FLAGS[flag as keyof typeof MEDIA_FLAGS];
    if (!field) {
      rest.push(a);
      continue;
    }
    const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
    const n = Number(v);
    if (!v || !Number.isInteger(n) || n < 1)
      return `${flag} must be a whole number ≥ 1, got ${v ?? 'nothing'}`;
    media[field] = n;
  }
  return { media, rest };
}

/** Shared-video limits (`VideoLimits`) given as flags, taken out of `args`. */
const VIDEO_FLAGS = {
  '--video-max-bytes': 'maxBytes',
  '--video-quota-bytes': 'quotaBytes',
} as const;
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

function videoFlags(
  args: string[],
): { video: Partial<Record<'maxBytes' | 'quotaBytes', number>>; rest: string[] } | string {
  const video: Partial<Record<'maxBytes' | 'quotaBytes', number>> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    const field = VIDEO_FLAGS[flag as keyof typeof VIDEO_FLAGS];
    if (!field) {
      rest.push(a);
      continue;
    }
    const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(v ?? '');
    const n = m ? Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!) : NaN;
    if (!Number.isSafeInteger(n) || n < 1)
      return `${flag} takes a size in bytes, e.g. 2147483648 or 2G, got ${v ?? 'nothing'}`;
    video[field] = n;
  }
  return { video, rest };
}

/** Runs the server until SIGINT/SIGTERM. Returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const vf = videoFlags(args);
  if (typeof vf === 'string') {
    process.stderr.write(`clipchat serve: ${vf}\n${USAGE}\n`);
    return 2;
  }
  const mf = mediaFlags(vf.rest);
  if (typeof mf === 'string') {
    process.stderr.write(`clipchat serve: ${mf}\n${USAGE}\n`);
    return 2;
  }
  const parsed = parse(mf.rest);
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed ? `clipchat serve: ${parsed}\n` : ''}${USAGE}\n`);
    return parsed ? 2 : 0;
  }
  const logger = loggerOptions();
  if (typeof logger === 'string') {
    process.stderr.write(`clipchat serve: ${logger}\n`);
    return 2;
  }
  const defaultWeb = fileURLToPath(new URL('../../../web/dist', import.meta.url));
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
    media: mf.media,
    video: vf.video,
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
