/** Configuration of {@link createServer}. Every field but `dataDir` has a default. */
import type { FastifyServerOptions } from 'fastify';
import type { Store } from './store/types';
import type { Bus } from './bus/types';

/** A token bucket: at most `limit` actions per `windowMs`, refilled continuously. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** Rate limits per action. Login/register count per client IP; send/upload per user. */
export interface RateLimits {
  login: RateLimit;
  register: RateLimit;
  send: RateLimit;
  upload: RateLimit;
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
  /** Most pixels over all frames (default 150 000 000), i.e. the decode work we accept. */
  maxTotalPixels: number;
  /** Longest a video probe may take, ms (default 10 000). */
  probeTimeoutMs: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  login: { limit: 20, windowMs: 60_000 },
  register: { limit: 10, windowMs: 60_000 },
  send: { limit: 60, windowMs: 1_000 },
  upload: { limit: 30, windowMs: 60_000 },
};

export const DEFAULT_MEDIA_LIMITS: MediaLimits = {
  maxBytes: 8 * 1024 * 1024,
  maxSide: 8192,
  maxPixels: 40_000_000,
  maxFrames: 1000,
  maxTotalPixels: 150_000_000,
  probeTimeoutMs: 10_000,
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
  media?: Partial<MediaLimits>;
  /** Folder of the built web app (index.html + assets) to serve; absent or missing folder: API only. */
  webRoot?: string | null;
  /** Session lifetime, ms (default 30 days). */
  sessionTtlMs?: number;
  /** Mark cookies `Secure` (set when served over HTTPS). Default false. */
  secureCookies?: boolean;
  /** Trust X-Forwarded-* (behind a reverse proxy). Default false. */
  trustProxy?: boolean;
  /** SQLite durability: `full` (default) survives power loss; `normal` only process crashes. */
  sqliteSynchronous?: 'full' | 'normal';
  /** Largest batch of messages written in one transaction (default 2000). */
  maxBatch?: number;
}
