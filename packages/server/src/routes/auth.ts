/** Accounts: register, login, logout, me. */
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import {
  PASSWORD_MAX,
  PASSWORD_MIN,
  SESSION_COOKIE,
  USERNAME_PATTERN,
  Credentials,
  SessionInfo,
} from '@clipchat/protocol';
import { ApiError } from '../errors';
import {
  CSRF_COOKIE,
  DUMMY_HASH,
  hashPassword,
  hashToken,
  newToken,
  verifyPassword,
  authenticate,
} from '../http/auth';
import type { User } from '../store/types';
import { created, requireAuth, type Ctx } from './context';

const USERNAME_RE = new RegExp(USERNAME_PATTERN);

/**
 * Both cookies: the whole site, SameSite=Lax, Secure behind HTTPS (`--secure-cookies`);
 * the session one HttpOnly (the CSRF one is read by the page, to echo in X-CSRF-Token).
 */
const cookieOptions = (
  secure: boolean,
  maxAge: number,
  httpOnly = false,
): CookieSerializeOptions => ({
  path: '/',
  sameSite: 'lax',
  maxAge,
  httpOnly,
  secure,
});

export default async function authRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  async function startSession(reply: FastifyReply, user: User): Promise<SessionInfo> {
    const token = newToken();
    const csrfToken = newToken();
    const now = Date.now();
    const expiresAt = now + ctx.sessionTtlMs;
    await ctx.store.createSession({
      tokenHash: hashToken(token),
      userId: user.id,
      csrfToken,
      createdAt: now,
      expiresAt,
    });
    const maxAgeSec = Math.floor(ctx.sessionTtlMs / 1000);
    reply.setCookie(SESSION_COOKIE, token, cookieOptions(ctx.secureCookies, maxAgeSec, true));
    reply.setCookie(CSRF_COOKIE, csrfToken, cookieOptions(ctx.secureCookies, maxAgeSec));
    return { user: { id: user.id, username: user.username }, token, csrfToken, expiresAt };
  }

  app.post<{ Body: Credentials }>(
    '/api/auth/register',
    {
      bodyLimit: 4096,
      schema: {
        summary: 'Create an account and log in',
        body: Credentials,
        response: { 201: SessionInfo },
      },
    },
    async (req, reply) => {
      await ctx.limiter.take('register', req.ip);
      const username = req.body.username.toLowerCase();
      if (!USERNAME_RE.test(username)) {
        throw new ApiError(
          'ERR_INVALID_USERNAME',
          `username ${JSON.stringify(req.body.username).slice(0, 80)} is not allowed: 2–32 of a–z, 0–9, _ . - starting with a letter or digit`,
          'username',
        );
      }
      const { password } = req.body;
      if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
        throw new ApiError(
          'ERR_WEAK_PASSWORD',
          `password must be ${PASSWORD_MIN}–${PASSWORD_MAX} characters, got ${password.length}`,
          'password',
        );
      }
      const user = await ctx.store.createUser({
        id: randomUUID(),
        username,
        passwordHash: await hashPassword(password),
        createdAt: Date.now(),
      });
      if (!user)
        throw new ApiError(
          'ERR_USERNAME_TAKEN',
          `username ${JSON.stringify(username)} is taken`,
          'username',
        );
      req.log.info({ userId: user.id }, 'user registered');
      return created(reply, await startSession(reply, user));
    },
  );

  app.post<{ Body: Credentials }>(
    '/api/auth/login',
    {
      bodyLimit: 4096,
      schema: {
        summary: 'Log in: sets the session cookie and returns a bearer token',
        body: Credentials,
        response: { 200: SessionInfo },
      },
    },
    async (req, reply) => {
      await ctx.limiter.take('login', req.ip);
      const username = req.body.username.toLowerCase();
      // Per account, from any address: refused while backing off, before any password work;
      // unknown usernames back off the same way, so the answer says nothing about existence.
      await ctx.limiter.loginAttempt(username);
      const found = await ctx.store.findUserByName(username);
      // Verify against a dummy hash for unknown users so both failures look and take the same.
      const ok = await verifyPassword(req.body.password, found?.passwordHash ?? DUMMY_HASH);
      if (!found || !ok) throw new ApiError('ERR_BAD_CREDENTIALS', 'wrong username or password');
      await ctx.limiter.loginSucceeded(username);
      return startSession(reply, {
        id: found.id,
        username: found.username,
        createdAt: found.createdAt,
      });
    },
  );

  app.post(
    '/api/auth/logout',
    { schema: { summary: 'End this session (cookie or bearer)' } },
    async (req, reply) => {
      const auth = await requireAuth(ctx, req);
      await ctx.store.deleteSession(hashToken(auth.token));
      await ctx.im.bus.publish({
        type: 'logout',
        userId: auth.user.id,
        tokenHash: hashToken(auth.token),
      });
      reply.setCookie(SESSION_COOKIE, '', cookieOptions(ctx.secureCookies, 0, true));
      reply.setCookie(CSRF_COOKIE, '', cookieOptions(ctx.secureCookies, 0));
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/auth/me',
    { schema: { summary: 'Who I am, and the CSRF token of this session' } },
    async (req) => {
      const auth = await authenticate(ctx.store, req);
      return {
        user: { id: auth.user.id, username: auth.user.username },
        csrfToken: auth.session.csrfToken,
        expiresAt: auth.session.expiresAt,
      };
    },
  );
}
