/**
 * Serves the built web app from `webRoot`: files as they are, and `index.html` for any
 * other GET that is not an API path (client-side routing). Hashed assets cache forever.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const API_PREFIXES = ['/api/', '/media/', '/ws', '/healthz'];

/** Returns a handler that serves from `root`, or false when it answers nothing (caller sends 404). */
export function staticHandler(root: string) {
  const base = resolve(root);
  return async (req: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let path: string;
    try {
      path = decodeURIComponent(req.url.split('?')[0]!);
    } catch {
      return false;
    }
    if (path.includes('\0')) return false;
    if (API_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p))) return false;
    const file = resolve(join(base, normalize(path)));
    if (file !== base && !file.startsWith(base + sep)) return false;
    let target = file;
    try {
      if (!(await stat(target)).isFile()) throw new Error('not a file');
    } catch {
      // Unknown paths without an extension are app routes: hand them index.html.
      if (extname(path)) return false;
      target = join(base, 'index.html');
    }
    let body: Buffer;
    try {
      body = await readFile(target);
    } catch {
      return false;
    }
    const isIndex = target.endsWith(`${sep}index.html`);
    reply.header(
      'cache-control',
      isIndex
        ? 'no-cache'
        : path.startsWith('/assets/')
          ? 'public, max-age=31536000, immutable'
          : 'public, max-age=300',
    );
    reply.type(TYPES[extname(target)] ?? 'application/octet-stream').send(body);
    return true;
  };
}
