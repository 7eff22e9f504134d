/** `GET /healthz`: 200 when the store answers, 503 otherwise. */
import type { FastifyInstance } from 'fastify';
import type { Hub } from '../im/hub';
import type { Ctx } from './context';

export default async function healthRoutes(
  app: FastifyInstance,
  opts: { ctx: Ctx; hub: Hub; started: number },
): Promise<void> {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness and storage reachability' } },
    async (_req, reply) => {
      try {
        await opts.ctx.store.ping();
        return {
          status: 'ok',
          store: opts.ctx.store.kind,
          sockets: opts.hub.sockets,
          uptimeSec: Math.round((Date.now() - opts.started) / 1000),
        };
      } catch (e) {
        return reply.code(503).send({
          error: {
            code: 'ERR_UNAVAILABLE',
            message: `storage unreachable: ${(e as Error).message}`,
          },
        });
      }
    },
  );
}
