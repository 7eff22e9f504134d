/**
 * Passwords (scrypt), sessions (random token; only its sha256 is stored) and request
 * authentication by `Authorization: Bearer` or the session cookie. Cookie-authenticated
 * mutations must carry `X-CSRF-Token` equal to the session's CSRF token (double submit:
 * the token is also in the readable `clipchat_csrf` cookie and in the login response).
 */
import {
  randomBytes,
  scrypt as scryptCb,
  createHash,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { CSRF_HEADER, SESSION_COOKIE } from '@clipchat/protocol';
import type { Session, Store, User } from '../store/types';
import { ApiError } from '../errors';

export const CSRF_COOKIE = 'clipchat_csrf';

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

function scrypt(
  password: string,
  salt: Buffer,
  keylen: number,
  opts: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, opts, (e, k) => (e ? reject(e) : resolve(k))),
  );
}

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keylen, {
    N: SCRYPT.N,
    r: SCRYPT.r,
    p: SCRYPT.p,
  });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Checks a password against {@link hashPassword} output, in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), want.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(want, got);
}

/** A hash to burn the same time when the user does not exist (same error, same timing). */
export const DUMMY_HASH =
  'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The authenticated caller of a request. */
export interface Auth {
  user: User;
  session: Session;
  /** How the token came: bearer header or cookie (only cookies need CSRF checks). */
  via: 'bearer' | 'cookie';
  token: string;
}

function safeEq(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Finds the token of a request: bearer header first, then the session cookie. */
function tokenOf(req: FastifyRequest): { token: string; via: 'bearer' | 'cookie' } | null {
  const h = req.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    return m ? { token: m[1]!, via: 'bearer' } : null;
  }
  const c = req.cookies[SESSION_COOKIE]; // parsed by @fastify/cookie
  return c ? { token: c, via: 'cookie' } : null;
}

/** Resolves the caller or throws ERR_UNAUTHENTICATED. Does not check CSRF. */
export async function authenticate(store: Store, req: FastifyRequest): Promise<Auth> {
  const t = tokenOf(req);
  if (!t)
    throw new ApiError('ERR_UNAUTHENTICATED', 'log in first: no session cookie or bearer token');
  const session = await store.getSession(hashToken(t.token), Date.now());
  const user = session && (await store.getUser(session.userId));
  if (!session || !user)
    throw new ApiError('ERR_UNAUTHENTICATED', 'the session is unknown or expired; log in again');
  return { user, session, via: t.via, token: t.token };
}

/** Throws ERR_CSRF when a cookie-authenticated mutation lacks the matching header. */
export function checkCsrf(req: FastifyRequest, auth: Auth): void {
  if (
    auth.via !== 'cookie' ||
    req.method === 'GET' ||
    req.method === 'HEAD' ||
    req.method === 'OPTIONS'
  )
    return;
  const h = req.headers[CSRF_HEADER];
  if (typeof h !== 'string' || !safeEq(h, auth.session.csrfToken)) {
    throw new ApiError(
      'ERR_CSRF',
      `cookie-authenticated requests that change state need the ${CSRF_HEADER} header from login`,
    );
  }
}
