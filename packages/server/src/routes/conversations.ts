/** Conversations: list mine, create direct/group, one conversation, mark read. */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { MAX_GROUP_MEMBERS, MAX_TITLE_LENGTH, type CreateConversation } from '@clipchat/protocol';
import { ApiError } from '../errors';
import { conversationToWire } from '../im/wire';
import { created, requireAuth, S, type Ctx } from './context';

export default async function conversationRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  app.get('/api/conversations', { schema: { summary: 'My conversations, most recently active first, with last message and unread count' } }, async (req) => {
    const { user } = await requireAuth(ctx, req);
    return { conversations: (await ctx.store.listConversations(user.id)).map(conversationToWire) };
  });

  app.get<{ Params: { id: string } }>('/api/conversations/:id', { schema: { summary: 'One of my conversations', params: S.idParams } }, async (req) => {
    const { user } = await requireAuth(ctx, req);
    await ctx.im.requireMember(req.params.id, user.id);
    const c = (await ctx.store.listConversations(user.id)).find((x) => x.id === req.params.id);
    if (!c) throw new ApiError('ERR_CONVERSATION_NOT_FOUND', 'no such conversation of yours', 'id');
    return conversationToWire(c);
  });

  app.post<{ Body: CreateConversation }>('/api/conversations', {
    bodyLimit: 64 * 1024,
    schema: {
      summary: 'Start a direct conversation (one other username; returns the existing one if any) or a group',
      body: {
        type: 'object', additionalProperties: false, required: ['members'],
        properties: {
          members: { type: 'array', minItems: 1, maxItems: MAX_GROUP_MEMBERS, items: { type: 'string', minLength: 1, maxLength: 64 } },
          title: { type: 'string', maxLength: MAX_TITLE_LENGTH },
          kind: { type: 'string', enum: ['direct', 'group'] },
        },
      },
    },
  }, async (req, reply) => {
    const { user } = await requireAuth(ctx, req);
    const names = [...new Set(req.body.members.map((n) => n.toLowerCase()))].filter((n) => n !== user.username);
    if (!names.length) throw new ApiError('ERR_VALIDATION', 'members must name at least one other user', 'members');
    const found = await ctx.store.findUsersByNames(names);
    const missing = names.filter((n) => !found.some((u) => u.username === n));
    if (missing.length) throw new ApiError('ERR_USER_NOT_FOUND', `no user ${missing.map((n) => JSON.stringify(n)).join(', ')}`, 'members');
    const kind = req.body.kind ?? (names.length === 1 && req.body.title === undefined ? 'direct' : 'group');
    if (kind === 'direct' && names.length !== 1) throw new ApiError('ERR_VALIDATION', 'a direct conversation has exactly one other member', 'members');
    if (kind === 'direct' && req.body.title !== undefined) throw new ApiError('ERR_VALIDATION', 'a direct conversation has no title', 'title');
    const memberIds = [user.id, ...found.map((u) => u.id)];
    const { conversation, created: isNew } = await ctx.store.createConversation({
      id: randomUUID(), kind, title: kind === 'group' ? req.body.title ?? null : null, createdBy: user.id, createdAt: Date.now(),
      memberIds, directKey: kind === 'direct' ? [...memberIds].sort().join(':') : null,
    });
    if (isNew) await ctx.im.bus.publish({ type: 'conversation', memberIds, conversationId: conversation.id });
    const summary = (await ctx.store.listConversations(user.id)).find((x) => x.id === conversation.id)!;
    const body = conversationToWire(summary);
    return isNew ? created(reply, body) : body;
  });

  app.post<{ Params: { id: string }; Body: { seq: number } }>('/api/conversations/:id/read', {
    bodyLimit: 1024,
    schema: {
      summary: 'Mark the conversation read up to seq (never moves back)', params: S.idParams,
      body: { type: 'object', additionalProperties: false, required: ['seq'], properties: { seq: { type: 'integer', minimum: 0 } } },
    },
  }, async (req) => {
    const { user } = await requireAuth(ctx, req);
    return { readSeq: await ctx.im.markRead(user.id, req.params.id, req.body.seq) };
  });
}
