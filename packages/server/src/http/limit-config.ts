/**
 * Limits as configuration: checking a {@link ServerConfig}'s limits at start, and reading
 * them from `clipchat serve` flags (`--rate-limit name=N/window`, `--login-backoff …`).
 */
import { DEFAULT_RATE_LIMITS, type LoginBackoff, type RateLimit, type RateLimits } from '../config';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** `1500`, `1500ms`, `10s`, `1m`, `1h` → ms; NaN when malformed. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|min|h)?$/.exec(text.trim());
  return m ? Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!) : NaN;
}

/** Throws a message naming the limit, the value and what is allowed, when `l` is not a usable bucket. */
export function checkRateLimit(name: string, l: RateLimit): void {
  if (!Number.isInteger(l.limit) || l.limit < 1 || l.limit > 1_000_000)
    throw new Error(`rate limit ${name}: limit must be a whole number 1–1000000, got ${l.limit}`);
  if (!Number.isInteger(l.windowMs) || l.windowMs < 1 || l.windowMs > 30 * 86_400_000)
    throw new Error(`rate limit ${name}: windowMs must be 1 ms – 30 days, got ${l.windowMs}`);
}

/** Throws a message naming the field when `b` is not a usable backoff. */
export function checkLoginBackoff(b: LoginBackoff): void {
  if (!Number.isInteger(b.freeFailures) || b.freeFailures < 1 || b.freeFailures > 1000)
    throw new Error(`loginBackoff.freeFailures must be 1–1000, got ${b.freeFailures}`);
  for (const k of ['baseMs', 'maxMs', 'forgetMs'] as const) {
    if (!Number.isInteger(b[k]) || b[k] < 1 || b[k] > 30 * 86_400_000)
      throw new Error(`loginBackoff.${k} must be 1 ms – 30 days, got ${b[k]}`);
  }
  if (b.maxMs < b.baseMs)
    throw new Error(`loginBackoff.maxMs (${b.maxMs}) must be at least baseMs (${b.baseMs})`);
}

/**
 * Reads one `--rate-limit` value, `name=N/window` (e.g. `createConversation=20/1m`), into
 * `into`. Returns an error message, or null.
 */
export function parseRateLimitFlag(text: string, into: Partial<RateLimits>): string | null {
  const m = /^([A-Za-z]+)=(\d+)\/(\S+)$/.exec(text);
  if (!m) return `--rate-limit takes name=N/window (e.g. login=20/1m), got ${JSON.stringify(text)}`;
  const name = m[1]! as keyof RateLimits;
  if (!(name in DEFAULT_RATE_LIMITS))
    return `--rate-limit: unknown limit ${name}; known: ${Object.keys(DEFAULT_RATE_LIMITS).join(', ')}`;
  const l = { limit: Number(m[2]), windowMs: parseDuration(m[3]!) };
  try {
    checkRateLimit(name, l);
  } catch (e) {
    return `--rate-limit: ${(e as Error).message.replace(/^rate limit /, '')}`;
  }
  into[name] = l;
  return null;
}

/**
 * Reads the `--login-backoff` value: `off`, or `FREE/BASE/MAX` (e.g. `5/1s/5m`), with an
 * optional `/FORGET` (default 1h). Returns the backoff, `false`, or an error message.
 */
export function parseLoginBackoffFlag(text: string): Partial<LoginBackoff> | false | string {
  if (text === 'off') return false;
  const parts = text.split('/');
  if (parts.length < 3 || parts.length > 4)
    return `--login-backoff takes off or failures/base/max[/forget] (e.g. 5/1s/5m), got ${JSON.stringify(text)}`;
  const b: LoginBackoff = {
    freeFailures: /^\d+$/.test(parts[0]!) ? Number(parts[0]) : NaN,
    baseMs: parseDuration(parts[1]!),
    maxMs: parseDuration(parts[2]!),
    forgetMs: parts[3] === undefined ? 3_600_000 : parseDuration(parts[3]),
  };
  try {
    checkLoginBackoff(b);
  } catch (e) {
    return `--login-backoff: ${(e as Error).message}`;
  }
  return b;
}
