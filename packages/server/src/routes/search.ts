/** `GET /api/search`: full-text search over the messages of my conversations. */
import type { FastifyInstance } from 'fastify';
import { MAX_SEARCH_RESULTS, SearchQuery, SearchResult } from '@clipchat/protocol';
import { ApiError } from '../errors';
import { libraryMatches, searchWords } from '../im/search';
import { messageToWire } from '../im/wire';
import { requireAuth, type Ctx } from './context';

/** Most library stickers a search follows into messages (the newest matches). */
const MAX_LIBRARY_MATCHES = 200;

/** PostgreSQL's "canceling statement due to statement timeout". */
const PG_QUERY_CANCELED = '57014';

export default async function searchRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  app.get<{ Querystring: SearchQuery }>(
    '/api/search',
    {
      schema: {
        summary: 'Messages of my conversations (or of one) holding every word of q, newest first',
        querystring: SearchQuery,
        response: { 200: SearchResult },
      },
    },
    async (req): Promise<SearchResult> => {
      const { user } = await requireAuth(ctx, req);
      const words = searchWords(req.query.q);
      const limit = req.query.limit === undefined ? MAX_SEARCH_RESULTS : Number(req.query.limit);
      if (limit < 1 || limit > MAX_SEARCH_RESULTS)
        throw new ApiError(
          'ERR_VALIDATION',
          `limit must be 1–${MAX_SEARCH_RESULTS}, got ${limit}`,
          'limit',
        );
      await ctx.limiter.take('search', user.id);
      const conversationId = req.query.conversationId;
      if (conversationId !== undefined) await ctx.im.requireMember(conversationId, user.id);
      try {
        // Words in text and origin names come from the full-text index; names and tags of my
        // sticker library lead to the messages showing those stickers. Merged newest first.
        const [found, library] = await Promise.all([
          ctx.store.searchMessages(user.id, { words, conversationId, limit }),
          ctx.store.listStickers(user.id),
        ]);
        const media = libraryMatches(library, words).slice(0, MAX_LIBRARY_MATCHES);
        const shown = media.length
          ? await ctx.store.messagesShowingMedia(user.id, media, { conversationId, limit })
          : [];
        const all = new Map([...found, ...shown].map((m) => [m.id, m]));
        const messages = [...all.values()]
          .sort(
            (a, b) =>
              b.createdAt - a.createdAt ||
              (a.conversationId < b.conversationId
                ? -1
                : a.conversationId > b.conversationId
                  ? 1
                  : 0) ||
              b.seq - a.seq,
          )
          .slice(0, limit);
        return { messages: messages.map(messageToWire) };
      } catch (err) {
        if ((err as { code?: string }).code === PG_QUERY_CANCELED) {
          throw new ApiError(
            'ERR_UNAVAILABLE',
            'the search took too long; add words or narrow it to one conversation',
            'q',
            1,
          );
        }
        throw err;
      }
    },
  );
}
