/**
 * Sharing the opened video into the conversation, only when the person asks ("Share this
 * video"): a resumable tus upload (tus-js-client) with progress and cancel, the server's
 * check (`POST /api/media {uploadId}`), then a `video` message. An upload cut by a reload
 * or a dropped connection resumes from its offset: tus-js-client remembers the upload URL
 * of this file (name, type, size, date) in localStorage; opening the same file again
 * offers "Resume sharing" ({@link findResumable}), which continues it.
 */
import { CSRF_HEADER } from '@clipchat/protocol';
import { api, ApiError, csrfToken } from '../api';
import { send } from '../chat/state';
import { Store } from '../store';
import type { MediaMeta } from '../types';

/** Bytes per PATCH: each must arrive within the server's request timeout (60 s ⇒ ≥ 280 KB/s). */
const CHUNK_BYTES = 16 * 1024 * 1024;
/** The tus endpoint; part of the fingerprint an unfinished upload is remembered by. */
const ENDPOINT = '/api/uploads';

export interface ShareState {
  /** What is going on: nothing, sending bytes, the server checking, done, or failed. */
  phase: 'idle' | 'uploading' | 'checking' | 'done' | 'error';
  name: string;
  sent: number;
  total: number;
  error: string | null;
  /** The stored video, once checked. */
  media: MediaMeta | null;
  /**
   * An earlier, unfinished share of the file that is open (same name, type, size and date),
   * which the server still holds `sent` bytes of: "Resume sharing" continues it from there.
   */
  resumable: { file: File; sent: number; total: number } | null;
}

export const share = new Store<ShareState>({
  phase: 'idle',
  name: '',
  sent: 0,
  total: 0,
  error: null,
  media: null,
  resumable: null,
});

let current: { abort(terminate: boolean): Promise<void> } | null = null;

/** Uploads `file` (resuming an earlier try of the same file), has it checked, and sends it into `conversationId`. */
export async function shareVideo(file: File, conversationId: string): Promise<void> {
  if (current) return;
  const { Upload } = await import('tus-js-client');
  share.set({
    phase: 'uploading',
    name: file.name,
    sent: 0,
    total: file.size,
    error: null,
    media: null,
    resumable: null,
  });
  const headers: Record<string, string> = {};
  const t = csrfToken();
  if (t) headers[CSRF_HEADER] = t;
  let uploadUrl: string | null;
  try {
    uploadUrl = await new Promise<string | null>((resolve, reject) => {
      const up = new Upload(file, {
        endpoint: ENDPOINT,
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
  if (!uploadUrl) {
    share.set({ phase: 'idle' });
    return;
  }
  share.set({ phase: 'checking' });
  try {
    const media = await api.finishUpload(uploadUrl.split('/').pop()!);
    share.set({ phase: 'done', media });
    await send(conversationId, {
      kind: 'video',
      media,
      source: { video: file.name.slice(0, 200) },
    });
  } catch (e) {
    share.set({
      phase: 'error',
      error:
        e instanceof ApiError ? `The server refused the video: ${e.message}` : (e as Error).message,
    });
  }
}

/** Stops the upload and deletes what the server received so far. */
export async function cancelShare(): Promise<void> {
  const c = current;
  current = null;
  await c?.abort(true);
  share.set({ phase: 'idle', sent: 0, total: 0, resumable: null });
}

/**
 * Looks for an unfinished share of `file` (tus-js-client's fingerprint of it in
 * localStorage) and asks the server how much of it it holds (tus `HEAD`). Found:
 * `share.resumable` offers to continue it. Uploads the server no longer knows (expired,
 * cancelled, used) are forgotten.
 */
export async function findResumable(file: File): Promise<void> {
  share.set({ resumable: null });
  if (current) return;
  const { Upload } = await import('tus-js-client');
  const up = new Upload(file, { endpoint: ENDPOINT });
  const previous = await up.findPreviousUploads().catch(() => []);
  const storage = up.options.urlStorage;
  for (const p of previous.sort((a, b) => (b.creationTime > a.creationTime ? 1 : -1))) {
    const offset = p.uploadUrl ? await serverOffset(p.uploadUrl) : null;
    if (offset === null) {
      await storage?.removeUpload(p.urlStorageKey).catch(() => {});
      continue;
    }
    // Only when this file is still the one open, and nothing started meanwhile.
    if (!current && share.get().phase !== 'uploading')
      share.set({ resumable: { file, sent: offset, total: file.size } });
    return;
  }
}

/** Bytes the server holds of the upload at `url` (tus HEAD), or null when it is gone or not ours. */
async function serverOffset(url: string): Promise<number | null> {
  try {
    const r = await fetch(url, {
      method: 'HEAD',
      headers: { 'tus-resumable': '1.0.0' },
      cache: 'no-store',
    });
    const offset = Number(r.headers.get('upload-offset'));
    return r.ok && Number.isSafeInteger(offset) ? offset : null;
  } catch {
    return null;
  }
}

/** The server's `{error}` message inside a tus-js-client error, else its own words. */
function tusMessage(e: unknown): string {
  const body = (e as { originalResponse?: { getBody(): string } }).originalResponse?.getBody?.();
  try {
    const m = body
      ? (JSON.parse(body) as { error?: { message?: string } }).error?.message
      : undefined;
    if (m) return m;
  } catch {
    /* not ours */
  }
  return (e as Error).message ?? String(e);
}
