/**
 * Message history (paging backwards), the REST twin of the WebSocket `send`, and changes
 * to sent messages: reactions, edits, deletes (each answered with the message as it now is,
 * and sent to every member's sockets as an `update` frame).
 */
import type { FastifyInstance } from 'fastify';
import {
  EditMessage, HistoryQuery, MessagePage, MessageResult, ReactionParams, SendMessage, SendResult, sendProblem,
} from '@clipchat/protocol';
import { ApiError } from '../errors';
import { messageToWire } from '../im/wire';
import { requireAuth, S, type Ctx } from './context';

export default async function messageRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: { before?: string; limit?: string } }>('/api/conversations/:id/messages', {
    schema: {
      summary: 'History, newest page first: messages with seq < before (default: the latest), ascending',
      params: S.idParams,
      querystring: HistoryQuery,
      response: { 200: MessagePage },
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
    schema: { summary: 'Send a message (idempotent by clientId): 201 new, 200 when the clientId was seen', params: S.idParams, body: SendMessage, response: { 200: SendResult, 201: SendResult } },
  }, async (req, reply): Promise<SendResult> => {
    const { user } = await requireAuth(ctx, req);
    const bad = sendProblem(req.body);
    if (bad) throw new ApiError('ERR_VALIDATION', bad.message, bad.field);
    await ctx.limiter.take('send', user.id);
    const r = await ctx.im.send(user, req.params.id, req.body);
    reply.code(r.created ? 201 : 200);
    return { message: messageToWire(r.message), duplicate: !r.created };
  });

  const changed = { 200: MessageResult };
  app.put<{ Params: { id: string; emoji: string } }>('/api/messages/:id/reactions/:emoji', {
    schema: { summary: 'Add my reaction (one emoji, URL-encoded); idempotent', params: ReactionParams, response: changed },
  }, async (req): Promise<MessageResult> => {
    const { user } = await requireAuth(ctx, req);
    await ctx.limiter.take('changeMessage', user.id);
    return { message: messageToWire(await ctx.im.react(user, req.params.id, req.params.emoji, true)) };
  });

  app.delete<{ Params: { id: string; emoji: string } }>('/api/messages/:id/reactions/:emoji', {
    schema: { summary: 'Remove my reaction; idempotent', params: ReactionParams, response: changed },
  }, async (req): Promise<MessageResult> => {
    const { user } = await requireAuth(ctx, req);
    await ctx.limiter.take('changeMessage', user.id);
    return { message: messageToWire(await ctx.im.react(user, req.params.id, req.params.emoji, false)) };
  });

  app.patch<{ Params: { id: string }; Body: EditMessage }>('/api/messages/:id', {
    bodyLimit: 64 * 1024,
    schema: { summary: 'Edit the text of a text message I sent, within the edit window', params: S.idParams, body: EditMessage, response: changed },
  }, async (req): Promise<MessageResult> => {
    const { user } = await requireAuth(ctx, req);
    await ctx.limiter.take('changeMessage', user.id);
    return { message: messageToWire(await ctx.im.edit(user, req.params.id, req.body.text)) };
  });

  app.delete<{ Params: { id: string } }>('/api/messages/:id', {
    schema: { summary: 'Delete a message I sent, for everyone (it stays as a tombstone); idempotent', params: S.idParams, response: changed },
  }, async (req): Promise<MessageResult> => {
    const { user } = await requireAuth(ctx, req);
    await ctx.limiter.take('changeMessage', user.id);
    return { message: messageToWire(await ctx.im.remove(user, req.params.id)) };
  });
}
