/** Conversations: list mine, create direct/group, one conversation, mark read. */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import {
  AddMembers,
  CreateConversation,
  MAX_GROUP_MEMBERS,
  MemberParams,
  ReadBody,
  RenameConversation,
  unpaired,
  type ConversationInfo,
} from '@clipchat/protocol';
import type { User } from '../store/types';
import { ApiError } from '../errors';
import { conversationToWire } from '../im/wire';
import { created, requireAuth, S, type Ctx } from './context';

/**
 * Each new group counts against every member added by someone else, so no one can be
 * pulled into an unbounded number of groups, whoever the creators are.
 */
async function takeGroupAdds(ctx: Ctx, added: { id: string; username: string }[]): Promise<void> {
  const waits = await Promise.all(added.map((u) => ctx.limiter.check('addedToGroup', u.id)));
  const i = waits.findIndex((w) => w > 0);
  if (i >= 0) {
    throw new ApiError(
      'ERR_RATE_LIMITED',
      `${added[i]!.username} has been added to too many new groups lately; retry in ${waits[i]} s`,
      'members',
      waits[i],
    );
  }
}

/** My conversations as sent: each member with `online` (presence, over the cluster), `lastSeen`, `readSeq`. */
async function listed(ctx: Ctx, userId: string): Promise<ConversationInfo[]> {
  const list = await ctx.store.listConversations(userId);
  const ids = [...new Set(list.flatMap((c) => c.members.map((m) => m.id)))];
  const online = await ctx.presence.tracker.online(ids);
  return list.map((c) => conversationToWire(c, online));
}

/** The group `id` of mine, for changing its members or title; ERR_VALIDATION for a direct conversation. */
async function myGroup(ctx: Ctx, id: string, user: User, what: string) {
  await ctx.im.requireMember(id, user.id);
  const c = await ctx.store.getConversation(id);
  if (!c)
    throw new ApiError(
      'ERR_CONVERSATION_NOT_FOUND',
      `no conversation ${JSON.stringify(id)} of yours`,
      'id',
    );
  if (c.kind !== 'group')
    throw new ApiError(
      'ERR_VALIDATION',
      `a direct conversation has no ${what}; start a group instead`,
      'id',
    );
  return c;
}

/** After members changed: every node forgets the list; the people concerned refetch theirs. */
async function membersChanged(
  ctx: Ctx,
  conversationId: string,
  concerned: string[],
): Promise<void> {
  await ctx.im.membersChanged(conversationId);
  await ctx.im.bus.publish({ type: 'conversation', memberIds: concerned, conversationId });
}

export default async function conversationRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  app.get(
    '/api/conversations',
    {
      schema: {
        summary:
          "My conversations, most recently active first, with last message, unread count, and each member's presence and read position",
      },
    },
    async (req) => {
      const { user } = await requireAuth(ctx, req);
      return { conversations: await listed(ctx, user.id) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/conversations/:id',
    { schema: { summary: 'One of my conversations', params: S.idParams } },
    async (req) => {
      const { user } = await requireAuth(ctx, req);
      await ctx.im.requireMember(req.params.id, user.id);
      const c = (await listed(ctx, user.id)).find((x) => x.id === req.params.id);
      if (!c)
        throw new ApiError('ERR_CONVERSATION_NOT_FOUND', 'no such conversation of yours', 'id');
      return c;
    },
  );

  app.post<{ Body: CreateConversation }>(
    '/api/conversations',
    {
      bodyLimit: 64 * 1024,
      schema: {
        summary:
          'Start a direct conversation (one other username; returns the existing one if any) or a group',
        body: CreateConversation,
      },
    },
    async (req, reply) => {
      const { user } = await requireAuth(ctx, req);
      // Counted before any lookup: each try is also a probe of which usernames exist.
      await ctx.limiter.take('createConversation', user.id);
      const names = [...new Set(req.body.members.map((n) => n.toLowerCase()))].filter(
        (n) => n !== user.username,
      );
      if (!names.length)
        throw new ApiError(
          'ERR_VALIDATION',
          'members must name at least one other user',
          'members',
        );
      const found = await ctx.store.findUsersByNames(names);
      // One answer whichever names are unknown, so a long list cannot be sorted into
      // "exists" and "does not" in one request.
      if (names.some((n) => !found.some((u) => u.username === n))) {
        throw new ApiError(
          'ERR_USER_NOT_FOUND',
          'not every username in members belongs to an account; check the spelling (this error does not say which)',
          'members',
        );
      }
      const kind =
        req.body.kind ?? (names.length === 1 && req.body.title === undefined ? 'direct' : 'group');
      if (kind === 'direct' && names.length !== 1)
        throw new ApiError(
          'ERR_VALIDATION',
          'a direct conversation has exactly one other member',
          'members',
        );
      if (kind === 'direct' && req.body.title !== undefined)
        throw new ApiError('ERR_VALIDATION', 'a direct conversation has no title', 'title');
      if (kind === 'group') await takeGroupAdds(ctx, found);
      const memberIds = [user.id, ...found.map((u) => u.id)];
      const { conversation, created: isNew } = await ctx.store.createConversation({
        id: randomUUID(),
        kind,
        title: kind === 'group' ? (req.body.title ?? null) : null,
        createdBy: user.id,
        createdAt: Date.now(),
        memberIds,
        directKey: kind === 'direct' ? [...memberIds].sort().join(':') : null,
      });
      if (isNew)
        await ctx.im.bus.publish({
          type: 'conversation',
          memberIds,
          conversationId: conversation.id,
        });
      const body = (await listed(ctx, user.id)).find((x) => x.id === conversation.id)!;
      return isNew ? created(reply, body) : body;
    },
  );

  app.post<{ Params: { id: string }; Body: AddMembers }>(
    '/api/conversations/:id/members',
    {
      bodyLimit: 64 * 1024,
      schema: {
        summary: 'Add members to a group (its admin only); they can read the history',
        params: S.idParams,
        body: AddMembers,
      },
    },
    async (req) => {
      const { user } = await requireAuth(ctx, req);
      await ctx.limiter.take('changeMembers', user.id);
      const c = await myGroup(ctx, req.params.id, user, 'members to add');
      if (c.createdBy !== user.id)
        throw new ApiError('ERR_FORBIDDEN', "only the group's admin may add members", 'members');
      const names = [...new Set(req.body.members.map((n) => n.toLowerCase()))];
      const found = await ctx.store.findUsersByNames(names);
      if (names.some((n) => !found.some((u) => u.username === n))) {
        throw new ApiError(
          'ERR_USER_NOT_FOUND',
          'not every username in members belongs to an account; check the spelling (this error does not say which)',
          'members',
        );
      }
      const current = await ctx.im.members(c.id);
      const fresh = found.filter((u) => !current.has(u.id));
      if (current.size + fresh.length > MAX_GROUP_MEMBERS) {
        throw new ApiError(
          'ERR_VALIDATION',
          `a group has at most ${MAX_GROUP_MEMBERS} members; it has ${current.size}, adding ${fresh.length} would make ${current.size + fresh.length}`,
          'members',
        );
      }
      if (fresh.length) {
        await takeGroupAdds(ctx, fresh);
        const added = new Set(
          await ctx.store.addMembers(
            c.id,
            fresh.map((u) => u.id),
          ),
        );
        const addedUsers = fresh.filter((u) => added.has(u.id));
        if (addedUsers.length) {
          await membersChanged(ctx, c.id, [...added]);
          await ctx.im.system(
            user,
            c.id,
            `${user.username} added ${addedUsers.map((u) => u.username).join(', ')}`,
          );
        }
      }
      return (await listed(ctx, user.id)).find((x) => x.id === c.id)!;
    },
  );

  app.delete<{ Params: { id: string; username: string } }>(
    '/api/conversations/:id/members/:username',
    {
      schema: {
        summary:
          'Remove a member from a group (its admin), or leave it (myself); they lose access at once',
        params: MemberParams,
      },
    },
    async (req, reply) => {
      const { user } = await requireAuth(ctx, req);
      await ctx.limiter.take('changeMembers', user.id);
      const c = await myGroup(ctx, req.params.id, user, 'members to remove');
      const name = req.params.username.toLowerCase();
      const target = name === user.username ? user : await ctx.store.findUserByName(name);
      const members = await ctx.im.members(c.id);
      if (!target || !members.has(target.id))
        throw new ApiError(
          'ERR_USER_NOT_FOUND',
          `${JSON.stringify(name)} is not a member of this group`,
          'username',
        );
      if (target.id !== user.id && c.createdBy !== user.id)
        throw new ApiError(
          'ERR_FORBIDDEN',
          "only the group's admin may remove others; anyone may leave (remove themself)",
          'username',
        );
      if (await ctx.store.removeMember(c.id, target.id)) {
        await membersChanged(ctx, c.id, [target.id]);
        await ctx.im.system(
          user,
          c.id,
          target.id === user.id
            ? `${user.username} left`
            : `${user.username} removed ${target.username}`,
        );
      }
      return reply.code(204).send();
    },
  );

  app.patch<{ Params: { id: string }; Body: RenameConversation }>(
    '/api/conversations/:id',
    {
      bodyLimit: 4 * 1024,
      schema: {
        summary: 'Rename a group (any member)',
        params: S.idParams,
        body: RenameConversation,
      },
    },
    async (req) => {
      const { user } = await requireAuth(ctx, req);
      await ctx.limiter.take('changeMembers', user.id);
      const c = await myGroup(ctx, req.params.id, user, 'title');
      const title = req.body.title.trim();
      if (!title)
        throw new ApiError('ERR_VALIDATION', 'title must have a visible character', 'title');
      const bad = unpaired('title', title);
      if (bad) throw new ApiError('ERR_VALIDATION', bad, 'title');
      if (title !== c.title) {
        await ctx.store.renameConversation(c.id, title);
        await ctx.im.bus.publish({
          type: 'conversation',
          memberIds: [...(await ctx.im.members(c.id))],
          conversationId: c.id,
        });
        await ctx.im.system(user, c.id, `${user.username} renamed the group to “${title}”`);
      }
      return (await listed(ctx, user.id)).find((x) => x.id === c.id)!;
    },
  );

  app.post<{ Params: { id: string }; Body: { seq: number } }>(
    '/api/conversations/:id/read',
    {
      bodyLimit: 1024,
      schema: {
        summary: 'Mark the conversation read up to seq (never moves back)',
        params: S.idParams,
        body: ReadBody,
      },
    },
    async (req) => {
      const { user } = await requireAuth(ctx, req);
      await ctx.limiter.take('markRead', user.id);
      return { readSeq: await ctx.im.markRead(user, req.params.id, req.body.seq) };
    },
  );
}
