/** The server's error type and the mapping of any thrown error to the one catalogue. */
import { ERRORS, type ErrorBody, type ErrorCode } from '@clipchat/protocol';

/** An error with a catalogue code; the error handler turns it into `{error: {code, message}}`. */
export class ApiError extends Error {
  readonly statusCode: number;
  constructor(readonly code: ErrorCode, message: string, readonly field?: string, readonly retryAfter?: number) {
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
  400: 'ERR_VALIDATION', 401: 'ERR_UNAUTHENTICATED', 403: 'ERR_FORBIDDEN', 404: 'ERR_NOT_FOUND',
  413: 'ERR_PAYLOAD_TOO_LARGE', 415: 'ERR_UNSUPPORTED_MEDIA', 429: 'ERR_RATE_LIMITED', 503: 'ERR_UNAVAILABLE',
};

/** Maps anything thrown to a status and catalogue body. Unknown faults become ERR_INTERNAL without details. */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody; retryAfter?: number } {
  if (err instanceof ApiError) {
    const e: ErrorBody['error'] = { code: err.code, message: err.message };
    if (err.field) e.field = err.field;
    if (err.retryAfter !== undefined) e.retryAfter = err.retryAfter;
    return { status: err.statusCode, body: { error: e }, retryAfter: err.retryAfter };
  }
  const e = err as { code?: string; statusCode?: number; message?: string; validation?: unknown[]; validationContext?: string };
  if (e && e.code === 'ERR_INVALID_SETTING') {
    const f = (err as { field?: string }).field;
    return { status: 400, body: { error: { code: 'ERR_INVALID_SETTING', message: e.message ?? 'invalid setting', ...(f ? { field: f } : {}) } } };
  }
  if (e && Array.isArray(e.validation)) {
    return { status: 400, body: { error: { code: 'ERR_VALIDATION', message: e.message ?? 'invalid request' } } };
  }
  if (e && e.code && FASTIFY_CODES[e.code]) {
    const code = FASTIFY_CODES[e.code]!;
    return { status: ERRORS[code].status, body: { error: { code, message: e.message ?? ERRORS[code].meaning } } };
  }
  const status = e?.statusCode;
  if (status && status >= 400 && status < 500) {
    const code = BY_STATUS[status] ?? 'ERR_VALIDATION';
    return { status: ERRORS[code].status, body: { error: { code, message: e.message ?? ERRORS[code].meaning } } };
  }
  return { status: 500, body: { error: { code: 'ERR_INTERNAL', message: 'internal error; nothing was stored' } } };
}
