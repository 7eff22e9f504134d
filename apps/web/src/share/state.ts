/**
 * Sharing the opened video into the conversation, only when the person asks ("Share this
 * video"): a resumable tus upload (tus-js-client) with progress and cancel, the server's
 * check (`POST /api/media {uploadId}`), then a `video` message. An upload cut by a reload
 * or a dropped connection resumes from its offset: tus-js-client remembers the upload URL
 * of this file (name, type, size, date) in localStorage, and sharing the same file again
 * continues it.
 */
import { CSRF_HEADER } from '@clipchat/protocol';
import { api, ApiError, csrfToken } from '../api';
import { send } from '../chat/state';
import { Store } from '../store';
import type { MediaMeta } from '../types';

/** Bytes per PATCH: each must arrive within the server's request timeout (60 s ⇒ ≥ 280 KB/s). */
const CHUNK_BYTES = 16 * 1024 * 1024;

export interface ShareState {
  /** What is going on: nothing, sending bytes, the server checking, done, or failed. */
  phase: 'idle' | 'uploading' | 'checking' | 'done' | 'error';
  name: string;
  sent: number;
  total: number;
  error: string | null;
  /** The stored video, once checked. */
  media: MediaMeta | null;
}

export const share = new Store<ShareState>({ phase: 'idle', name: '', sent: 0, total: 0, error: null, media: null });

let current: { abort(terminate: boolean): Promise<void> } | null = null;

/** Uploads `file` (resuming an earlier try of the same file), has it checked, and sends it into `conversationId`. */
export async function shareVideo(file: File, conversationId: string): Promise<void> {
  if (current) return;
  const { Upload } = await import('tus-js-client');
  share.set({ phase: 'uploading', name: file.name, sent: 0, total: file.size, error: null, media: null });
  const headers: Record<string, string> = {};
  const t = csrfToken();
  if (t) headers[CSRF_HEADER] = t;
  let uploadUrl: string | null;
  try {
    uploadUrl = await new Promise<string | null>((resolve, reject) => {
      const up = new Upload(file, {
        endpoint: '/api/uploads',
        chunkSize: CHUNK_BYTES,
        metadata: { filename: file.name.slice(0, 200), filetype: file.type },
        headers,
        retryDelays: [0, 1000, 3000, 5000, 10000],
        removeFingerprintOnSuccess: true,
        onProgress: (sent, total) => share.set({ sent, total }),
        onError: (e) => reject(e),
        onSuccess: () => resolve(up.url),
      });
      current = {
        abort: async (terminate) => {
          await up.abort(terminate).catch(() => {});
          resolve(null);
        },
      };
      // A previous try of this very file: continue it from its offset.
      void up.findPreviousUploads().then((previous) => {
        const last = previous.sort((a, b) => (b.creationTime > a.creationTime ? 1 : -1))[0];
        if (last) up.resumeFromPreviousUpload(last);
        up.start();
      });
    });
  } catch (e) {
    current = null;
    share.set({ phase: 'error', error: `The upload failed: ${tusMessage(e)}` });
    return;
  }
  current = null;
  if (!uploadUrl) { share.set({ phase: 'idle' }); return; }
  share.set({ phase: 'checking' });
  try {
    const media = await api.finishUpload(uploadUrl.split('/').pop()!);
    share.set({ phase: 'done', media });
    await send(conversationId, { kind: 'video', media, source: { video: file.name.slice(0, 200) } });
  } catch (e) {
    share.set({ phase: 'error', error: e instanceof ApiError ? `The server refused the video: ${e.message}` : (e as Error).message });
  }
}

/** Stops the upload and deletes what the server received so far. */
export async function cancelShare(): Promise<void> {
  const c = current;
  current = null;
  await c?.abort(true);
  share.set({ phase: 'idle', sent: 0, total: 0 });
}

/** The server's `{error}` message inside a tus-js-client error, else its own words. */
function tusMessage(e: unknown): string {
  const body = (e as { originalResponse?: { getBody(): string } }).originalResponse?.getBody?.();
  try {
    const m = body ? (JSON.parse(body) as { error?: { message?: string } }).error?.message : undefined;
    if (m) return m;
  } catch { /* not ours */ }
  return (e as Error).message ?? String(e);
}
