/** What every route plugin gets: the store, the messaging core, limits and helpers. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/types';
import type { ImService } from '../im/service';
import type { PresenceService } from '../im/presence';
import type { RateLimiter } from '../http/ratelimit';
import type { MediaLimits, VideoLimits } from '../config';
import { ErrorSchema, IdParams } from '@clipchat/protocol';
import { authenticate, checkCsrf, type Auth } from '../http/auth';

export interface Ctx {
  store: Store;
  im: ImService;
  presence: PresenceService;
  limiter: RateLimiter;
  media: MediaLimits;
  video: VideoLimits;
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

/** Schema fragments reused by routes (from the protocol's wire schema). */
export const S = { error: ErrorSchema, idParams: IdParams } as const;
