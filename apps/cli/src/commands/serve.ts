/**
 * `clipchat serve --port N --data DIR [--host H] [--web DIR] [--trust-proxy] [--secure-cookies]`: runs the Clipchat server,
 * serving the built web app (apps/web/dist) when present. PostgreSQL/Redis when
 * CLIPCHAT_DATABASE_URL / CLIPCHAT_REDIS_URL are set. Stops cleanly on SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { backendsFromEnv, createServer } from '@clipchat/server';

const USAGE = `usage: clipchat serve [--port N] [--data DIR] [--host H] [--web DIR]
  --port N    port to listen on (default 8080; 0 picks a free one)
  --data DIR  data folder: SQLite database and media (default ./data)
  --host H    address to bind (default 127.0.0.1; 0.0.0.0 for all interfaces)
  --web DIR   built web app to serve (default: apps/web/dist when built)
  --trust-proxy     behind a reverse proxy: take the client address and scheme from X-Forwarded-*
  --secure-cookies  mark session cookies Secure (HTTPS only); set when users reach Clipchat over HTTPS
environment: CLIPCHAT_DATABASE_URL (PostgreSQL), CLIPCHAT_REDIS_URL (Redis), CLIPCHAT_LOG_LEVEL (info)`;

interface Args { port: number; data: string; host: string; web: string | null; trustProxy: boolean; secureCookies: boolean }

function parse(args: string[]): Args | string {
  const out: Args = { port: 8080, data: './data', host: '127.0.0.1', web: null, trustProxy: false, secureCookies: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case '--port': {
        const v = value();
        const p = Number(v);
        if (!v || !Number.isInteger(p) || p < 0 || p > 65535) return `--port must be 0–65535, got ${v ?? 'nothing'}`;
        out.port = p; break;
      }
      case '--data': { const v = value(); if (!v) return '--data needs a folder'; out.data = v; break; }
      case '--host': { const v = value(); if (!v) return '--host needs an address'; out.host = v; break; }
      case '--web': { const v = value(); if (!v) return '--web needs a folder'; out.web = v; break; }
      case '--trust-proxy': if (inline !== undefined) return '--trust-proxy takes no value'; out.trustProxy = true; break;
      case '--secure-cookies': if (inline !== undefined) return '--secure-cookies takes no value'; out.secureCookies = true; break;
      case '-h': case '--help': return '';
      default: return `unknown option ${a}`;
    }
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
  const defaultWeb = fileURLToPath(new URL('../../../web/dist', import.meta.url));
  const webRoot = parsed.web ? resolve(parsed.web) : existsSync(resolve(defaultWeb, 'index.html')) ? defaultWeb : null;
  const { store, bus, describe } = await backendsFromEnv();
  const server = await createServer({
    dataDir: resolve(parsed.data), store, bus, webRoot, trustProxy: parsed.trustProxy, secureCookies: parsed.secureCookies,
    logger: { level: process.env.CLIPCHAT_LOG_LEVEL ?? 'info' },
  });
  let url: string;
  try {
    url = await server.listen({ port: parsed.port, host: parsed.host });
  } catch (e) {
    await server.close().catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`clipchat serve: cannot listen on ${parsed.host}:${parsed.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}\n`);
    return 1;
  }
  const shown = parsed.host === '0.0.0.0' || parsed.host === '::' ? url.replace(/\/\/[^:/]+|\/\/\[[^\]]+\]/, '//localhost') : url;
  process.stdout.write(`Clipchat is running at ${shown} (data: ${store ? 'database' : resolve(parsed.data)}; ${describe}; web app: ${webRoot ?? 'not built, API only'})\n`);

  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`\n${sig}: stopping…\n`);
      const force = setTimeout(() => done(1), 10_000);
      force.unref();
      server.close().then(() => { clearTimeout(force); done(0); }, (e) => { process.stderr.write(`${(e as Error).message}\n`); done(1); });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
