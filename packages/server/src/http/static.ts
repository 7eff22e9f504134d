/**
 * Serves the built web app from `webRoot` through @fastify/static (no directory listing,
 * no path outside the root), and `index.html` for any other GET that is not an API path
 * and names no file (client-side routing). Hashed assets cache forever.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { extname, join, resolve, sep } from 'node:path';

const API_PREFIXES = ['/api/', '/media/', '/ws', '/healthz'];

/** Whether `path` belongs to the API (never answered with the app). */
const isApi = (path: string) =>
  API_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p));

/**
 * Registers the files of `root`. Returns the fallback for the not-found handler: it sends
 * `index.html` for an app route and resolves true, or resolves false (the caller sends 404).
 */
export async function registerStatic(
  app: FastifyInstance,
  root: string,
): Promise<(req: FastifyRequest, reply: FastifyReply) => Promise<boolean>> {
  const base = resolve(root);
  const assets = join(base, 'assets') + sep;
  const index = join(base, 'index.html');
  await app.register(fastifyStatic, {
    root: base,
    index: 'index.html',
    list: false,
    redirect: false,
    wildcard: true,
    cacheControl: false,
    etag: true,
    lastModified: true,
    setHeaders: (reply, file) => {
      // JavaScript as RFC 9239 names it (send's mime table says application/javascript).
      if (/\.m?js$/.test(file)) reply.type('text/javascript; charset=utf-8');
      reply.header(
        'cache-control',
        file === index
          ? 'no-cache'
          : file.startsWith(assets)
            ? 'public, max-age=31536000, immutable'
            : 'public, max-age=300',
      );
    },
  });
  return async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let path: string;
    try {
      path = decodeURIComponent(req.url.split('?')[0]!);
    } catch {
      return false;
    }
    // Unknown paths without an extension are app routes: hand them index.html.
    if (path.includes('\0') || isApi(path) || extname(path)) return false;
    await reply.sendFile('index.html');
    return true;
  };
}
