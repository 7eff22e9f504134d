/** The sticker library: save (my upload or a received media, no re-upload), list, rename/tag, delete. */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { SaveSticker, UpdateSticker } from '@clipchat/protocol';
import { ApiError } from '../errors';
import { stickerToWire } from '../im/wire';
import { created, requireAuth, S, type Ctx } from './context';

const cleanTags = (t: string[] | undefined) =>
  t ? [...new Set(t.map((x) => x.trim()).filter(Boolean))] : undefined;

export default async function stickerRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  app.get(
    '/api/stickers',
    { schema: { summary: 'My sticker library, newest first' } },
    async (req) => {
      const { user } = await requireAuth(ctx, req);
      return { stickers: (await ctx.store.listStickers(user.id)).map(stickerToWire) };
    },
  );

  app.post<{ Body: SaveSticker }>(
    '/api/stickers',
    {
      bodyLimit: 8192,
      schema: {
        summary: 'Save a media I uploaded or received into my library',
        body: SaveSticker,
      },
    },
    async (req, reply) => {
      const { user } = await requireAuth(ctx, req);
      await ctx.limiter.take('saveSticker', user.id);
      const media = await ctx.store.getMedia(req.body.mediaId);
      if (!media || !(await ctx.store.canReadMedia(user.id, media.id)))
        throw new ApiError('ERR_MEDIA_NOT_FOUND', 'no such media you may see', 'mediaId');
      const s = await ctx.store.addSticker({
        id: randomUUID(),
        userId: user.id,
        mediaId: media.id,
        name: req.body.name ?? '',
        tags: cleanTags(req.body.tags) ?? [],
        createdAt: Date.now(),
      });
      return created(reply, stickerToWire(s));
    },
  );

  app.patch<{ Params: { id: string }; Body: UpdateSticker }>(
    '/api/stickers/:id',
    {
      bodyLimit: 8192,
      schema: { summary: 'Rename or retag a sticker', params: S.idParams, body: UpdateSticker },
    },
    async (req) => {
      const { user } = await requireAuth(ctx, req);
      const s = await ctx.store.updateSticker(user.id, req.params.id, {
        name: req.body.name,
        tags: cleanTags(req.body.tags),
      });
      if (!s) throw new ApiError('ERR_STICKER_NOT_FOUND', 'no such sticker in your library', 'id');
      return stickerToWire(s);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/stickers/:id',
    { schema: { summary: 'Remove a sticker from my library', params: S.idParams } },
    async (req, reply) => {
      const { user } = await requireAuth(ctx, req);
      if (!(await ctx.store.deleteSticker(user.id, req.params.id)))
        throw new ApiError('ERR_STICKER_NOT_FOUND', 'no such sticker in your library', 'id');
      return reply.code(204).send();
    },
  );
}
