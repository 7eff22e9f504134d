/**
 * The one catalogue of Clipchat server errors. Every HTTP error body and every WebSocket
 * `error` event is `{error: {code, message}}` with a `code` from here. `docs/api.md`
 * lists the same codes (a test keeps them in step).
 */
export const ERRORS = {
  ERR_BAD_JSON: { status: 400, meaning: 'The body or WebSocket frame is not valid JSON.' },
  ERR_VALIDATION: {
    status: 400,
    meaning: 'A field is missing, has the wrong type or is out of range; the message names it.',
  },
  ERR_INVALID_USERNAME: {
    status: 400,
    meaning:
      'Usernames are 2–32 characters: a–z, 0–9, `_`, `.`, `-`, starting with a letter or digit.',
  },
  ERR_WEAK_PASSWORD: { status: 400, meaning: 'Passwords are 8–256 characters.' },
  ERR_INVALID_SETTING: {
    status: 400,
    meaning:
      'A capture setting is unknown or out of range; the message names the field, the value and what is allowed.',
  },
  ERR_UNKNOWN_TYPE: { status: 400, meaning: 'A WebSocket frame has an unknown `type`.' },
  ERR_UNAUTHENTICATED: {
    status: 401,
    meaning: 'No valid session: log in (cookie) or send `Authorization: Bearer <token>`.',
  },
  ERR_BAD_CREDENTIALS: {
    status: 401,
    meaning: 'Wrong username or password (the same error for both).',
  },
  ERR_CSRF: {
    status: 403,
    meaning: 'A cookie-authenticated mutation without a matching `X-CSRF-Token` header.',
  },
  ERR_FORBIDDEN: { status: 403, meaning: 'Authenticated, but not allowed to do this.' },
  ERR_NOT_FOUND: { status: 404, meaning: 'No such route or resource.' },
  ERR_CONVERSATION_NOT_FOUND: {
    status: 404,
    meaning: 'No such conversation, or you are not a member of it.',
  },
  ERR_USER_NOT_FOUND: {
    status: 404,
    meaning:
      'A username that does not exist (when several are given, the error does not say which).',
  },
  ERR_MEDIA_NOT_FOUND: { status: 404, meaning: 'No such media, or you may not see it.' },
  ERR_UPLOAD_NOT_FOUND: {
    status: 404,
    meaning: 'No such resumable upload of yours (unknown, expired, cancelled or already used).',
  },
  ERR_STICKER_NOT_FOUND: { status: 404, meaning: 'No such sticker in your library.' },
  ERR_MESSAGE_NOT_FOUND: {
    status: 404,
    meaning:
      'No such message, or it is in a conversation you are not a member of (also a `replyTo` naming no message of that conversation).',
  },
  ERR_TIMEOUT: {
    status: 408,
    meaning:
      "The request's headers or body did not arrive within the server's time limit; the connection is closed.",
  },
  ERR_UPLOAD_INCOMPLETE: {
    status: 409,
    meaning:
      'The resumable upload has not received all its bytes yet; finish it (tus `PATCH`) first.',
  },
  ERR_USERNAME_TAKEN: { status: 409, meaning: 'That username is already registered.' },
  ERR_NOT_EDITABLE: {
    status: 409,
    meaning:
      'The message cannot be changed that way now: it is not a text message, its edit window has passed, or it was deleted.',
  },
  ERR_TOO_MANY_REACTIONS: {
    status: 409,
    meaning:
      'The message already carries the most distinct emoji allowed (20); react with one of those.',
  },
  ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    meaning: 'The body is bigger than the route allows (uploads: 8 MiB by default).',
  },
  ERR_QUOTA_EXCEEDED: {
    status: 413,
    meaning:
      'Storing this would take you past your storage quota (default 10 GiB), or you have too many unfinished uploads; nothing was stored.',
  },
  ERR_UNSUPPORTED_MEDIA: {
    status: 415,
    meaning:
      'The upload is not a PNG, JPEG, WebP, AVIF, GIF, BMP, TIFF or WebM (judged by content, not name or type); a shared video is not an MP4, WebM, MKV or MOV with a video stream.',
  },
  ERR_CORRUPT_MEDIA: {
    status: 422,
    meaning: 'The upload looks like a supported format but does not decode (truncated or damaged).',
  },
  ERR_MEDIA_LIMITS: {
    status: 422,
    meaning: 'The upload exceeds the pixel, side or frame limits (decompression-bomb guard).',
  },
  ERR_RANGE_NOT_SATISFIABLE: {
    status: 416,
    meaning:
      'The `Range` header asks for bytes outside the media, or is malformed; `Content-Range: bytes */<size>` gives the size.',
  },
  ERR_RATE_LIMITED: {
    status: 429,
    meaning: 'Too many requests; retry after the `Retry-After` seconds (WebSocket: `retryAfter`).',
  },
  ERR_TOO_MANY_SOCKETS: {
    status: 429,
    meaning:
      'This account already has the most WebSockets open that the server allows (default 20, over all nodes); close one first.',
  },
  ERR_INTERNAL: { status: 500, meaning: 'A server fault; nothing was half-stored.' },
  ERR_MEDIA_BUSY: {
    status: 503,
    meaning:
      'Every upload decoder is busy and its queue is full, or too many uploads are in flight; retry after `retryAfter` seconds.',
  },
  ERR_UNAVAILABLE: {
    status: 503,
    meaning:
      'The server is starting or shutting down, its storage is unreachable, or it is overloaded (a send pushed back: send it again after `retryAfter` seconds).',
  },
} as const satisfies Record<string, { status: number; meaning: string }>;

/** Every error code. */
export type ErrorCode = keyof typeof ERRORS;

/** The body of every error response and the payload of every WebSocket `error` event. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    /** The field at fault, when there is one. */
    field?: string;
    /** Seconds to wait, for `ERR_RATE_LIMITED` and `ERR_UNAVAILABLE`. */
    retryAfter?: number;
  };
}

/** HTTP status of an error code. */
export function statusOf(code: ErrorCode): number {
  return ERRORS[code].status;
}

/** True when `code` is in the catalogue. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}
