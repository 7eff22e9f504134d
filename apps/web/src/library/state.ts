/** The user's sticker library (saved stickers and stills, kept on the server). */
import { api } from '../api';
import { Store } from '../store';
import type { MediaMeta, Sticker } from '../types';

export const library = new Store<{ items: Sticker[]; loaded: boolean; error: string | null }>({
  items: [],
  loaded: false,
  error: null,
});

export async function loadLibrary(): Promise<void> {
  try {
    library.set({ items: await api.stickers(), loaded: true, error: null });
  } catch (e) {
    library.set({ loaded: true, error: (e as Error).message });
  }
}

/** Saves media already on the server (no re-upload) to the library. */
export async function saveMedia(media: MediaMeta, name: string, tags: string[]): Promise<Sticker> {
  const st = await api.addSticker({ mediaId: media.id, name: name.slice(0, 100), tags });
  library.set((s) => ({ items: [st, ...s.items.filter((x) => x.id !== st.id)] }));
  return st;
}

/** Uploads captured bytes, then saves them to the library. */
export async function saveBytes(
  bytes: Blob,
  mime: string,
  name: string,
  tags: string[],
): Promise<Sticker> {
  const media = await api.upload(bytes, mime);
  return saveMedia(media, name, tags);
}

export async function removeSticker(id: string): Promise<void> {
  await api.deleteSticker(id);
  library.set((s) => ({ items: s.items.filter((x) => x.id !== id) }));
}

/** Tags typed as "cat, funny  reaction" → ["cat", "funny", "reaction"]. */
export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[,\s]+/)
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    ),
  ].slice(0, 20);
}
