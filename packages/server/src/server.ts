/**
 * `createServer(config)`: the Clipchat IM server as a library. Each feature is a Fastify
 * plugin (routes/*); storage and delivery are pluggable (Store, Bus).
 */
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_LOGIN_BACKOFF,
  DEFAULT_MEDIA_LIMITS,
  DEFAULT_RATE_LIMITS,
  DEFAULT_VIDEO_LIMITS,
  DEFAULT_WS_LIMITS,
  overloadLimits,
  type ServerConfig,
} from './config';
import { openStore } from './store/index';
import type { Store } from './store/types';
import { LocalBus, type Bus } from './bus/types';
import { SqliteStore } from './store/sqlite';
import { toErrorBody } from './errors';
import { RateLimiter } from './http/ratelimit';
import { MemoryLimitStore } from './http/limit-store';
import { checkLoginBackoff, checkRateLimit } from './http/limit-config';
import { securityHeaders } from './http/security';
import {
  capConnectionsPerAddress,
  httpLimits,
  timeoutOptions,
  trustProxyOption,
} from './http/connections';
import { registerOpenApi } from './http/openapi';
import { useProtocolSchemas } from './http/schema';
import { registerStatic } from './http/static';
import { ImService } from './im/service';
import { Hub } from './im/hub';
import { LocalSocketSlots } from './im/slots';
import { LocalPresence, PresenceService } from './im/presence';
import type { Ctx } from './routes/context';
import authRoutes from './routes/auth';
import conversationRoutes from './routes/conversations';
import messageRoutes from './routes/messages';
import mediaRoutes from './routes/media';
import uploadRoutes, { Uploads } from './routes/uploads';
import { FileStore } from '@tus/file-store';
import stickerRoutes from './routes/stickers';
import settingsRoutes from './routes/settings';
import wsRoutes from './routes/ws';
import searchRoutes from './routes/search';
import healthRoutes from './routes/health';

/** A running (or ready to listen) Clipchat server. */
export interface ClipchatServer {
  /** The Fastify instance (for `inject` in tests, or extra routes). */
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly bus: Bus;
  /**
   * Counters: sockets open, messages written, write batches, frames delivered, sockets closed as
   * too slow; recent commit durations (ms).
   */
  stats(): {
    sockets: number;
    written: number;
    batches: number;
    delivered: number;
    slowClosed: number;
    commitMs: number[];
  };
  /** Listens and resolves with the base URL (`http://host:port`). Port 0 picks a free port. */
  listen(opts?: { port?: number; host?: string }): Promise<string>;
  /** Stops accepting, closes sockets (1001), finishes queued writes, closes the bus and store. */
  close(): Promise<void>;
}

/** How often expired sessions are deleted. */
const SESSION_SWEEP_MS = 3600_000;

/** Builds the server: opens the store (SQLite in `dataDir` by default, migrated), wires routes. */
export async function createServer(config: ServerConfig): Promise<ClipchatServer> {
  // Refuse unusable limits before anything is opened.
  const overload = overloadLimits(defined(config.overload));
  const rateLimits =
    config.rateLimits === false ? false : { ...DEFAULT_RATE_LIMITS, ...defined(config.rateLimits) };
  const loginBackoff =
    config.rateLimits === false || config.loginBackoff === false
      ? false
      : { ...DEFAULT_LOGIN_BACKOFF, ...defined(config.loginBackoff) };
  if (rateLimits) for (const [name, l] of Object.entries(rateLimits)) checkRateLimit(name, l);
  if (loginBackoff) checkLoginBackoff(loginBackoff);
  const editWindowMs = config.messages?.editWindowMs;
  if (
    editWindowMs !== undefined &&
    (!Number.isInteger(editWindowMs) || editWindowMs < 0 || editWindowMs > 3650 * 86_400_000)
  ) {
    throw new Error(
      `messages.editWindowMs must be a whole number of ms from 0 (no edits) to 10 years, got ${editWindowMs}`,
    );
  }
  const store =
    config.store && config.store !== 'sqlite'
      ? await openStore(config.store, config.dataDir)
      : await openStore(
          new SqliteStore({ dataDir: config.dataDir, synchronous: config.sqliteSynchronous }),
          config.dataDir,
        );
  const bus: Bus = config.bus ?? new LocalBus();
  // Expired sessions are refused at once but would stay in the table: sweep them now and
  // every hour (on every node; the delete is idempotent).
  await store.purgeExpiredSessions(Date.now());
  const sweep = setInterval(() => {
    store
      .purgeExpiredSessions(Date.now())
      .catch((e: unknown) => app.log.warn({ err: e }, 'purging expired sessions failed'));
  }, SESSION_SWEEP_MS);
  sweep.unref();
  const limiter = new RateLimiter(
    rateLimits,
    config.limitStore ?? new MemoryLimitStore(),
    loginBackoff,
  );
  const im = new ImService(store, bus, config.maxBatch, defined(config.messages), overload);
  const ws = { ...DEFAULT_WS_LIMITS, ...config.ws };
  const hub = new Hub(bus, ws.maxBufferedBytes);
  // Sockets per user: counted over the cluster when the bus can (Redis), else on this node.
  const slots = bus.socketSlots?.(ws.socketTtlMs) ?? new LocalSocketSlots();
  // Who is online: over the cluster when the bus can (Redis), else this node's sockets.
  const presence = new PresenceService(
    bus.presence?.(ws.socketTtlMs) ?? new LocalPresence(),
    store,
    bus,
    {
      warn: (o, m) => app.log.warn(o, m),
    },
  );
  const ctx: Ctx = {
    store,
    im,
    presence,
    limiter,
    media: { ...DEFAULT_MEDIA_LIMITS, ...config.media },
    video: { ...DEFAULT_VIDEO_LIMITS, ...defined(config.video) },
    sessionTtlMs: config.sessionTtlMs ?? 30 * 24 * 3600 * 1000,
    secureCookies: config.secureCookies ?? false,
  };

  const trustProxy = config.trustProxy ?? false;
  const limits = httpLimits(config.http, trustProxy !== false && trustProxy !== 0);
  const app = Fastify({
    logger: config.logger ?? { level: 'info' },
    trustProxy: trustProxyOption(trustProxy),
    bodyLimit: 64 * 1024,
    ...timeoutOptions(limits),
    // While closing, our own 503 (below) answers: in the catalogue, with Retry-After.
    return503OnClosing: false,
    // Malformed URLs are answered before routing; keep them in the catalogue too.
    frameworkErrors: (err, _req, reply) => {
      const r = reply as unknown as { code(n: number): { send(b: unknown): void } };
      r.code(400).send({ error: { code: 'ERR_VALIDATION', message: err.message } });
    },
  });

  config.limitStore?.useLog?.(app.log);

  app.setErrorHandler((err, req, reply) => {
    const { status, body, retryAfter } = toErrorBody(err);
    if (status === 503) req.log.warn({ err: (err as Error).message }, 'storage unavailable');
    else if (status >= 500) req.log.error({ err }, 'request failed');
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    return reply.code(status).send(body);
  });

  const serveWeb =
    config.webRoot && existsSync(join(config.webRoot, 'index.html'))
      ? await registerStatic(app, config.webRoot)
      : null;
  app.setNotFoundHandler(async (req, reply) => {
    if (serveWeb && (await serveWeb(req, reply))) return reply;
    return reply.code(404).send({
      error: {
        code: 'ERR_NOT_FOUND',
        message: `no route ${req.method} ${req.url.split('?')[0]}`,
      },
    });
  });

  let closing = false;
  app.addHook('onRequest', async (_req, reply) => {
    if (!closing) return;
    reply.header('connection', 'close').header('retry-after', '1');
    return reply.code(503).send({
      error: {
        code: 'ERR_UNAVAILABLE',
        message: 'this node is shutting down; retry on another',
        retryAfter: 1,
      },
    });
  });
  capConnectionsPerAddress(app.server, limits.maxConnectionsPerAddress, (address) => {
    app.log.warn(
      { address, max: limits.maxConnectionsPerAddress },
      'connection over the per-address cap refused',
    );
  });

  // Cookies parsed into req.cookies before any other hook, set with reply.setCookie.
  await app.register(cookie);
  // JSON only (uploads have their own parser): no text/plain bodies, which browsers send cross-site without preflight.
  app.removeContentTypeParser('text/plain');
  securityHeaders(app);
  // Routes are checked with the protocol's TypeBox schemas: wrong types and unknown fields are
  // refused, never coerced or dropped.
  useProtocolSchemas(app);
  const openapi = await registerOpenApi(app);
  await app.register(websocket, { options: { maxPayload: 128 * 1024 } });
  await app.register(authRoutes, ctx);
  await app.register(conversationRoutes, ctx);
  await app.register(messageRoutes, ctx);
  // Unfinished video uploads live on this node's disk (see docs/deploy.md for clusters).
  const uploadDir = join(config.dataDir, 'uploads');
  // Made here: with PostgreSQL nothing else creates the data folder.
  mkdirSync(uploadDir, { recursive: true });
  const uploads = new Uploads(
    new FileStore({
      directory: uploadDir,
      expirationPeriodInMilliseconds: ctx.video.uploadExpiryMs,
    }),
    uploadDir,
  );
  await app.register(uploadRoutes, { ctx, uploads });
  await app.register(mediaRoutes, { ctx, uploads });
  await app.register(stickerRoutes, ctx);
  await app.register(settingsRoutes, ctx);
  await app.register(searchRoutes, ctx);
  await app.register(wsRoutes, { ctx, hub, slots, limits: ws });
  await app.register(healthRoutes, { ctx, hub, started: Date.now() });
  app.get('/api/docs', { schema: { summary: 'This OpenAPI description' } }, async () => openapi());

  let closed = false;
  return {
    app,
    store,
    bus,
    stats: () => ({
      sockets: hub.sockets,
      written: im.writer.written,
      batches: im.writer.batches,
      delivered: hub.delivered,
      slowClosed: hub.slowClosed,
      commitMs: [...im.writer.commitMs],
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
      closing = true;
      clearInterval(sweep);
      // New requests and upgrades get 503 from here on (the onRequest hook above).
      await hub.drain(config.drainMs ?? 5000);
      await app.close();
      await im.writer.drain();
      await presence.settled();
      presence.tracker.close();
      im.close();
      await limiter.close();
      slots.close();
      await bus.close();
      await store.close();
    },
  };
}

/** `o` without its undefined fields, so `{login: undefined}` keeps the default rather than no limit. */
function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(o ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}
