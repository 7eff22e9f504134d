/**
 * The server's REST API as the web app uses it. Every call sends the session cookie and,
 * on mutations, the CSRF token the server handed out at login (double-submit).
 */
import {
  CSRF_HEADER,
  type MessageResult,
  type SearchResult,
  type SendMessage,
} from '@clipchat/protocol';
import type {
  Conversation,
  MediaMeta,
  Message,
  MessagePage,
  SessionInfo,
  Sticker,
  User,
} from './types';

/** An API failure with what the UI needs to explain it. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Setting or argument at fault, when the server names one. */
  readonly field?: string;
  /** Seconds to wait before retrying, from `Retry-After`. */
  readonly retryAfter?: number;
  constructor(status: number, code: string, message: string, field?: string, retryAfter?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
  /** True when the server could not be reached at all (offline, server down). */
  get offline(): boolean {
    return this.status === 0;
  }
}

const CSRF_KEY = 'clipchat.csrf';

/** The session's CSRF token: the readable `clipchat_csrf` cookie, else the one from login. */
export function csrfToken(): string | null {
  const fromCookie = /(?:^|;\s*)clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1];
  return fromCookie ? decodeURIComponent(fromCookie) : localStorage.getItem(CSRF_KEY);
}

async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<T> {
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  let payload: BodyInit | undefined;
  if (body instanceof Blob || body instanceof Uint8Array) payload = body as BodyInit;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  if (method !== 'GET') {
    const t = csrfToken();
    if (t) h[CSRF_HEADER] = t;
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: h,
      body: payload,
      credentials: 'same-origin',
      signal,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(
      0,
      'ERR_OFFLINE',
      'Cannot reach the Clipchat server. Check your connection; nothing you typed is lost.',
    );
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const err = (
      json as { error?: { code?: string; message?: string; field?: string } } | undefined
    )?.error;
    const ra = Number(res.headers.get('retry-after'));
    throw new ApiError(
      res.status,
      err?.code ?? `HTTP_${res.status}`,
      err?.message ?? (text || res.statusText),
      err?.field,
      Number.isFinite(ra) && ra > 0 ? ra : undefined,
    );
  }
  return json as T;
}

function remember(r: SessionInfo): User {
  if (r.csrfToken) localStorage.setItem(CSRF_KEY, r.csrfToken);
  return r.user;
}

export const api = {
  register: async (username: string, password: string) =>
    remember(await request<SessionInfo>('POST', '/api/auth/register', { username, password })),
  login: async (username: string, password: string) =>
    remember(await request<SessionInfo>('POST', '/api/auth/login', { username, password })),
  logout: async () => {
    await request('POST', '/api/auth/logout').catch(() => {});
    localStorage.removeItem(CSRF_KEY);
  },
  /** The signed-in user, or null when the session is gone. */
  me: async (): Promise<User | null> => {
    try {
      return remember(await request<SessionInfo>('GET', '/api/auth/me'));
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404))
        return null;
      throw e;
    }
  },
  conversations: async () =>
    unwrap<Conversation[]>(await request('GET', '/api/conversations'), 'conversations'),
  createConversation: async (body: {
    kind?: 'direct' | 'group';
    members: string[];
    title?: string;
  }) => unwrapOne<Conversation>(await request('POST', '/api/conversations', body), 'conversation'),
  messages: async (conversationId: string, before?: number, limit = 50) =>
    request<MessagePage>(
      'GET',
      `/api/conversations/${encodeURIComponent(conversationId)}/messages?limit=${limit}${before ? `&before=${before}` : ''}`,
    ),
  /** The page of history centred on `seq` (`around`) or following it (`after`). */
  messagesAt: async (
    conversationId: string,
    at: { around: number } | { after: number },
    limit = 50,
  ) =>
    request<MessagePage>(
      'GET',
      `/api/conversations/${encodeURIComponent(conversationId)}/messages?limit=${limit}&${'around' in at ? `around=${at.around}` : `after=${at.after}`}`,
    ),
  /** Adds people to a group (its admin only); the group as it now is. */
  addMembers: async (conversationId: string, members: string[]) =>
    request<Conversation>(
      'POST',
      `/api/conversations/${encodeURIComponent(conversationId)}/members`,
      { members },
    ),
  /** Removes a member (the admin), or me (leave). */
  removeMember: (conversationId: string, username: string) =>
    request<void>(
      'DELETE',
      `/api/conversations/${encodeURIComponent(conversationId)}/members/${encodeURIComponent(username)}`,
    ),
  /** Renames a group (any member); the group as it now is. */
  renameConversation: async (conversationId: string, title: string) =>
    request<Conversation>('PATCH', `/api/conversations/${encodeURIComponent(conversationId)}`, {
      title,
    }),
  /** Messages of my conversations (or of one) holding every word of `q`, newest first. */
  search: async (q: string, signal?: AbortSignal, conversationId?: string) =>
    (
      await request<SearchResult>(
        'GET',
        `/api/search?${new URLSearchParams({ q, ...(conversationId ? { conversationId } : {}) })}`,
        undefined,
        {},
        signal,
      )
    ).messages,
  postMessage: async (conversationId: string, body: SendMessage) =>
    unwrapOne<Message>(
      await request(
        'POST',
        `/api/conversations/${encodeURIComponent(conversationId)}/messages`,
        body,
      ),
      'message',
    ),
  /** New text for a text message of mine; the message as it now is. */
  editMessage: async (id: string, text: string) =>
    (await request<MessageResult>('PATCH', `/api/messages/${encodeURIComponent(id)}`, { text }))
      .message,
  /** Deletes a message of mine for everyone; the tombstone (or nothing on a 204). */
  deleteMessage: async (id: string) =>
    (await request<MessageResult | undefined>('DELETE', `/api/messages/${encodeURIComponent(id)}`))
      ?.message,
  /** Adds my reaction (idempotent); the message as it now is. */
  react: async (id: string, emoji: string) =>
    (
      await request<MessageResult | undefined>(
        'PUT',
        `/api/messages/${encodeURIComponent(id)}/reactions/${encodeURIComponent(emoji)}`,
      )
    )?.message,
  /** Removes my reaction; the message as it now is. */
  unreact: async (id: string, emoji: string) =>
    (
      await request<MessageResult | undefined>(
        'DELETE',
        `/api/messages/${encodeURIComponent(id)}/reactions/${encodeURIComponent(emoji)}`,
      )
    )?.message,
  upload: (bytes: Blob | Uint8Array, mime: string) =>
    request<MediaMeta>('POST', '/api/media', bytes, { 'content-type': mime }),
  /** Checks a finished resumable upload (tus) and stores it as a video. */
  finishUpload: (uploadId: string) => request<MediaMeta>('POST', '/api/media', { uploadId }),
  stickers: async () => unwrap<Sticker[]>(await request('GET', '/api/stickers'), 'stickers'),
  addSticker: async (body: { mediaId: string; name?: string; tags?: string[] }) =>
    unwrapOne<Sticker>(await request('POST', '/api/stickers', body), 'sticker'),
  deleteSticker: (id: string) => request<void>('DELETE', `/api/stickers/${encodeURIComponent(id)}`),
  getSettings: async () =>
    unwrapOne<Record<string, unknown>>(await request('GET', '/api/settings/capture'), 'settings'),
  putSettings: async (s: unknown) =>
    unwrapOne<Record<string, unknown>>(
      await request('PUT', '/api/settings/capture', s),
      'settings',
    ),
};

/** Accepts both a bare array and `{key: [...]}`. */
function unwrap<T>(r: unknown, key: string): T {
  if (Array.isArray(r)) return r as T;
  return ((r as Record<string, unknown>)?.[key] ??
    (r as Record<string, unknown>)?.items ??
    []) as T;
}
function unwrapOne<T>(r: unknown, key: string): T {
  const v = (r as Record<string, unknown>)?.[key];
  return (v && typeof v === 'object' ? v : r) as T;
}

/** URL of a media object (members only; the cookie authenticates). */
export const mediaUrl = (id: string) => `/media/${encodeURIComponent(id)}`;
