/**
 * Uploads (raw body, validated by content) and serving media to those allowed to see it.
 * An upload's session, rate limit and in-flight caps are checked in `onRequest`, before a
 * byte of its body is read: a refused upload is answered at once and its connection
 * closed, so anonymous clients cannot make the server buffer anything.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { checker, FinishUpload, type MediaInfo } from '@clipchat/protocol';
import parseRange from 'range-parser';
import sharp from 'sharp';
import { ApiError } from '../errors';
import { closeAfterAnswer, InFlight } from '../http/upload-admission';
import type { Auth } from '../http/auth';
import { mediaToWire } from '../im/wire';
import { peekUpload } from '../media/peek';
import { DecodeAborted, DecodePool } from '../media/pool';
import { validateMedia } from '../media/validate';
import { hashFile, makePoster, probeVideo } from '../media/video';
import { created, requireAuth, S, type Ctx } from './context';
import type { Uploads } from './uploads';

const finishCheck = checker(FinishUpload);
/** Largest JSON body of `POST /api/media {uploadId}`, bytes. */
const MAX_FINISH_BODY = 1024;

export default async function mediaRoutes(
  app: FastifyInstance,
  opts: { ctx: Ctx; uploads: Uploads },
): Promise<void> {
  const { ctx, uploads } = opts;
  let probing = 0;
  const pool = new DecodePool({
    concurrency: ctx.media.decodeConcurrency,
    queue: ctx.media.decodeQueue,
    timeoutMs: ctx.media.decodeTimeoutMs,
  });
  app.addHook('onClose', async () => pool.close());
  const authOf = new WeakMap<FastifyRequest, Auth>();
  const inFlight = new InFlight({
    perUser: ctx.media.uploadsInFlightPerUser,
    total: ctx.media.uploadsInFlight,
  });

  /** Session, rate limit and in-flight caps, before the body: refused uploads close the connection unread. */
  const admit = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    try {
      const auth = await requireAuth(ctx, req);
      await ctx.limiter.take('upload', auth.user.id);
      inFlight.take(auth.user.id, reply);
      authOf.set(req, auth);
    } catch (e) {
      closeAfterAnswer(req, reply);
      throw e;
    }
  };

  // The declared type is ignored: every body arrives as bytes and is judged by content.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: ctx.media.maxBytes },
    (_req, body, done) => done(null, body),
  );

  app.post(
    '/api/media',
    {
      bodyLimit: ctx.media.maxBytes,
      onRequest: admit,
      // Raw bodies are looked at as they arrive: a JPEG scan bomb is refused after its first
      // 64 KiB, its connection closed unread.
      preParsing: async (req, reply, payload) =>
        /^application\/json\b/i.test(req.headers['content-type'] ?? '')
          ? payload
          : payload.pipe(peekUpload(ctx.media.maxJpegScans, () => closeAfterAnswer(req, reply))),
      schema: {
        summary:
          'Upload a still or sticker as the raw body (PNG, JPEG, WebP, AVIF, GIF, BMP, TIFF, animated GIF/WebP, WebM); or, with a JSON body {uploadId}, check a finished resumable upload and store it as a video',
      },
    },
    async (req, reply): Promise<MediaInfo> => {
      const { user } = authOf.get(req)!;
      const body = req.body;
      if (/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        if (!Buffer.isBuffer(body) || body.length > MAX_FINISH_BODY) {
          throw new ApiError(
            'ERR_PAYLOAD_TOO_LARGE',
            `a JSON body here is {"uploadId": "…"}, at most ${MAX_FINISH_BODY} bytes`,
          );
        }
        let json: unknown;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          throw new ApiError('ERR_BAD_JSON', 'the body is not valid JSON');
        }
        const problem = finishCheck.problem(json, 'body');
        if (problem) throw new ApiError('ERR_VALIDATION', problem.message, problem.field);
        return created(
          reply,
          await finishUpload(user.id, (json as FinishUpload).uploadId, req.log),
        );
      }
      if (!Buffer.isBuffer(body) || body.length === 0)
        throw new ApiError('ERR_VALIDATION', 'the body must be the file bytes', 'body');
      // A client that goes away stops its decode: the decoder process is killed.
      const gone = new AbortController();
      const socket = req.raw.socket;
      const abort = () => gone.abort();
      socket.once('close', abort);
      if (socket.destroyed) gone.abort();
      let v;
      try {
        v = await validateMedia(body, ctx.media, { pool, signal: gone.signal });
      } catch (e) {
        if (e instanceof DecodeAborted) throw new ApiError('ERR_VALIDATION', e.message);
        throw e;
      } finally {
        socket.off('close', abort);
      }
      const id = createHash('sha256').update(body).digest('hex');
      const meta = await ctx.store.putMedia(
        {
          id,
          mime: v.mime,
          width: v.width,
          height: v.height,
          frames: v.frames,
          bytes: body.length,
          createdAt: Date.now(),
        },
        body,
        user.id,
      );
      req.log.info({ mediaId: id, mime: v.mime, bytes: body.length }, 'media stored');
      return created(reply, mediaToWire(meta));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/media/:id',
    {
      schema: {
        summary: 'Media bytes, for the uploader and members of conversations it was posted in',
        params: S.idParams,
      },
    },
    async (req, reply) => {
      const { user } = await requireAuth(ctx, req);
      const id = req.params.id;
      const meta = /^[0-9a-f]{64}$/.test(id) ? await ctx.store.getMedia(id) : null;
      if (!meta || !(await ctx.store.canReadMedia(user.id, id)))
        throw new ApiError('ERR_MEDIA_NOT_FOUND', 'no such media you may see');
      const etag = `"${id}"`;
      reply.header('etag', etag);
      // Content-addressed, so the bytes never change; private because access is per user.
      reply.header('cache-control', 'private, max-age=31536000, immutable');
      reply.header('content-disposition', 'inline');
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      reply.header('accept-ranges', 'bytes');
      reply.type(meta.mime);
      const size = meta.bytes;
      let range: { start: number; end: number } | undefined;
      const header = req.headers.range;
      // If-Range with another validator asks for the whole (changed) file; ours never changes.
      const ifRange = req.headers['if-range'];
      if (header !== undefined && (ifRange === undefined || ifRange === etag)) {
        const r = header.length <= 200 ? parseRange(size, header, { combine: true }) : -2;
        if (r === -1 || r === -2 || r.type !== 'bytes' || r.length !== 1) {
          reply.header('content-range', `bytes */${size}`);
          throw new ApiError(
            'ERR_RANGE_NOT_SATISFIABLE',
            r === -1
              ? `the range ${JSON.stringify(header.slice(0, 100))} starts past the end; the media has ${size} bytes`
              : `the Range header ${JSON.stringify(header.slice(0, 100))} is not one byte range; send bytes=START-END, bytes=START- or bytes=-SUFFIX within ${size} bytes`,
          );
        }
        range = r[0]!;
      }
      const stream = await ctx.store.openMedia(id, range);
      if (!stream) throw new ApiError('ERR_MEDIA_NOT_FOUND', 'the media bytes are missing');
      if (range) {
        reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
        reply.header('content-length', String(range.end - range.start + 1));
      } else {
        reply.header('content-length', String(size));
      }
      return reply.send(stream);
    },
  );

  /** Checks a finished upload with ffprobe, makes its poster, stores both; the upload is gone afterwards either way. */
  async function finishUpload(
    userId: string,
    uploadId: string,
    log: FastifyRequest['log'],
  ): Promise<MediaInfo> {
    const up = await uploads.get(uploadId, userId);
    if (!up || uploads.finishing.has(uploadId)) {
      throw new ApiError(
        'ERR_UPLOAD_NOT_FOUND',
        `no finished upload ${JSON.stringify(uploadId)} of yours (unknown, expired, cancelled, already used or being checked)`,
        'uploadId',
      );
    }
    if (up.offset !== up.size) {
      throw new ApiError(
        'ERR_UPLOAD_INCOMPLETE',
        `the upload has ${up.offset} of its ${up.size} bytes; send the rest first (tus PATCH from offset ${up.offset})`,
        'uploadId',
      );
    }
    if (probing >= ctx.video.probeConcurrency) {
      throw new ApiError(
        'ERR_MEDIA_BUSY',
        `the server is checking ${probing} videos, its limit; retry shortly`,
        undefined,
        1,
      );
    }
    probing++;
    uploads.finishing.add(uploadId);
    const path = uploads.path(uploadId);
    try {
      const v = await probeVideo(path, up.size, {
        maxSide: ctx.video.maxSide,
        maxDurationSeconds: ctx.video.maxDurationSeconds,
        timeoutMs: ctx.media.probeTimeoutMs,
      });
      const posterBytes = await makePoster(path, v.duration, ctx.media.decodeTimeoutMs * 2);
      const pm = await sharp(posterBytes).metadata();
      const id = await hashFile(path);
      const now = Date.now();
      const posterId = createHash('sha256').update(posterBytes).digest('hex');
      await ctx.store.putMedia(
        {
          id: posterId,
          mime: 'image/jpeg',
          width: pm.width ?? 0,
          height: pm.height ?? 0,
          frames: 1,
          bytes: posterBytes.length,
          createdAt: now,
        },
        posterBytes,
        userId,
      );
      const meta = await ctx.store.putMediaFile(
        {
          id,
          mime: v.mime,
          width: v.width,
          height: v.height,
          frames: v.frames,
          bytes: up.size,
          createdAt: now,
          video: { duration: v.duration, codec: v.codec, poster: posterId },
        },
        path,
        userId,
      );
      log.info(
        { mediaId: id, mime: v.mime, bytes: up.size, codec: v.codec, duration: v.duration },
        'video stored',
      );
      return mediaToWire(meta);
    } finally {
      // Stored or refused, the upload is used up: nothing of a refused video stays behind.
      probing--;
      uploads.finishing.delete(uploadId);
      await uploads.discard(uploadId);
    }
  }
}
