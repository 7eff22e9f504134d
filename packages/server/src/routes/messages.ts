/**
 * Message history (paging backwards), the REST twin of the WebSocket `send`, and changes
 * to sent messages: reactions, edits, deletes (each answered with the message as it now is,
 * and sent to every member's sockets as an `update` frame).
 */
import type { FastifyInstance } from 'fastify';
import {
  EditMessage,
  HistoryQuery,
  MessagePage,
  MessageResult,
  ReactionParams,
  SendMessage,
  SendResult,
  sendProblem,
} from '@clipchat/protocol';
import { ApiError } from '../errors';
import { messageToWire } from '../im/wire';
import { requireAuth, S, type Ctx } from './context';

export default async function messageRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  app.get<{
    Params: { id: string };
    Querystring: { before?: string; around?: string; after?: string; limit?: string };
  }>(
    '/api/conversations/:id/messages',
    {
      schema: {
        summary:
          'History, ascending: the page before a seq (default: the latest), around one, or after one',
        params: S.idParams,
        querystring: HistoryQuery,
        response: { 200: MessagePage },
      },
    },
    async (req): Promise<MessagePage> => {
      const { user } = await requireAuth(ctx, req);
      await ctx.im.requireMember(req.params.id, user.id);
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      if (limit < 1 || limit > 200)
        throw new ApiError('ERR_VALIDATION', `limit must be 1–200, got ${limit}`, 'limit');
      const given = (['before', 'around', 'after'] as const).filter(
        (k) => req.query[k] !== undefined,
      );
      if (given.length > 1)
        throw new ApiError(
          'ERR_VALIDATION',
          `give at most one of before, around and after, got ${given.join(' and ')}`,
          given[1],
        );
      const cid = req.params.id;
      let messages;
      let newest: boolean;
      if (req.query.around !== undefined) {
        // The message at `around` with up to half the page before it and the rest after.
        const at = Number(req.query.around);
        const older = await ctx.store.messagesBefore(cid, at, Math.floor((limit - 1) / 2));
        const want = limit - older.length;
        const newer = await ctx.store.messagesAfter(cid, at - 1, want);
        messages = [...older, ...newer];
        newest = newer.length < want;
      } else if (req.query.after !== undefined) {
        messages = await ctx.store.messagesAfter(cid, Number(req.query.after), limit);
        newest = messages.length < limit;
      } else {
        const before = req.query.before === undefined ? null : Number(req.query.before);
        messages = await ctx.store.messagesBefore(cid, before, limit);
        newest = before === null;
      }
      const first = messages[0]?.seq;
      const last = messages.at(-1)?.seq;
      return {
        messages: messages.map(messageToWire),
        before: first !== undefined && first > 1 ? first : null,
        after: newest || last === undefined ? null : last,
      };
    },
  );

  app.post<{ Params: { id: string }; Body: SendMessage }>(
    '/api/conversations/:id/messages',
    {
      bodyLimit: 64 * 1024,
      schema: {
        summary: 'Send a message (idempotent by clientId): 201 new, 200 when the clientId was seen',
        params: S.idParams,
        body: SendMessage,
        response: { 200: SendResult, 201: SendResult },
      },
    },
    async (req, reply): Promise<SendResult> => {
      const { user } = await requireAuth(ctx, req);
      const bad = sendProblem(req.body);
      if (bad) throw new ApiError('ERR_VALIDATION', bad.message, bad.field);
      ctx.im.admit();
      await ctx.limiter.take('send', user.id);
      const r = await ctx.im.send(user, req.params.id, req.body);
      reply.code(r.created ? 201 : 200);
      return { message: messageToWire(r.message), duplicate: !r.created };
    },
  );

  const changed = { 200: MessageResult };
  app.put<{ Params: { id: string; emoji: string } }>(
    '/api/messages/:id/reactions/:emoji',
    {
      schema: {
        summary: 'Add my reaction (one emoji, URL-encoded); idempotent',
        params: ReactionParams,
        response: changed,
      },
    },
    async (req): Promise<MessageResult> => {
      const { user } = await requireAuth(ctx, req);
      await ctx.limiter.take('changeMessage', user.id);
      return {
        message: messageToWire(await ctx.im.react(user, req.params.id, req.params.emoji, true)),
      };
    },
  );

  app.delete<{ Params: { id: string; emoji: string } }>(
    '/api/messages/:id/reactions/:emoji',
    {
      schema: {
        summary: 'Remove my reaction; idempotent',
        params: ReactionParams,
        response: changed,
      },
    },
    async (req): Promise<MessageResult> => {
      const { user } = await requireAuth(ctx, req);
      await ctx.limiter.take('changeMessage', user.id);
      return {
        message: messageToWire(await ctx.im.react(user, req.params.id, req.params.emoji, false)),
      };
    },
  );

  app.patch<{ Params: { id: string }; Body: EditMessage }>(
    '/api/messages/:id',
    {
      bodyLimit: 64 * 1024,
      schema: {
        summary: 'Edit the text of a text message I sent, within the edit window',
        params: S.idParams,
        body: EditMessage,
        response: changed,
      },
    },
    async (req): Promise<MessageResult> => {
      const { user } = await requireAuth(ctx, req);
      await ctx.limiter.take('changeMessage', user.id);
      return { message: messageToWire(await ctx.im.edit(user, req.params.id, req.body.text)) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/messages/:id',
    {
      schema: {
        summary: 'Delete a message I sent, for everyone (it stays as a tombstone); idempotent',
        params: S.idParams,
        response: changed,
      },
    },
    async (req): Promise<MessageResult> => {
      const { user } = await requireAuth(ctx, req);
      await ctx.limiter.take('changeMessage', user.id);
      return { message: messageToWire(await ctx.im.remove(user, req.params.id)) };
    },
  );
}
