/** `GET /api/search`: full-text search over the messages of my conversations. */
import type { FastifyInstance } from 'fastify';
import { MAX_SEARCH_RESULTS, SearchQuery, SearchResult } from '@clipchat/protocol';
import { ApiError } from '../errors';
import { searchWords } from '../im/search';
import { messageToWire } from '../im/wire';
import { requireAuth, type Ctx } from './context';

/** PostgreSQL's "canceling statement due to statement timeout". */
const PG_QUERY_CANCELED = '57014';

export default async function searchRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  app.get<{ Querystring: SearchQuery }>('/api/search', {
    schema: {
      summary: 'Messages of my conversations (or of one) holding every word of q, newest first',
      querystring: SearchQuery,
      response: { 200: SearchResult },
    },
  }, async (req): Promise<SearchResult> => {
    const { user } = await requireAuth(ctx, req);
    const words = searchWords(req.query.q);
    const limit = req.query.limit === undefined ? MAX_SEARCH_RESULTS : Number(req.query.limit);
    if (limit < 1 || limit > MAX_SEARCH_RESULTS) throw new ApiError('ERR_VALIDATION', `limit must be 1–${MAX_SEARCH_RESULTS}, got ${limit}`, 'limit');
    await ctx.limiter.take('search', user.id);
    const conversationId = req.query.conversationId;
    if (conversationId !== undefined) await ctx.im.requireMember(conversationId, user.id);
    try {
      const found = await ctx.store.searchMessages(user.id, { words, conversationId, limit });
      return { messages: found.map(messageToWire) };
    } catch (err) {
      if ((err as { code?: string }).code === PG_QUERY_CANCELED) {
        throw new ApiError('ERR_UNAVAILABLE', 'the search took too long; add words or narrow it to one conversation', 'q', 1);
      }
      throw err;
    }
  });
}
