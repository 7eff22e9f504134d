/**
 * Resumable uploads of shared videos: the tus 1.0 protocol (core, creation,
 * creation-with-upload, termination, expiration) at `/api/uploads`, by `@tus/server` over a
 * file store under `<dataDir>/uploads`. Our own hook runs first, before a byte of any body
 * is read: the session (and CSRF), the owner of the upload, the size cap, the in-flight
 * caps. The per-user quota and the cap on unfinished uploads are checked when an upload is
 * created, before its file exists. A finished upload becomes a video with
 * `POST /api/media {uploadId}` (routes/media.ts), which takes it out of here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Server as TusServer, EVENTS } from '@tus/server';
import { FileStore } from '@tus/file-store';
import { ERRORS, type ErrorCode } from '@clipchat/protocol';
import { ApiError } from '../errors';
import { closeAfterAnswer, InFlight } from '../http/upload-admission';
import { requireAuth, type Ctx } from './context';

/** How often expired unfinished uploads are deleted, ms. */
const SWEEP_MS = 3600_000;
const ID = /^[0-9a-f]{32}$/;

/** An unfinished (or finished but not yet checked) upload: whose, and how big it will be. */
export interface PendingUpload {
  id: string;
  owner: string;
  size: number;
  /** The name the client gave (`filename` metadata), at most 200 characters. */
  name: string;
}

/**
 * The uploads of this node. Shared with the media routes, which turn a finished upload
 * into a video and then {@link Uploads.discard} it.
 */
export class Uploads {
  readonly byId = new Map<string, PendingUpload>();
  /** Ids being turned into a video right now (one check at a time per upload). */
  readonly finishing = new Set<string>();
  constructor(
    readonly store: FileStore,
    readonly dir: string,
  ) {}

  /** Path of the upload's bytes. */
  path(id: string): string {
    return join(this.dir, id);
  }

  /** Bytes reserved by the user's unfinished uploads, and how many they are. */
  reservedBy(owner: string): { bytes: number; count: number } {
    let bytes = 0;
    let count = 0;
    for (const u of this.byId.values())
      if (u.owner === owner) {
        bytes += u.size;
        count++;
      }
    return { bytes, count };
  }

  /** The upload with its received offset, or null when unknown or someone else's. */
  async get(id: string, owner: string): Promise<(PendingUpload & { offset: number }) | null> {
    const u = ID.test(id) ? this.byId.get(id) : undefined;
    if (!u || u.owner !== owner) return null;
    try {
      const up = await this.store.getUpload(id);
      return { ...u, offset: up.offset };
    } catch {
      return null;
    }
  }

  /** Deletes the upload's file and info (idempotent). */
  async discard(id: string): Promise<void> {
    this.byId.delete(id);
    // The bytes may have been moved into the media store already; the info file goes either way.
    await this.store
      .remove(id)
      .catch(() => this.store.configstore.delete(id))
      .catch(() => {
        /* already gone */
      });
  }

  /** Rebuilds the index from the info files (at start and after expiry sweeps). */
  async reload(): Promise<void> {
    this.byId.clear();
    for (const id of (await this.store.configstore.list?.()) ?? []) {
      if (!ID.test(id)) continue;
      const info = await this.store.configstore.get(id);
      const owner = info?.metadata?.owner;
      if (info && typeof owner === 'string' && typeof info.size === 'number') {
        this.byId.set(id, {
          id,
          owner,
          size: info.size,
          name: String(info.metadata?.filename ?? '').slice(0, 200),
        });
      }
    }
  }
}

/** `{error}` body as the tus library sends it from a hook (it takes a status and a string body). */
function tusError(code: ErrorCode, message: string): { status_code: number; body: string } {
  return { status_code: ERRORS[code].status, body: JSON.stringify({ error: { code, message } }) };
}

const mib = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;

export default async function uploadRoutes(
  app: FastifyInstance,
  opts: { ctx: Ctx; uploads: Uploads },
): Promise<void> {
  const { ctx, uploads } = opts;
  const limits = ctx.video;
  await uploads.reload();
  const userOf = new WeakMap<IncomingMessage, string>();
  const inFlight = new InFlight({
    perUser: limits.uploadsInFlightPerUser,
    total: limits.uploadsInFlight,
  });

  const tus = new TusServer({
    path: '/api/uploads',
    datastore: uploads.store,
    maxSize: limits.maxBytes,
    relativeLocation: true,
    // Same origin only: no Access-Control-Allow-Origin.
    allowedOrigins: [],
    namingFunction: () => randomBytes(16).toString('hex'),
    async onUploadCreate(req, upload) {
      const owner = userOf.get(
        (req as unknown as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node
          ?.req as IncomingMessage,
      );
      if (!owner) throw tusError('ERR_UNAUTHENTICATED', 'log in first');
      const size = upload.size;
      if (size === undefined)
        throw tusError(
          'ERR_VALIDATION',
          'Upload-Length is required (deferred lengths are not accepted)',
        );
      const stored = await uploadedBytes(owner);
      // From here to the reservation nothing awaits: two creations at once cannot both pass.
      const mine = uploads.reservedBy(owner);
      if (mine.count >= limits.pendingUploadsPerUser) {
        throw tusError(
          'ERR_QUOTA_EXCEEDED',
          `you have ${mine.count} unfinished uploads, the most allowed; finish or cancel one first`,
        );
      }
      if (stored + mine.bytes + size > limits.quotaBytes) {
        throw tusError(
          'ERR_QUOTA_EXCEEDED',
          `this upload (${mib(size)}) would take you past your storage quota of ${mib(limits.quotaBytes)}: ` +
            `you use ${mib(stored)} and ${mib(mine.bytes)} more are reserved by unfinished uploads`,
        );
      }
      const name = String(upload.metadata?.filename ?? '').slice(0, 200);
      uploads.byId.set(upload.id, { id: upload.id, owner, size, name });
      return { metadata: { ...upload.metadata, owner } };
    },
  });
  // A creation the store then failed releases its reservation; so does a cancel.
  tus.on(EVENTS.POST_TERMINATE, (_req, _res, id: string) => {
    uploads.byId.delete(id);
  });
  const uploadedBytes = (owner: string) => ctx.store.uploadedBytes(owner);

  const sweep = setInterval(() => {
    tus
      .cleanUpExpiredUploads()
      .then(() => uploads.reload())
      .catch((e: unknown) => app.log.warn({ err: e }, 'deleting expired uploads failed'));
  }, SWEEP_MS);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));

  /** Everything checkable before the body: refused requests close their connection unread. */
  const admit = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    try {
      const { user } = await requireAuth(ctx, req);
      const method = req.method;
      const id = (req.params as { id?: string }).id;
      if (id !== undefined && !(await uploads.get(id, user.id))) {
        throw new ApiError(
          'ERR_UPLOAD_NOT_FOUND',
          `no upload ${JSON.stringify(id.slice(0, 40))} of yours (unknown, expired, cancelled or already used)`,
        );
      }
      if (method === 'POST') {
        await ctx.limiter.take('upload', user.id);
        if (
          req.headers['upload-defer-length'] !== undefined ||
          req.headers['upload-concat'] !== undefined
        ) {
          throw new ApiError(
            'ERR_VALIDATION',
            'give Upload-Length when creating an upload (deferred lengths and concatenation are not accepted)',
            'Upload-Length',
          );
        }
        const raw = req.headers['upload-length'];
        const size = typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
        if (!Number.isSafeInteger(size) || size <= 0)
          throw new ApiError(
            'ERR_VALIDATION',
            'Upload-Length must be the file size in bytes, at least 1',
            'Upload-Length',
          );
        if (size > limits.maxBytes) {
          throw new ApiError(
            'ERR_PAYLOAD_TOO_LARGE',
            `the video is ${mib(size)}; at most ${mib(limits.maxBytes)} may be uploaded`,
            'Upload-Length',
          );
        }
      }
      // Requests that carry bytes (PATCH, creation-with-upload) count against the in-flight caps.
      if (method === 'PATCH' || method === 'POST') {
        inFlight.take(user.id, reply);
      }
      userOf.set(req.raw, user.id);
    } catch (e) {
      closeAfterAnswer(req, reply);
      throw e;
    }
  };

  // Bodies are the tus library's to read (streamed to disk): Fastify must not touch them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    await tus.handle(req.raw, reply.raw);
  };
  const schema = { hide: true };
  app.route({
    method: ['POST', 'OPTIONS'],
    url: '/api/uploads',
    onRequest: admit,
    schema,
    handler: handle,
  });
  app.route({
    method: ['HEAD', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/api/uploads/:id',
    onRequest: admit,
    schema,
    handler: handle,
  });
}
