/**
 * `GET /ws`: the live channel. Authenticated at the upgrade (bearer header or session
 * cookie; cookie upgrades must come from our own origin) and refused with 429
 * ERR_TOO_MANY_SOCKETS when the user holds `maxSocketsPerUser` sockets (over all nodes
 * when the bus shares a count). Frames are JSON; see `@clipchat/protocol` ws.ts. Sends keep
 * each socket's order; acks follow the durable write. `sync` is rate-limited per user and
 * answered one bounded page at a time (im/sync.ts).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket, RawData } from 'ws';
import { FrameError, parseClientFrame, type SendFrame, type SyncFrame } from '@clipchat/protocol';
import { ApiError, toErrorBody } from '../errors';
import { authenticate, type Auth } from '../http/auth';
import { send, type Hub } from '../im/hub';
import type { SocketSlots } from '../im/slots';
import { syncPage } from '../im/sync';
import { watchRelay } from '../im/watch';
import type { WsLimits } from '../config';
import type { Ctx } from './context';

/** Syncs waiting on one socket behind the running one; more are refused (the limiter already bounds the rate). */
const MAX_QUEUED_SYNCS = 2;

export default async function wsRoutes(
  app: FastifyInstance,
  opts: { ctx: Ctx; hub: Hub; slots: SocketSlots; limits: WsLimits },
): Promise<void> {
  const { ctx, hub, slots, limits } = opts;
  const auths = new WeakMap<FastifyRequest, Auth>();

  app.get(
    '/ws',
    {
      websocket: true,
      schema: {
        summary:
          'WebSocket upgrade: send/sync/read/delivered/typing/watch/ping in, hello/ack/message/update/synced/read/delivered/typing/watch/presence/conversation/resync/error/pong out',
      },
      preValidation: async (req) => {
        const auth = await authenticate(ctx.store, req);
        if (auth.via === 'cookie' && req.headers.origin) {
          // Browsers send cookies on cross-site WebSocket upgrades: only our own pages may use them.
          let host: string | undefined;
          try {
            host = new URL(req.headers.origin).host;
          } catch {
            /* below */
          }
          if (host !== req.headers.host)
            throw new ApiError('ERR_FORBIDDEN', 'WebSocket with cookie auth from a foreign origin');
        }
        // The slot is the TCP connection's: given back when it closes, however the upgrade ends.
        const socketId = randomUUID();
        const max = limits.maxSocketsPerUser;
        if (!(await slots.acquire(auth.user.id, socketId, max))) {
          throw new ApiError(
            'ERR_TOO_MANY_SOCKETS',
            `this account already has ${max} WebSockets open, the most allowed; close one (another tab or device) and connect again`,
          );
        }
        const tcp = req.raw.socket;
        if (tcp.destroyed) {
          slots.release(auth.user.id, socketId);
          throw new ApiError('ERR_UNAVAILABLE', 'connection closed during the upgrade');
        }
        tcp.once('close', () => slots.release(auth.user.id, socketId));
        auths.set(req, auth);
      },
    },
    (socket: WebSocket, req: FastifyRequest) => {
      const auth = auths.get(req)!;
      const user = auth.user;
      hub.add(user.id, socket, auth.session.tokenHash);
      send(
        socket,
        JSON.stringify({ type: 'hello', user: { id: user.id, username: user.username } }),
      );
      // Pre-write work (membership, media) is chained so writes queue in arrival order.
      let chain: Promise<unknown> = Promise.resolve();

      const fail = (err: unknown, clientId?: string, frame?: 'typing' | 'delivered') => {
        const { body } = toErrorBody(err);
        if (body.error.code === 'ERR_INTERNAL') req.log.error({ err }, 'websocket frame failed');
        send(
          socket,
          JSON.stringify({
            type: 'error',
            ...body,
            ...(clientId !== undefined ? { clientId } : {}),
            ...(frame ? { frame } : {}),
          }),
        );
      };
      // Pings are answered at most maxPingsPer10s per socket (a fixed 10 s window, this node):
      // a heartbeat needs a few a second at most; past that they are dropped unanswered.
      let pingWindow = 0;
      let pings = 0;

      // Push-back past capacity (im/overload.ts). Once a send of this socket is refused, its
      // later sends are refused too until `retryAfter` has passed: the client sends them
      // again in order after the refused one, so a refusal never reorders a conversation.
      let refusedUntil = 0;
      let refusal: ApiError | null = null;
      const onSend = (f: SendFrame) => {
        const now = Date.now();
        if (refusal && now < refusedUntil) return fail(refusal, f.clientId);
        const over = ctx.im.overload.check();
        if (over) {
          refusal = over;
          refusedUntil = now + 1000 * (over.retryAfter ?? 1);
          return fail(over, f.clientId);
        }
        refusal = null;
        hub.sendStarted();
        // Counted on arrival (in order, also in Redis); awaited in the chain, so order holds.
        const allowed = ctx.limiter.take('send', user.id);
        allowed.catch(() => undefined); // handled below; never an unhandled rejection meanwhile
        const prepared = chain
          .then(() => allowed)
          .then(() => ctx.im.prepare(user, f.conversationId, f));
        chain = prepared.catch(() => undefined);
        prepared
          .then((p) => ctx.im.commit(p))
          .then(
            (r) => {
              send(
                socket,
                JSON.stringify({
                  type: 'ack',
                  clientId: f.clientId,
                  id: r.message.id,
                  seq: r.message.seq,
                  conversationId: r.message.conversationId,
                  duplicate: !r.created,
                }),
              );
            },
            (err) => fail(err, f.clientId),
          )
          .finally(() => hub.sendSettled());
      };

      // Syncs of one socket run one after the other; each answers one page.
      let syncs: Promise<unknown> = Promise.resolve();
      let queuedSyncs = 0;
      const failSync = (err: unknown) => {
        const { body } = toErrorBody(err);
        if (body.error.code === 'ERR_INTERNAL') req.log.error({ err }, 'websocket sync failed');
        send(socket, JSON.stringify({ type: 'error', ...body, frame: 'sync' }));
      };
      const onSync = async (f: SyncFrame) => {
        try {
          await ctx.limiter.take('sync', user.id);
        } catch (e) {
          failSync(e);
          return;
        }
        if (queuedSyncs > MAX_QUEUED_SYNCS) {
          failSync(
            new ApiError(
              'ERR_RATE_LIMITED',
              `${queuedSyncs} syncs are already waiting on this socket; wait for their synced frames`,
              undefined,
              1,
            ),
          );
          return;
        }
        queuedSyncs++;
        syncs = syncs
          .then(() =>
            syncPage({
              ws: socket,
              store: ctx.store,
              im: ctx.im,
              userId: user.id,
              since: f.since,
              changes: f.changes,
              limits,
              fail: failSync,
            }),
          )
          .catch(failSync)
          .finally(() => {
            queuedSyncs--;
          });
      };

      // Watch along: relayed to the other members, never answered unless refused.
      const watch = watchRelay(ctx, user);
      const failWatch = (err: unknown) => {
        const { body } = toErrorBody(err);
        if (body.error.code === 'ERR_INTERNAL') req.log.error({ err }, 'websocket watch failed');
        send(socket, JSON.stringify({ type: 'error', ...body, frame: 'watch' }));
      };

      socket.on('message', (data: RawData, isBinary: boolean) => {
        // A draining node answers nothing more; what the client sent goes again elsewhere.
        if (hub.draining) return;
        let frame;
        try {
          if (isBinary)
            throw new FrameError('ERR_BAD_JSON', 'binary frames are not accepted; send JSON text');
          frame = parseClientFrame(
            Buffer.isBuffer(data)
              ? data.toString('utf8')
              : Buffer.concat(data as Buffer[]).toString('utf8'),
          );
        } catch (e) {
          const fe = e as FrameError;
          fail(new ApiError(fe.code ?? 'ERR_VALIDATION', fe.message, fe.field), fe.clientId);
          return;
        }
        switch (frame.type) {
          case 'send':
            onSend(frame);
            break;
          case 'sync':
            onSync(frame).catch((e) => fail(e));
            break;
          case 'read': {
            const f = frame;
            ctx.limiter
              .take('markRead', user.id)
              .then(() => ctx.im.markRead(user, f.conversationId, f.seq))
              .catch((e) => fail(e));
            break;
          }
          case 'ping': {
            const now = Date.now();
            if (now - pingWindow >= 10_000) {
              pingWindow = now;
              pings = 0;
            }
            if (++pings <= limits.maxPingsPer10s) send(socket, '{"type":"pong"}');
            break;
          }
          // Dropped when too frequent; refused (error frame) only for a conversation not the user's.
          case 'typing':
            ctx.im.typing(user, frame.conversationId).catch((e) => fail(e, undefined, 'typing'));
            break;
          case 'watch':
            watch(frame).catch(failWatch);
            break;
          case 'delivered': {
            const f = frame;
            ctx.limiter
              .take('markDelivered', user.id)
              .then(() => ctx.im.markDelivered(user, f.conversationId, f.seq))
              .catch((e) => fail(e, undefined, 'delivered'));
            break;
          }
        }
      });
      const presenceId = randomUUID();
      ctx.presence.connected(user, presenceId);
      socket.on('close', () => {
        hub.remove(user.id, socket);
        ctx.presence.disconnected(user, presenceId);
      });
      socket.on('error', (err) => req.log.debug({ err }, 'websocket error'));
    },
  );
}
