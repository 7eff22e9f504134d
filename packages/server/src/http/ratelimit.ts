/**
 * Rate limits over named actions, and the per-account login backoff. Counters live in a
 * {@link LimitStore}: this process by default, Redis in a cluster (shared by every node).
 * Keys are `action:ip` or `action:userId` (`login-backoff:username` for the backoff).
 */
import type { LoginBackoff, RateLimit } from '../config';
import { ApiError } from '../errors';
import type { LimitStore } from './limit-store';

/** How an action reads in "too many … ; retry in N s". */
const WORDS: Record<string, string> = {
  login: 'login attempts from this address',
  register: 'registrations from this address',
  send: 'messages',
  upload: 'uploads',
  createConversation: 'new conversations',
  saveSticker: 'sticker saves',
  markRead: 'read receipts',
  markDelivered: 'delivery receipts',
  search: 'searches',
  changeMembers: 'member changes and renames',
  changeMessage: 'message changes (reactions, edits, deletes)',
  watch: 'watch-along signals (play, pause, seek)',
};

/** Seconds for Retry-After / `retryAfter`: whole, at least 1. */
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Rate limiter over named actions. `check` and `take` count one action when allowed; an
 * action without a configured limit is always allowed. The login backoff is per account.
 */
export class RateLimiter {
  constructor(
    private readonly limits: Record<string, RateLimit> | false,
    private readonly store: LimitStore,
    private readonly backoff: LoginBackoff | false,
  ) {}

  /** Resolves the seconds to wait (0 when allowed, and then counted). */
  async check(action: string, key: string): Promise<number> {
    const l = this.limits ? this.limits[action] : undefined;
    if (!l) return 0;
    const waitMs = await this.store.take(`${action}:${key}`, l);
    return waitMs > 0 ? seconds(waitMs) : 0;
  }

  /** Like {@link check}, rejecting with ApiError(ERR_RATE_LIMITED) and the seconds to wait when over the limit. */
  async take(action: string, key: string): Promise<void> {
    const wait = await this.check(action, key);
    if (wait)
      throw new ApiError(
        'ERR_RATE_LIMITED',
        `too many ${WORDS[action] ?? `${action} requests`}; retry in ${wait} s`,
        undefined,
        wait,
      );
  }

  /**
   * Before checking a password for `username` (lowercased; known or not, the same): rejects
   * with ERR_RATE_LIMITED while the account is backing off, else counts the attempt as a
   * failure until {@link loginSucceeded}. Call it before any password work, so an attempt
   * refused here costs no hashing.
   */
  async loginAttempt(username: string): Promise<void> {
    if (!this.backoff) return;
    const waitMs = await this.store.attempt(`login-backoff:${username}`, this.backoff);
    if (waitMs <= 0) return;
    const wait = seconds(waitMs);
    throw new ApiError(
      'ERR_RATE_LIMITED',
      `too many failed logins for this account; retry in ${wait} s`,
      undefined,
      wait,
    );
  }

  /** The password was right: forget the account's failures. */
  async loginSucceeded(username: string): Promise<void> {
    if (!this.backoff) return;
    await this.store.reset(`login-backoff:${username}`);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
