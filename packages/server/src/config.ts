/** Configuration of {@link createServer}. Every field but `dataDir` has a default. */
import type { FastifyServerOptions } from 'fastify';
import type { Store } from './store/types';
import type { Bus } from './bus/types';
import type { LimitStore } from './http/limit-store';
import { DEFAULT_EDIT_WINDOW_MS } from '@clipchat/protocol';

/** A token bucket: at most `limit` actions per `windowMs`, refilled continuously. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** Rate limits per action. Login/register count per client IP; send/upload per user. */
export interface RateLimits {
  login: RateLimit;
  register: RateLimit;
  /** `POST /api/conversations` (direct or group, new or existing), per user. */
  createConversation: RateLimit;
  /** New groups one user can be made a member of by others, per added user. */
  addedToGroup: RateLimit;
  /** `POST /api/stickers`, per user. */
  saveSticker: RateLimit;
  /** Read receipts (REST `POST …/read` and WebSocket `read` together), per user. */
  markRead: RateLimit;
  /** Delivery receipts (WebSocket `delivered`), per user. */
  markDelivered: RateLimit;
  /** Adding or removing group members and renaming groups, per user. */
  changeMembers: RateLimit;
  /** `GET /api/search`, per user. */
  search: RateLimit;
  send: RateLimit;
  upload: RateLimit;
  /** WebSocket `sync` requests per user (each answers one bounded page). */
  sync: RateLimit;
  /** Changes to existing messages (react, unreact, edit, delete) per user. */
  changeMessage: RateLimit;
  /** WebSocket `watch` frames (play, pause, seek of a shared video, for followers) per user. */
  watch: RateLimit;
}

/** Caps on uploads. Defaults refuse decompression bombs while admitting any sane sticker. */
export interface MediaLimits {
  /** Largest upload, bytes (default 8 MiB). */
  maxBytes: number;
  /** Largest side of a frame, pixels (default 8192). */
  maxSide: number;
  /** Most pixels in one frame (default 40 000 000). */
  maxPixels: number;
  /** Most frames in an animation (default 1000). */
  maxFrames: number;
  /**
   * Most pixels over all frames (canvas × frames; default 32 000 000), i.e. the decode work
   * we accept. Sized on the stickers Clipchat makes: the largest preset (Telegram, 512×512,
   * 3 s at 30 fps) is 23.6 million, a WhatsApp one (512×512, 6 s at 12 fps) 18.9 million, a
   * default sticker (480×270, 6 s at 12 fps) 9.3 million. Decoding 32 million takes about
   * 2–3 s of one core; the old 150 million cost 10–13 s and ~700 MB per animated WebP or GIF.
   */
  maxTotalPixels: number;
  /** Longest a video probe may take, ms (default 10 000). */
  probeTimeoutMs: number;
  /**
   * Largest side of any frame of an animation (GIF, animated WebP, APNG, WebM), pixels
   * (default 2048): a sticker side is at most 1920 (capture's `maxSide`). Stills keep `maxSide`.
   */
  maxAnimationSide: number;
  /** Most scans in a progressive JPEG (default 64; encoders write about 10): each scan re-walks the whole frame. */
  maxJpegScans: number;
  /** Decodes running at once, each in its own niced single-threaded process (default 2). */
  decodeConcurrency: number;
  /** Decodes that may wait for a slot (default 8); more get 503 `ERR_MEDIA_BUSY` with `retryAfter`. */
  decodeQueue: number;
  /**
   * CPU time one upload's decode may use once it has a slot, ms (default 5000; wall time at most 6×
   * that); then 422 `ERR_MEDIA_LIMITS`.
   */
  decodeTimeoutMs: number;
  /** Upload bodies being received or checked at once, server-wide (default 16, i.e. ≤ 128 MiB buffered). */
  uploadsInFlight: number;
  /** Upload bodies being received or checked at once per user (default 2); more get 429. */
  uploadsInFlightPerUser: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  login: { limit: 20, windowMs: 60_000 },
  register: { limit: 10, windowMs: 60_000 },
  createConversation: { limit: 20, windowMs: 60_000 },
  addedToGroup: { limit: 20, windowMs: 3_600_000 },
  saveSticker: { limit: 30, windowMs: 60_000 },
  markRead: { limit: 60, windowMs: 10_000 },
  markDelivered: { limit: 60, windowMs: 10_000 },
  search: { limit: 30, windowMs: 60_000 },
  changeMembers: { limit: 30, windowMs: 60_000 },
  send: { limit: 60, windowMs: 1_000 },
  upload: { limit: 30, windowMs: 60_000 },
  sync: { limit: 10, windowMs: 2_000 },
  changeMessage: { limit: 60, windowMs: 10_000 },
  watch: { limit: 30, windowMs: 5_000 },
};

/** Rules of changing sent messages. */
export interface MessageRules {
  /** How long after sending its sender may edit a text message, ms (default 48 h). */
  editWindowMs: number;
}

export const DEFAULT_MESSAGE_RULES: MessageRules = { editWindowMs: DEFAULT_EDIT_WINDOW_MS };

/**
 * Per-account login backoff: after `freeFailures` failed logins for one username (from any
 * address, on any node), each further attempt must wait `baseMs`, then twice that, … up to
 * `maxMs`; a success clears it, and so do `forgetMs` without an attempt.
 */
export interface LoginBackoff {
  freeFailures: number;
  baseMs: number;
  maxMs: number;
  forgetMs: number;
}

export const DEFAULT_LOGIN_BACKOFF: LoginBackoff = {
  freeFailures: 5,
  baseMs: 1_000,
  maxMs: 300_000,
  forgetMs: 3_600_000,
};

export const DEFAULT_MEDIA_LIMITS: MediaLimits = {
  maxBytes: 8 * 1024 * 1024,
  maxSide: 8192,
  maxPixels: 40_000_000,
  maxFrames: 1000,
  maxTotalPixels: 32_000_000,
  probeTimeoutMs: 10_000,
  maxAnimationSide: 2048,
  maxJpegScans: 64,
  decodeConcurrency: 2,
  decodeQueue: 8,
  decodeTimeoutMs: 5000,
  uploadsInFlight: 16,
  uploadsInFlightPerUser: 2,
};

/**
 * Limits of shared videos: resumable uploads (tus 1.0 at `/api/uploads`), their checks
 * (`POST /api/media {uploadId}`) and playback. See docs/deploy.md.
 */
export interface VideoLimits {
  /** Largest video upload, bytes (default 2 GiB); a larger `Upload-Length` is refused before anything is stored. */
  maxBytes: number;
  /** Storage one user may hold: their stored media plus unfinished uploads, bytes (default 10 GiB). */
  quotaBytes: number;
  /** Unfinished uploads one user may have at once (default 4). */
  pendingUploadsPerUser: number;
  /** Requests sending upload bytes at once, server-wide (default 16). */
  uploadsInFlight: number;
  /** Requests sending upload bytes at once per user (default 2); more get 429. */
  uploadsInFlightPerUser: number;
  /** An unfinished upload untouched for this long is deleted, ms (default 24 h). */
  uploadExpiryMs: number;
  /** Largest side of a video, pixels (default 7680). */
  maxSide: number;
  /** Longest video, seconds (default 6 h). */
  maxDurationSeconds: number;
  /** Videos being checked and given a poster at once (default 2); more get 503 `ERR_MEDIA_BUSY`. */
  probeConcurrency: number;
}

export const DEFAULT_VIDEO_LIMITS: VideoLimits = {
  maxBytes: 2 * 1024 ** 3,
  quotaBytes: 10 * 1024 ** 3,
  pendingUploadsPerUser: 4,
  uploadsInFlight: 16,
  uploadsInFlightPerUser: 2,
  uploadExpiryMs: 24 * 3600_000,
  maxSide: 7680,
  maxDurationSeconds: 6 * 3600,
  probeConcurrency: 2,
};

/**
 * Timeouts and connection caps of the HTTP edge: a client that trickles its request or
 * holds connections open cannot pin the node's sockets and descriptors. See docs/deploy.md.
 */
export interface HttpLimits {
  /** Longest wait for a request's headers, from the connection's first byte (or its opening), ms (default 10 000). */
  headersTimeoutMs: number;
  /**
   * Longest wait for a whole request, headers and body, ms (default 60 000: an 8 MiB upload
   * needs ≥ 140 KB/s). A tus `PATCH` is bound by it too: clients send videos in chunks
   * (the web app: 16 MiB) and resume from the offset when one is cut.
   */
  requestTimeoutMs: number;
  /**
   * A connection with no traffic either way for this long is closed, ms (default 60 000); upgraded
   * WebSockets are exempt.
   */
  idleTimeoutMs: number;
  /** How long a keep-alive connection may wait for its next request, ms (default 10 000). */
  keepAliveTimeoutMs: number;
  /**
   * Most connections open at once from one peer address (default 64; 0 = no cap). With
   * `trustProxy` the peer is the proxy, so the default becomes 0 and the proxy must cap.
   */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 10_000,
  maxConnectionsPerAddress: 64,
};

/**
 * Push-back past capacity (im/overload.ts): while the node is behind, sends are refused
 * at once with `ERR_UNAVAILABLE` and `retryAfter` instead of queuing without bound. A
 * criterion set to 0 is off.
 */
export interface OverloadLimits {
  /** Refuse sends while the event loop ran this late in the last 0.5 s, ms (default 250). */
  maxLagMs: number;
  /** Refuse sends while a message has waited this long to be written, ms (default 1000). */
  maxQueuedMs: number;
  /** `retryAfter` of a refusal, s (default 1). */
  retryAfterSec: number;
}

export const DEFAULT_OVERLOAD_LIMITS: OverloadLimits = {
  maxLagMs: 250,
  maxQueuedMs: 1000,
  retryAfterSec: 1,
};

/** The overload limits from defaults and `given`; throws RangeError for unusable values. */
export function overloadLimits(given: Partial<OverloadLimits>): OverloadLimits {
  const out = { ...DEFAULT_OVERLOAD_LIMITS };
  for (const [k, v] of Object.entries(given) as [keyof OverloadLimits, unknown][]) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_OVERLOAD_LIMITS))
      throw new RangeError(`overload.${k} is not a setting (maxLagMs, maxQueuedMs, retryAfterSec)`);
    const min = k === 'retryAfterSec' ? 1 : 0;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
      throw new RangeError(
        `overload.${k} must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`,
      );
    out[k] = v;
  }
  return out;
}

/** Bounds of the WebSocket channel: sockets per user, send buffers, sync pages. */
export interface WsLimits {
  /** Open sockets per user, counted over all nodes (Redis) or this node (default 20). */
  maxSocketsPerUser: number;
  /** Unsent bytes after which a socket is closed with 1013 (default 4 MiB). */
  maxBufferedBytes: number;
  /** A `sync` stops producing while this many bytes wait unsent on its socket (default 256 KiB). */
  syncInFlightBytes: number;
  /** How long a `sync` waits for its socket to drain before closing it with 1013, ms (default 10 000). */
  slowConsumerMs: number;
  /** Most messages of one conversation in one sync page (default 500). */
  syncPagePerConversation: number;
  /** Most messages in one sync page over all conversations (default 1000). */
  syncPageMessages: number;
  /** Most message bytes (JSON) in one sync page (default 512 KiB). */
  syncPageBytes: number;
  /**
   * Heartbeat expiry of a socket in the shared count: a crashed node's sockets are forgotten after
   * it, ms (default 30 000).
   */
  socketTtlMs: number;
  /** Most `ping` frames one socket has answered in 10 s; more are dropped unanswered (default 50). */
  maxPingsPer10s: number;
}

export const DEFAULT_WS_LIMITS: WsLimits = {
  maxSocketsPerUser: 20,
  maxBufferedBytes: 4 * 1024 * 1024,
  syncInFlightBytes: 256 * 1024,
  slowConsumerMs: 10_000,
  syncPagePerConversation: 500,
  syncPageMessages: 1000,
  syncPageBytes: 512 * 1024,
  socketTtlMs: 30_000,
  maxPingsPer10s: 50,
};

export interface ServerConfig {
  /** Folder of the SQLite file and media (SQLite backend). Created when missing. */
  dataDir: string;
  /** A Store, or `'sqlite'` (default) for SQLite in `dataDir`. The server closes it on close(). */
  store?: Store | 'sqlite';
  /** Delivery between nodes; default: in-process (one node). The server closes it on close(). */
  bus?: Bus;
  /** Fastify/pino logger option (default: info-level JSON logs to stdout); `false` silences. */
  logger?: FastifyServerOptions['logger'];
  /** Override some limits, or `false` to disable rate limiting (benchmarks). */
  rateLimits?: Partial<RateLimits> | false;
  /** Per-account login backoff (overrides), or `false` to turn it off; `rateLimits: false` turns it off too. */
  loginBackoff?: Partial<LoginBackoff> | false;
  /**
   * Where limit counters live; default: this process. A Redis one shares limits between nodes. The
   * server closes it.
   */
  limitStore?: LimitStore;
  media?: Partial<MediaLimits>;
  /** Shared-video limits (upload cap, per-user quota, uploads in flight); see {@link VideoLimits}. */
  video?: Partial<VideoLimits>;
  /** Folder of the built web app (index.html + assets) to serve; absent or missing folder: API only. */
  webRoot?: string | null;
  /** Session lifetime, ms (default 30 days). */
  sessionTtlMs?: number;
  /**
   * On close (SIGTERM): how long the node waits for the acks of sends it already read
   * before closing its sockets with 1012 (reconnect elsewhere), ms (default 5000).
   */
  drainMs?: number;
  /** Mark cookies `Secure` (set when served over HTTPS). Default false. */
  secureCookies?: boolean;
  /**
   * Trust X-Forwarded-* (behind a reverse proxy), as Fastify's `trustProxy`: a number of
   * proxy hops in front of the node (1: one proxy that appends the client's address; the
   * address that many entries from the right of X-Forwarded-For is the client), addresses
   * or CIDRs of trusted proxies, or `true` (trust every hop: the left-most entry, which a
   * client can forge; only when the proxy overwrites the header). Default false.
   */
  trustProxy?: boolean | number | string | string[];
  /** Timeouts and per-address connection cap of the HTTP edge; defaults in {@link DEFAULT_HTTP_LIMITS}. */
  http?: Partial<HttpLimits>;
  /** SQLite durability: `full` (default) survives power loss; `normal` only process crashes. */
  sqliteSynchronous?: 'full' | 'normal';
  /** Largest batch of messages written in one transaction (default 2000). */
  maxBatch?: number;
  /** WebSocket bounds (sockets per user, send buffer, sync pages); see {@link WsLimits}. */
  ws?: Partial<WsLimits>;
  /** Push-back past capacity; see {@link OverloadLimits}. */
  overload?: Partial<OverloadLimits>;
  /** Rules of edits and deletes (edit window); see {@link MessageRules}. */
  messages?: Partial<MessageRules>;
}
