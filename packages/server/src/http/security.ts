/** Security headers on every response, including a CSP the Clipchat web app satisfies. */
import type { FastifyInstance } from 'fastify';

/**
 * Scripts and styles only from this origin (styles may be inline for the UI framework's
 * style attributes); images and media also from blob:/data: (previews of captures);
 * WebSocket to this host; workers from self/blob: (capture worker); WebAssembly allowed
 * for codecs; nothing may frame us. Media and fetches may also go to `https:` and to this
 * computer's plain-http loopback addresses: a video opened from a link is played and read
 * (range requests, CORS) by the browser itself; scripts, styles, images, workers and
 * frames stay same-origin.
 */
/** Where a video opened from a link may come from (the player and the engine's range requests). */
const LINK_SOURCES = 'https: http://localhost:* http://127.0.0.1:* http://[::1]:*';
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' blob: data:",
  `media-src 'self' blob: data: ${LINK_SOURCES}`,
  `connect-src 'self' ws: wss: blob: data: ${LINK_SOURCES}`,
  "worker-src 'self' blob:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The headers every response carries (CSP above, no sniffing, no framing, no referrer, isolation). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/**
 * Puts {@link SECURITY_HEADERS} on every response. Two places, because responses leave by
 * two doors: the raw 'request' listener runs before Fastify's own handler and sets them on
 * the Node response itself, so answers Fastify writes without its hooks (a malformed URL's
 * 400, the 503 while closing) carry them too; the onSend hook covers replies built outside
 * a 'request' event (WebSocket upgrades that are refused). Raw socket answers (timeouts,
 * unparsable requests) add them in http/connections.ts.
 */
export function securityHeaders(app: FastifyInstance): void {
  app.server.prependListener('request', (_req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });
}
