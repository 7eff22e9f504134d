/** What every route plugin gets: the store, the messaging core, limits and helpers. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/types';
import type { ImService } from '../im/service';
import type { RateLimiter } from '../http/ratelimit';
import type { MediaLimits } from '../config';
import { authenticate, checkCsrf, type Auth } from '../http/auth';

export interface Ctx {
  store: Store;
  im: ImService;
  limiter: RateLimiter;
  media: MediaLimits;
  sessionTtlMs: number;
  secureCookies: boolean;
}

/** Authenticates the request (and checks CSRF for cookie mutations); throws catalogue errors. */
export async function requireAuth(ctx: Ctx, req: FastifyRequest): Promise<Auth> {
  const auth = await authenticate(ctx.store, req);
  checkCsrf(req, auth);
  return auth;
}

/** Sets the status and returns the body (for `return created(reply, x)`). */
export function created<T>(reply: FastifyReply, body: T): T {
  reply.code(201);
  return body;
}

/** JSON-schema fragments reused by routes. */
export const S = {
  error: {
    type: 'object',
    properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' }, retryAfter: { type: 'number' } }, required: ['code', 'message'] } },
  },
  idParams: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id'] },
} as const;

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI description at /api/docs. */
    summary?: string;
  }
}
