/** The server's error type and the mapping of any thrown error to the one catalogue. */
import { ERRORS, type ErrorBody, type ErrorCode } from '@clipchat/protocol';

/** An error with a catalogue code; the error handler turns it into `{error: {code, message}}`. */
export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = ERRORS[code].status;
  }
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'ERR_BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'ERR_BAD_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'ERR_UNSUPPORTED_MEDIA',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'ERR_VALIDATION',
  FST_ERR_CTP_INVALID_TYPE: 'ERR_VALIDATION',
  FST_ERR_VALIDATION: 'ERR_VALIDATION',
};

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'ERR_VALIDATION',
  401: 'ERR_UNAUTHENTICATED',
  403: 'ERR_FORBIDDEN',
  404: 'ERR_NOT_FOUND',
  413: 'ERR_PAYLOAD_TOO_LARGE',
  415: 'ERR_UNSUPPORTED_MEDIA',
  429: 'ERR_RATE_LIMITED',
  503: 'ERR_UNAVAILABLE',
};

/** Seconds a client is asked to wait before resending when storage is unreachable. */
const UNAVAILABLE_RETRY_AFTER_S = 2;

// Node socket errors when the database (or Redis) cannot be reached or drops the connection.
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// File-system errors of a full, read-only or failing disk (media files, SQLite's own I/O).
const DISK_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EMFILE', 'ENFILE']);
// PostgreSQL SQLSTATEs: 08 connection exception, 57P01–03 shutting down / cannot connect
// now, 53 insufficient resources (disk full, out of memory, too many connections), 58 I/O.
const PG_STATES = /^(08[0-9A-Z]{3}|57P0[123]|53[0-9A-Z]{3}|58[0-9A-Z]{3})$/;
// SQLite result codes (extended ones too, e.g. SQLITE_IOERR_WRITE) of a disk that went away.
const SQLITE_CODES = /^SQLITE_(IOERR|FULL|READONLY|CANTOPEN|BUSY|NOMEM)/;
// node-postgres and ioredis report a dropped or unusable connection by message only.
const CONN_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Connection is closed|Stream isn't writeable|pool after calling end/i;

/**
 * Which storage went away, when `err` says the database, Redis or the disk cannot be used
 * right now (as opposed to a fault in Clipchat); null otherwise. Looks into
 * AggregateError.errors and `cause`, where Node and the drivers nest the socket error.
 */
function unavailableCause(err: unknown, depth = 0): 'database' | 'disk' | null {
  if (!err || typeof err !== 'object' || depth > 3) return null;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (SQLITE_CODES.test(code) || DISK_CODES.has(code)) return 'disk';
  if (NET_CODES.has(code) || PG_STATES.test(code)) return 'database';
  if (typeof e.message === 'string' && CONN_MESSAGES.test(e.message)) return 'database';
  for (const inner of [...(Array.isArray(e.errors) ? (e.errors as unknown[]) : []), e.cause]) {
    const c = unavailableCause(inner, depth + 1);
    if (c) return c;
  }
  return null;
}

/**
 * Maps anything thrown to a status and catalogue body. Storage that is unreachable (see
 * {@link unavailableCause}) becomes 503 ERR_UNAVAILABLE with `retryAfter`; other unknown
 * faults become ERR_INTERNAL without details.
 */
export function toErrorBody(err: unknown): {
  status: number;
  body: ErrorBody;
  retryAfter?: number;
} {
  if (err instanceof ApiError) {
    const e: ErrorBody['error'] = { code: err.code, message: err.message };
    if (err.field) e.field = err.field;
    if (err.retryAfter !== undefined) e.retryAfter = err.retryAfter;
    return { status: err.statusCode, body: { error: e }, retryAfter: err.retryAfter };
  }
  const e = err as {
    code?: string;
    statusCode?: number;
    message?: string;
    validation?: unknown[];
    validationContext?: string;
  };
  if (e && e.code === 'ERR_INVALID_SETTING') {
    const f = (err as { field?: string }).field;
    return {
      status: 400,
      body: {
        error: {
          code: 'ERR_INVALID_SETTING',
          message: e.message ?? 'invalid setting',
          ...(f ? { field: f } : {}),
        },
      },
    };
  }
  if (e && Array.isArray(e.validation)) {
    return {
      status: 400,
      body: { error: { code: 'ERR_VALIDATION', message: e.message ?? 'invalid request' } },
    };
  }
  if (e && e.code && FASTIFY_CODES[e.code]) {
    const code = FASTIFY_CODES[e.code]!;
    return {
      status: ERRORS[code].status,
      body: { error: { code, message: e.message ?? ERRORS[code].meaning } },
    };
  }
  const status = e?.statusCode;
  if (status && status >= 400 && status < 500) {
    const code = BY_STATUS[status] ?? 'ERR_VALIDATION';
    return {
      status: ERRORS[code].status,
      body: { error: { code, message: e.message ?? ERRORS[code].meaning } },
    };
  }
  const cause = unavailableCause(err);
  if (cause) {
    const retryAfter = UNAVAILABLE_RETRY_AFTER_S;
    const what =
      cause === 'disk' ? 'the data disk is full or failing' : 'the database cannot be reached';
    return {
      status: 503,
      retryAfter,
      body: {
        error: {
          code: 'ERR_UNAVAILABLE',
          message: `storage is unavailable (${what}); retry in ${retryAfter} s — a resend with the same clientId is never stored twice`,
          retryAfter,
        },
      },
    };
  }
  return {
    status: 500,
    body: { error: { code: 'ERR_INTERNAL', message: 'internal error; nothing was stored' } },
  };
}
