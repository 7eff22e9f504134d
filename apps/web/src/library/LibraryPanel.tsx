/**
 * My stickers and stills: search by tag or name, click to send, delete. A panel beside the
 * composer, not a modal: the conversation stays usable while it is open.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
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

export function LibraryPanel({ onClose }: { onClose: () => void }) {
  const lib = useStore(library);
  const c = useStore(chat);
  const [q, setQ] = useState('');
  const [error, setError] = useState<string | null>(null);
  const panel = useRef<HTMLElement>(null);
  const search = useRef<HTMLInputElement>(null);
  // Opened, the keyboard goes to the search field; closed while the focus is in here, it
  // goes back to what had it before (the library button), not to the page's body.
  useLayoutEffect(() => {
    const opener = document.activeElement;
    search.current?.focus();
    return () => {
      const inside = panel.current?.contains(document.activeElement) ?? false;
      if (inside && opener instanceof HTMLElement && opener.isConnected) opener.focus();
    };
  }, []);
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
    <section
      ref={panel}
      class="library"
      aria-label="My stickers"
      data-testid="library"
      // Esc closes the library (and is not the capture's Esc, which cancels a sticker job).
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <div class="library-head">
        <input
          ref={search}
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
