/**
 * `GET /ws`: the live channel. Authenticated at the upgrade (bearer header or session
 * cookie; cookie upgrades must come from our own origin). Frames are JSON; see
 * `@clipchat/protocol` ws.ts. Sends keep each socket's order; acks follow the durable write.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket, RawData } from 'ws';
import { FrameError, parseClientFrame, type SendFrame, type SyncFrame } from '@clipchat/protocol';
import { ApiError, toErrorBody } from '../errors';
import { authenticate, type Auth } from '../http/auth';
import { send, type Hub } from '../im/hub';
import { messageToWire } from '../im/wire';
import type { Ctx } from './context';

const SYNC_PAGE = 500;

export default async function wsRoutes(app: FastifyInstance, opts: { ctx: Ctx; hub: Hub }): Promise<void> {
  const { ctx, hub } = opts;
  const auths = new WeakMap<FastifyRequest, Auth>();

  app.get('/ws', {
    websocket: true,
    schema: { summary: 'WebSocket upgrade: send/sync/read/ping in, hello/ack/message/synced/read/conversation/resync/error/pong out' },
    preValidation: async (req) => {
      const auth = await authenticate(ctx.store, req);
      if (auth.via === 'cookie' && req.headers.origin) {
        // Browsers send cookies on cross-site WebSocket upgrades: only our own pages may use them.
        let host: string | undefined;
        try { host = new URL(req.headers.origin).host; } catch { /* below */ }
        if (host !== req.headers.host) throw new ApiError('ERR_FORBIDDEN', 'WebSocket with cookie auth from a foreign origin');
      }
      auths.set(req, auth);
    },
  }, (socket: WebSocket, req: FastifyRequest) => {
    const auth = auths.get(req)!;
    const user = auth.user;
    hub.add(user.id, socket, auth.session.tokenHash);
    send(socket, JSON.stringify({ type: 'hello', user: { id: user.id, username: user.username } }));
    // Pre-write work (membership, media) is chained so writes queue in arrival order.
    let chain: Promise<unknown> = Promise.resolve();

    const fail = (err: unknown, clientId?: string) => {
      const { body } = toErrorBody(err);
      if (body.error.code === 'ERR_INTERNAL') req.log.error({ err }, 'websocket frame failed');
      send(socket, JSON.stringify({ type: 'error', ...body, ...(clientId !== undefined ? { clientId } : {}) }));
    };

    const onSend = (f: SendFrame) => {
      const wait = ctx.limiter.check('send', user.id);
      if (wait) {
        fail(new ApiError('ERR_RATE_LIMITED', `too many messages; retry in ${wait} s`, undefined, wait), f.clientId);
        return;
      }
      const prepared = chain.then(() => ctx.im.prepare(user, f.conversationId, f));
      chain = prepared.catch(() => undefined);
      prepared.then((p) => ctx.im.commit(p)).then((r) => {
        send(socket, JSON.stringify({
          type: 'ack', clientId: f.clientId, id: r.message.id, seq: r.message.seq, conversationId: r.message.conversationId, duplicate: !r.created,
        }));
      }, (err) => fail(err, f.clientId));
    };

    const onSync = async (f: SyncFrame) => {
      const until: Record<string, number> = {};
      for (const [cid, since] of Object.entries(f.since)) {
        try {
          await ctx.im.requireMember(cid, user.id);
        } catch (e) { fail(e); continue; }
        let after = since;
        for (;;) {
          const page = await ctx.store.messagesAfter(cid, after, SYNC_PAGE);
          for (const m of page) send(socket, JSON.stringify({ type: 'message', message: messageToWire(m) }));
          if (page.length) after = page[page.length - 1]!.seq;
          if (page.length < SYNC_PAGE || socket.readyState !== 1) break;
        }
        until[cid] = after;
      }
      send(socket, JSON.stringify({ type: 'synced', until }));
    };

    socket.on('message', (data: RawData, isBinary: boolean) => {
      let frame;
      try {
        if (isBinary) throw new FrameError('ERR_BAD_JSON', 'binary frames are not accepted; send JSON text');
        frame = parseClientFrame(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
      } catch (e) {
        const fe = e as FrameError;
        fail(new ApiError(fe.code ?? 'ERR_VALIDATION', fe.message, fe.field), fe.clientId);
        return;
      }
      switch (frame.type) {
        case 'send': onSend(frame); break;
        case 'sync': onSync(frame).catch((e) => fail(e)); break;
        case 'read': ctx.im.markRead(user.id, frame.conversationId, frame.seq).catch((e) => fail(e)); break;
        case 'ping': send(socket, '{"type":"pong"}'); break;
      }
    });
    socket.on('close', () => hub.remove(user.id, socket));
    socket.on('error', (err) => req.log.debug({ err }, 'websocket error'));
  });
}
