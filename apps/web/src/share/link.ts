/**
 * Opening a video from a link (an `https://` URL of an MP4/WebM file): the browser reads
 * it itself, by range requests, with the same engine as a local file, so it plays and
 * captures frame-exactly — when the site allows other sites to read it (CORS). When it
 * does not, the browser can neither fetch its bytes nor read its pixels: we say so and
 * offer to download it, to open (and share) as a file. The server never fetches links.
 */
import { cap, openSource } from '../capture/state';
import { Store } from '../store';

export interface LinkState {
  checking: boolean;
  /** Why the link cannot be opened, in words a person reads. */
  error: string | null;
  /** A link whose site refuses other sites (no CORS headers): offered for download instead. */
  blocked: string | null;
}

export const link = new Store<LinkState>({ checking: false, error: null, blocked: null });

/** Longest link accepted, characters. */
const MAX_LINK = 2048;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** What is wrong with `raw` as a video link, or null. Plain http only for this machine (loopback). */
function linkProblem(raw: string): string | null {
  const text = raw.trim();
  if (!text) return 'Paste the link of a video (https://…/video.mp4).';
  if (text.length > MAX_LINK)
    return `That link is ${text.length} characters long; at most ${MAX_LINK} are accepted.`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return 'That is not a link: paste an address starting with https://';
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && LOOPBACK.has(u.hostname)) return null;
  return `Only https:// links can be opened (http:// only on this computer, localhost); got ${u.protocol}//…`;
}

/** The file name a link points at, for the player's title and captions. */
function nameOfLink(url: string): string {
  const u = new URL(url);
  const last = decodeURIComponent(u.pathname.split('/').filter(Boolean).pop() ?? '');
  return (last || u.hostname).slice(0, 200);
}

/** Can this page read the link? `cors`: the site answers, but not to other sites. */
async function reach(url: string): Promise<'ok' | 'cors' | 'unreachable' | { status: number }> {
  try {
    const r = await fetch(url, {
      headers: { range: 'bytes=0-0' },
      credentials: 'omit',
      cache: 'no-store',
    });
    await r.body?.cancel().catch(() => {});
    return r.ok ? 'ok' : { status: r.status };
  } catch {
    // An opaque answer means the site is there and refused to be read: CORS, not the network.
    try {
      await fetch(url, { method: 'HEAD', mode: 'no-cors', credentials: 'omit', cache: 'no-store' });
      return 'cors';
    } catch {
      return 'unreachable';
    }
  }
}

/** Opens the video at `raw` in the player (see the module comment). */
export async function openLink(raw: string): Promise<void> {
  const problem = linkProblem(raw);
  if (problem) {
    link.set({ error: problem, blocked: null });
    return;
  }
  const url = new URL(raw.trim()).href;
  const host = new URL(url).host;
  link.set({ checking: true, error: null, blocked: null });
  const r = await reach(url);
  if (r !== 'ok') {
    link.set({
      checking: false,
      blocked: r === 'cors' ? url : null,
      error:
        r === 'cors'
          ? `${host} does not let other sites read this video (it sends no CORS headers), so Clipchat cannot play or capture it from the link.`
          : r === 'unreachable'
            ? `${host} could not be reached: check the link.`
            : `${host} answered ${r.status} for this link: it is not a video Clipchat can read.`,
    });
    return;
  }
  link.set({ checking: false });
  const old = cap.get();
  if (old.url?.startsWith('blob:')) URL.revokeObjectURL(old.url);
  const name = nameOfLink(url);
  cap.set({
    file: null,
    url,
    sharedId: null,
    name,
    info: null,
    opening: true,
    error: null,
    slowNotice: null,
    range: null,
    rangeNote: null,
    crop: null,
    estimate: null,
    goTo: null,
  });
  await openSource(url, name);
}

/** True when the player's video is a link (another site): read with CORS, so its pixels are ours to capture. */
export function isLink(url: string | null): boolean {
  return !!url && /^https?:\/\//.test(url);
}
