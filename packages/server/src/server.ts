/**
 * `createServer(config)`: the Clipchat IM server as a library. Each feature is a Fastify
 * plugin (routes/*); storage and delivery are pluggable (Store, Bus).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MEDIA_LIMITS, DEFAULT_RATE_LIMITS, type ServerConfig } from './config';
import { openStore } from './store/index';
import type { Store } from './store/types';
import { LocalBus, type Bus } from './bus/types';
import { SqliteStore } from './store/sqlite';
import { toErrorBody } from './errors';
import { RateLimiter } from './http/ratelimit';
import { securityHeaders } from './http/security';
import { collectOpenApi } from './http/openapi';
import { staticHandler } from './http/static';
import { ImService } from './im/service';
import { Hub } from './im/hub';
import type { Ctx } from './routes/context';
import authRoutes from './routes/auth';
import conversationRoutes from './routes/conversations';
import messageRoutes from './routes/messages';
import mediaRoutes from './routes/media';
import stickerRoutes from './routes/stickers';
import settingsRoutes from './routes/settings';
import wsRoutes from './routes/ws';
import healthRoutes from './routes/health';

/** A running (or ready to listen) Clipchat server. */
export interface ClipchatServer {
  /** The Fastify instance (for `inject` in tests, or extra routes). */
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly bus: Bus;
  /** Counters: sockets open, messages written, write batches, frames delivered; recent commit durations (ms). */
  stats(): { sockets: number; written: number; batches: number; delivered: number; commitMs: number[] };
  /** Listens and resolves with the base URL (`http://host:port`). Port 0 picks a free port. */
  listen(opts?: { port?: number; host?: string }): Promise<string>;
  /** Stops accepting, closes sockets (1001), finishes queued writes, closes the bus and store. */
  close(): Promise<void>;
}

/** How often expired sessions are deleted. */
const SESSION_SWEEP_MS = 3600_000;

/** Builds the server: opens the store (SQLite in `dataDir` by default, migrated), wires routes. */
export async function createServer(config: ServerConfig): Promise<ClipchatServer> {
  const store = config.store && config.store !== 'sqlite'
    ? await openStore(config.store, config.dataDir)
    : await openStore(new SqliteStore({ dataDir: config.dataDir, synchronous: config.sqliteSynchronous }), config.dataDir);
  const bus = config.bus ?? new LocalBus();
  // Expired sessions are refused at once but would stay in the table: sweep them now and
  // every hour (on every node; the delete is idempotent).
  await store.purgeExpiredSessions(Date.now());
  const sweep = setInterval(() => {
    store.purgeExpiredSessions(Date.now()).catch((e: unknown) => app.log.warn({ err: e }, 'purging expired sessions failed'));
  }, SESSION_SWEEP_MS);
  sweep.unref();
  const limiter = new RateLimiter(config.rateLimits === false ? false : { ...DEFAULT_RATE_LIMITS, ...config.rateLimits });
  const im = new ImService(store, bus, config.maxBatch);
  const hub = new Hub(bus);
  const ctx: Ctx = {
    store, im, limiter, media: { ...DEFAULT_MEDIA_LIMITS, ...config.media },
    sessionTtlMs: config.sessionTtlMs ?? 30 * 24 * 3600 * 1000, secureCookies: config.secureCookies ?? false,
  };

  const app = Fastify({
    logger: config.logger ?? { level: 'info' },
    trustProxy: config.trustProxy ?? false,
    bodyLimit: 64 * 1024,
    // Refuse wrong types and unknown fields instead of coercing or silently dropping them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    return503OnClosing: true,
    // Malformed URLs are answered before routing; keep them in the catalogue too.
    frameworkErrors: (err, _req, reply) => {
      const r = reply as unknown as { code(n: number): { send(b: unknown): void } };
      r.code(400).send({ error: { code: 'ERR_VALIDATION', message: err.message } });
    },
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body, retryAfter } = toErrorBody(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    return reply.code(status).send(body);
  });

  const serveWeb = config.webRoot && existsSync(join(config.webRoot, 'index.html')) ? staticHandler(config.webRoot) : null;
  app.setNotFoundHandler(async (req, reply) => {
    if (serveWeb && (await serveWeb(req, reply))) return reply;
    return reply.code(404).send({ error: { code: 'ERR_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  // JSON only (uploads have their own parser): no text/plain bodies, which browsers send cross-site without preflight.
  app.removeContentTypeParser('text/plain');
  securityHeaders(app);
  const openapi = collectOpenApi(app);
  await app.register(websocket, { options: { maxPayload: 128 * 1024 } });
  await app.register(authRoutes, ctx);
  await app.register(conversationRoutes, ctx);
  await app.register(messageRoutes, ctx);
  await app.register(mediaRoutes, ctx);
  await app.register(stickerRoutes, ctx);
  await app.register(settingsRoutes, ctx);
  await app.register(wsRoutes, { ctx, hub });
  await app.register(healthRoutes, { ctx, hub, started: Date.now() });
  app.get('/api/docs', { schema: { summary: 'This OpenAPI description' } }, async () => openapi());

  let closed = false;
  return {
    app, store, bus,
    stats: () => ({
      sockets: hub.sockets, written: im.writer.written, batches: im.writer.batches, delivered: hub.delivered, commitMs: [...im.writer.commitMs],
    }),
    async listen(opts = {}) {
      await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
      const addr = app.server.address();
      if (!addr || typeof addr === 'string') return String(addr);
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return `http://${host}:${addr.port}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      hub.closeAll();
      await app.close();
      await im.writer.drain();
      limiter.close();
      await bus.close();
      await store.close();
    },
  };
}
