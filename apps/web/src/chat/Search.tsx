/**
 * The search box in the top bar: Ctrl/Cmd+K or "/" focuses it. Typing waits for a pause
 * (DEBOUNCE_MS) before asking `GET /api/search`; a newer query cancels the request still
 * running, so results never come from stale words. Results show sender, conversation,
 * the matching words marked and the date; a click or Enter opens the message in its
 * conversation (loading the history around it). Stickers and stills of my library whose
 * name or tags match are listed too; picking one sends it into the open conversation.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { describeSource } from '../format';
import { library } from '../library/state';
import { useStore } from '../store';
import type { Message, Sticker } from '../types';
import { titleOf } from './ConversationList';
import { openMessage } from './history';
import { fold, queryWords, snippet } from './snippet';
import { chat, send } from './state';
import './Search.css';

/** Pause in typing before a search is sent, ms. */
const DEBOUNCE_MS = 250;

type Item = { kind: 'message'; m: Message } | { kind: 'sticker'; s: Sticker };

function libraryMatches(s: Sticker, words: string[]): boolean {
  const hay = [s.name, ...s.tags].map(fold);
  return words.length > 0 && words.every((w) => hay.some((h) => h.includes(w)));
}

function when(ms: number): string {
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' });
}

/** True when a key press lands in a text field (then "/" is typed, not a shortcut). */
function inField(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

export function Search() {
  const c = useStore(chat);
  const lib = useStore(library);
  const input = useRef<HTMLInputElement>(null);
  const [q, setQ] = useState('');
  const [found, setFound] = useState<{ q: string; messages: Message[] } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);

  // Ctrl/Cmd+K anywhere, or "/" outside a text field, focuses the box.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (
        ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') ||
        (e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey && !inField(e.target))
      ) {
        e.preventDefault();
        input.current?.focus();
        input.current?.select();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  // Debounced search; each new query aborts the one before.
  useEffect(() => {
    const words = queryWords(q);
    if (!words.length) {
      setFound(null);
      setBusy(false);
      setError(null);
      return;
    }
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      setBusy(true);
      api
        .search(q, ctl.signal)
        .then(
          (messages) => {
            if (ctl.signal.aborted) return;
            setFound({ q, messages });
            setError(null);
            setActive(0);
          },
          (e) => {
            if (ctl.signal.aborted) return;
            setError(e instanceof ApiError ? e.message : (e as Error).message);
          },
        )
        .finally(() => {
          if (!ctl.signal.aborted) setBusy(false);
        });
    }, DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [q]);

  const words = queryWords(q);
  const stickers = lib.items.filter((s) => libraryMatches(s, words)).slice(0, 8);
  const items: Item[] = [
    ...(found?.messages ?? []).map((m) => ({ kind: 'message' as const, m })),
    ...stickers.map((s) => ({ kind: 'sticker' as const, s })),
  ];

  const pick = (it: Item | undefined) => {
    if (!it) return;
    setOpen(false);
    if (it.kind === 'message')
      void openMessage(it.m).catch((e) =>
        chat.set({ notice: `Could not open the message: ${(e as Error).message}` }),
      );
    else if (c.activeId)
      void send(c.activeId, {
        kind: it.s.media.frames > 1 ? 'sticker' : 'still',
        stickerId: it.s.id,
        media: it.s.media,
      });
    else chat.set({ notice: 'Open a conversation first to send a sticker from your library.' });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      setActive((i) => Math.min(items.length - 1, i + 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((i) => Math.max(0, i - 1));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      pick(items[active]);
    } else if (e.key === 'Escape') {
      setOpen(false);
      input.current?.blur();
    }
  };

  const conv = (id: string) => c.conversations.find((x) => x.id === id);
  const show = open && words.length > 0;
  const optionId = (i: number) => `search-option-${i}`;
  return (
    <div
      class="search"
      onFocusOut={(e) => {
        if (!(e.currentTarget as HTMLElement).contains(e.relatedTarget as Node | null))
          setOpen(false);
      }}
    >
      <input
        ref={input}
        type="search"
        class="search-input"
        aria-label="Search messages"
        placeholder="Search messages (Ctrl+K)"
        value={q}
        onInput={(e) => {
          setQ((e.target as HTMLInputElement).value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onKeyDown={onKeyDown}
        role="combobox"
        list={undefined}
        aria-expanded={show}
        aria-controls="search-results"
        aria-activedescendant={show && items[active] ? optionId(active) : undefined}
        data-testid="search"
      />
      {show && (
        <div class="search-results" id="search-results" data-testid="search-results">
          {busy && !found && <p class="muted small">Searching…</p>}
          {error && (
            <p class="small search-error" role="alert">
              {error}
            </p>
          )}
          {found && !items.length && !busy && (
            <p class="muted small">Nothing found for “{found.q}”.</p>
          )}
          <ul role="listbox" aria-label="Search results">
            {items.map((it, i) =>
              it.kind === 'message' ? (
                <li
                  key={it.m.id}
                  id={optionId(i)}
                  role="option"
                  aria-selected={i === active}
                  data-testid="search-result"
                  data-seq={it.m.seq}
                  class={`search-item ${i === active ? 'active' : ''}`}
                  onMouseDown={(e) => e.preventDefault()}
                  onClick={() => pick(it)}
                  onMouseEnter={() => setActive(i)}
                >
                  <span class="search-head">
                    <b>{it.m.sender}</b>
                    <span class="muted">
                      {' '}
                      in{' '}
                      {(() => {
                        const x = conv(it.m.conversationId);
                        return x ? titleOf(x, c.me?.id) : 'a conversation';
                      })()}
                    </span>
                    <span class="muted search-date">{when(it.m.createdAt)}</span>
                  </span>
                  <span class="search-snippet">
                    {it.m.kind !== 'text' && (
                      <span class="muted">
                        {it.m.kind === 'still'
                          ? 'Still'
                          : it.m.kind === 'sticker'
                            ? 'Sticker'
                            : it.m.kind === 'video'
                              ? 'Video'
                              : ''}
                        {it.m.source ? ' · ' : ''}
                      </span>
                    )}
                    {snippet(
                      it.m.text ?? (it.m.source ? describeSource(it.m.source) : ''),
                      found?.q ?? q,
                    ).map((p) => (p.mark ? <mark>{p.text}</mark> : p.text))}
                  </span>
                </li>
              ) : (
                <li
                  key={it.s.id}
                  id={optionId(i)}
                  role="option"
                  aria-selected={i === active}
                  data-testid="search-sticker"
                  class={`search-item ${i === active ? 'active' : ''}`}
                  onMouseDown={(e) => e.preventDefault()}
                  onClick={() => pick(it)}
                  onMouseEnter={() => setActive(i)}
                >
                  <span class="search-head">
                    <b>{it.s.name || 'Sticker'}</b>
                    <span class="muted"> in my stickers — send</span>
                  </span>
                  <span class="search-snippet muted">
                    {it.s.tags.map((t) => `#${t}`).join(' ')}
                  </span>
                </li>
              ),
            )}
          </ul>
        </div>
      )}
    </div>
  );
}
