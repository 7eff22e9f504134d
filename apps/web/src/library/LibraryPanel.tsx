/** My stickers and stills: search by tag or name, click to send, delete. */
import { useEffect, useState } from 'preact/hooks';
import { chat, send } from '../chat/state';
import { Media } from '../chat/Media';
import { useStore } from '../store';
import type { Sticker } from '../types';
import { library, loadLibrary, removeSticker } from './state';

function matches(s: Sticker, q: string): boolean {
  if (!q) return true;
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  const hay = [s.name.toLowerCase(), ...s.tags.map((t) => t.toLowerCase())];
  return words.every((w) => hay.some((h) => h.includes(w)));
}

export function LibraryPanel() {
  const lib = useStore(library);
  const c = useStore(chat);
  const [q, setQ] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!lib.loaded) void loadLibrary();
  }, []);
  const items = lib.items.filter((s) => matches(s, q));
  const pick = (s: Sticker) => {
    if (!c.activeId) {
      setError('Open a conversation first.');
      return;
    }
    void send(c.activeId, {
      kind: s.media.frames > 1 ? 'sticker' : 'still',
      stickerId: s.id,
      media: s.media,
    });
  };
  return (
    <section class="library" aria-label="My stickers" data-testid="library">
      <div class="library-head">
        <input
          type="search"
          placeholder="Search tags"
          value={q}
          aria-label="Search stickers by tag"
          onInput={(e) => setQ(e.currentTarget.value)}
        />
      </div>
      {error && <p class="notice error">{error}</p>}
      {lib.error && <p class="notice error">{lib.error}</p>}
      <ul class="grid">
        {items.map((s) => (
          <li key={s.id} class="tile" data-testid="library-item" data-frames={s.media.frames}>
            <button
              class="tile-send"
              onClick={() => pick(s)}
              title={`Send “${s.name}”${s.tags.length ? ` · ${s.tags.join(', ')}` : ''}`}
            >
              <Media media={s.media} alt={s.name} />
            </button>
            <button
              class="tile-delete"
              aria-label={`Delete ${s.name}`}
              title="Delete"
              onClick={() => void removeSticker(s.id)}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      {lib.loaded && !items.length && (
        <p class="muted empty">
          {q ? 'No sticker has that tag.' : 'Saved stickers and stills appear here.'}
        </p>
      )}
    </section>
  );
}
