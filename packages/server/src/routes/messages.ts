/** Message history (paging backwards) and the REST twin of the WebSocket `send`. */
import type { FastifyInstance } from 'fastify';
import { CLIENT_ID_MAX, MAX_TEXT_LENGTH, checkSend, type MessagePage, type SendMessage, type SendResult } from '@clipchat/protocol';
import { ApiError } from '../errors';
import { messageToWire } from '../im/wire';
import { requireAuth, S, type Ctx } from './context';

const sourceSchema = {
  type: 'object', additionalProperties: false, required: ['video'],
  properties: { video: { type: 'string', maxLength: 500 }, at: { type: 'number', minimum: 0 }, from: { type: 'number', minimum: 0 }, to: { type: 'number', minimum: 0 } },
} as const;

export const sendBodySchema = {
  type: 'object', additionalProperties: false, required: ['clientId', 'kind'],
  properties: {
    clientId: { type: 'string', minLength: 1, maxLength: CLIENT_ID_MAX },
    kind: { type: 'string', enum: ['text', 'still', 'sticker'] },
    text: { type: 'string', maxLength: MAX_TEXT_LENGTH },
    mediaId: { type: 'string', minLength: 1, maxLength: 100 },
    stickerId: { type: 'string', minLength: 1, maxLength: 100 },
    source: sourceSchema,
  },
} as const;

export default async function messageRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: { before?: string; limit?: string } }>('/api/conversations/:id/messages', {
    schema: {
      summary: 'History, newest page first: messages with seq < before (default: the latest), ascending',
      params: S.idParams,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { before: { type: 'string', pattern: '^[0-9]{1,15}$' }, limit: { type: 'string', pattern: '^[0-9]{1,4}$' } },
      },
    },
  }, async (req): Promise<MessagePage> => {
    const { user } = await requireAuth(ctx, req);
    await ctx.im.requireMember(req.params.id, user.id);
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    if (limit < 1 || limit > 200) throw new ApiError('ERR_VALIDATION', `limit must be 1–200, got ${limit}`, 'limit');
    const before = req.query.before === undefined ? null : Number(req.query.before);
    const messages = await ctx.store.messagesBefore(req.params.id, before, limit);
    const first = messages[0]?.seq;
    return { messages: messages.map(messageToWire), before: first !== undefined && first > 1 ? first : null };
  });

  app.post<{ Params: { id: string }; Body: SendMessage }>('/api/conversations/:id/messages', {
    bodyLimit: 64 * 1024,
    schema: { summary: 'Send a message (idempotent by clientId): 201 new, 200 when the clientId was seen', params: S.idParams, body: sendBodySchema },
  }, async (req, reply): Promise<SendResult> => {
    const { user } = await requireAuth(ctx, req);
    const bad = checkSend(req.body as unknown as Record<string, unknown>);
    if (bad) throw new ApiError('ERR_VALIDATION', bad[0], bad[1]);
    ctx.limiter.take('send', user.id);
    const r = await ctx.im.send(user, req.params.id, req.body);
    reply.code(r.created ? 201 : 200);
    return { message: messageToWire(r.message), duplicate: !r.created };
  });
}
