/**
 * @clipchat/server — the Clipchat IM server as a library: `createServer(config)`, the
 * storage and delivery contracts (Store, Bus) with their single-node implementations.
 */
export { createServer } from './server';
export type { ClipchatServer } from './server';
export {
  DEFAULT_MEDIA_LIMITS,
  DEFAULT_RATE_LIMITS,
  DEFAULT_LOGIN_BACKOFF,
  DEFAULT_HTTP_LIMITS,
} from './config';
export type {
  ServerConfig,
  RateLimit,
  RateLimits,
  LoginBackoff,
  MediaLimits,
  HttpLimits,
} from './config';
export { MemoryLimitStore } from './http/limit-store';
export type { LimitStore } from './http/limit-store';
export { parseDuration, parseLoginBackoffFlag, parseRateLimitFlag } from './http/limit-config';
export { DEFAULT_WS_LIMITS, DEFAULT_VIDEO_LIMITS, DEFAULT_OVERLOAD_LIMITS } from './config';
export type { WsLimits, VideoLimits, OverloadLimits } from './config';
export type {
  Store,
  User,
  UserWithSecret,
  Session,
  Conversation,
  ConversationKind,
  ConversationSummary,
  Member,
  MessageSource,
  MessageKind,
  MediaMeta,
  VideoMeta,
  ByteRange,
  NewMessage,
  StoredMessage,
  AppendResult,
  Sticker,
} from './store/types';
export { SqliteStore } from './store/sqlite';
export type { SqliteStoreOptions } from './store/sqlite';
export { openStore } from './store/index';
export { LocalBus } from './bus/types';
export type { Bus, BusEvent, BusHandler } from './bus/types';
export { LocalSocketSlots } from './im/slots';
export type { SocketSlots } from './im/slots';
export { ApiError } from './errors';
export { CSP } from './http/security';
export { SECURITY_HEADERS } from './http/security';
export { MessageWriter } from './im/writer';
export { validateMedia } from './media/validate';
export type { ValidatedMedia } from './media/validate';
export { backendsFromEnv } from './env';
