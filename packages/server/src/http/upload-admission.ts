/**
 * What the two upload routes (`POST /api/media`, tus `/api/uploads`) share before reading a
 * body: caps on bodies in flight, per user and server-wide, and closing the connection of
 * a refused request instead of reading the body it still sends.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors';

/** How long a refused upload's client has to read the answer before its socket is cut. */
const REFUSED_LINGER_MS = 2000;

/** Bodies being received, per user and in all; a slot is held until its connection closes. */
export class InFlight {
  #perUser = new Map<string, number>();
  #total = 0;

  constructor(private readonly limits: { perUser: number; total: number }) {}

  /** Takes a slot for `userId` until `reply`'s connection closes, or throws 429/503. */
  take(userId: string, reply: FastifyReply): void {
    const { perUser, total } = this.limits;
    const mine = this.#perUser.get(userId) ?? 0;
    if (mine >= perUser) {
      throw new ApiError(
        'ERR_RATE_LIMITED',
        `you already have ${mine} uploads in progress; at most ${perUser} at once`,
        undefined,
        1,
      );
    }
    if (this.#total >= total) {
      throw new ApiError(
        'ERR_MEDIA_BUSY',
        `the server is receiving ${this.#total} uploads, its limit; retry shortly`,
        undefined,
        1,
      );
    }
    this.#perUser.set(userId, mine + 1);
    this.#total++;
    reply.raw.once('close', () => {
      this.#total--;
      const n = (this.#perUser.get(userId) ?? 1) - 1;
      if (n > 0) this.#perUser.set(userId, n);
      else this.#perUser.delete(userId);
    });
  }
}

/**
 * The unread body stays in the client's socket: answer, then close the connection rather
 * than read megabytes only to throw them away. Not `Connection: close`, with which Node
 * destroys the socket at once and a client still sending gets a reset instead of the
 * answer: end our side, give the client a moment to read, then cut.
 */
export function closeAfterAnswer(req: FastifyRequest, reply: FastifyReply): void {
  const socket = req.raw.socket;
  reply.raw.once('finish', () => {
    socket.end();
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  });
}
