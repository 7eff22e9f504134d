/** Uploads (raw body, validated by content) and serving media to those allowed to see it. */
import type { FastifyInstance } from 'fastify';
import { createHash } from 'node:crypto';
import type { MediaInfo } from '@clipchat/protocol';
import { ApiError } from '../errors';
import { mediaToWire } from '../im/wire';
import { validateMedia } from '../media/validate';
import { created, requireAuth, type Ctx } from './context';

export default async function mediaRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  // The declared type is ignored: every body arrives as bytes and is judged by content.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.media.maxBytes }, (_req, body, done) => done(null, body));

  app.post('/api/media', {
    bodyLimit: ctx.media.maxBytes,
    schema: { summary: 'Upload a still or sticker as the raw body (PNG, JPEG, WebP, AVIF, GIF, BMP, TIFF, animated GIF/WebP, WebM)' },
  }, async (req, reply): Promise<MediaInfo> => {
    const { user } = await requireAuth(ctx, req);
    ctx.limiter.take('upload', user.id);
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new ApiError('ERR_VALIDATION', 'the body must be the file bytes', 'body');
    const v = await validateMedia(body, ctx.media);
    const id = createHash('sha256').update(body).digest('hex');
    const meta = await ctx.store.putMedia(
      { id, mime: v.mime, width: v.width, height: v.height, frames: v.frames, bytes: body.length, createdAt: Date.now() }, body, user.id);
    req.log.info({ mediaId: id, mime: v.mime, bytes: body.length }, 'media stored');
    return created(reply, mediaToWire(meta));
  });

  app.get<{ Params: { id: string } }>('/media/:id', {
    schema: { summary: 'Media bytes, for the uploader and members of conversations it was posted in',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 100 } }, required: ['id'] } },
  }, async (req, reply) => {
    const { user } = await requireAuth(ctx, req);
    const id = req.params.id;
    const meta = /^[0-9a-f]{64}$/.test(id) ? await ctx.store.getMedia(id) : null;
    if (!meta || !(await ctx.store.canReadMedia(user.id, id))) throw new ApiError('ERR_MEDIA_NOT_FOUND', 'no such media you may see');
    const etag = `"${id}"`;
    reply.header('etag', etag);
    // Content-addressed, so the bytes never change; private because access is per user.
    reply.header('cache-control', 'private, max-age=31536000, immutable');
    reply.header('content-disposition', 'inline');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    const bytes = await ctx.store.readMedia(id);
    if (!bytes) throw new ApiError('ERR_MEDIA_NOT_FOUND', 'the media bytes are missing');
    return reply.type(meta.mime).send(bytes);
  });
}
