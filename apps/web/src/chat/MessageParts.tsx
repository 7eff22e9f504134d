/**
 * The parts of a message beside its content: the quote of the message it answers, the
 * reactions under the bubble, the actions menu (reply, react, edit, delete for everyone),
 * the reaction picker and the delete confirmation. All are buttons with labels and work
 * from the keyboard: Enter/Space opens, arrows move in the menu, Esc closes.
 */
import { emojiProblem, REACTION_SET } from '@clipchat/protocol';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { mediaUrl } from '../api';
import type { Message } from '../types';
import {
  canDelete,
  canEdit,
  deleteMessage,
  jumpTo,
  startEdit,
  startReply,
  toggleReaction,
} from './state';

/** The first line of a text, shortened for a quote. */
function firstLine(text: string | null, max = 80): string {
  const line = (text ?? '').split('\n', 1)[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** What a quote says of a message: its first line, or what it is. */
export function summary(m: Message): string {
  if (m.deletedAt !== null) return 'message deleted';
  if (m.kind === 'text') return firstLine(m.text);
  return m.kind === 'still' ? 'Still' : 'Sticker';
}

/** A small picture of a still or sticker (its first frame for a video sticker). */
function Thumb({ m }: { m: Message }) {
  if (!m.media || m.deletedAt !== null) return null;
  const url = m.media.url ?? mediaUrl(m.media.id);
  if (m.media.mime.startsWith('video/'))
    return (
      <video
        class="quote-thumb"
        src={url}
        muted
        playsInline
        preload="metadata"
        aria-hidden="true"
      />
    );
  return <img class="quote-thumb" src={url} alt="" loading="lazy" />;
}

/**
 * The quoted message above a reply (or in the composer): sender and first line, or a
 * thumbnail. In a message it is a button that scrolls to the original and highlights it.
 */
export function Quote({
  conversationId,
  id,
  original,
  onCancel,
}: {
  conversationId: string;
  id: string;
  original: Message | undefined;
  onCancel?: () => void;
}) {
  const body = original ? (
    <>
      <Thumb m={original} />
      <span class="quote-text">
        <span class="quote-sender">{original.sender}</span>
        <span class={`quote-line ${original.deletedAt !== null ? 'deleted' : ''}`}>
          {summary(original)}
        </span>
      </span>
    </>
  ) : (
    <span class="quote-text">
      <span class="quote-line muted">Earlier message</span>
    </span>
  );
  if (onCancel) {
    return (
      <div class="quote composing" data-testid="reply-preview">
        <span class="quote-label">Replying to</span>
        {body}
        <button
          class="icon small-icon"
          aria-label="Cancel reply"
          title="Cancel reply"
          onClick={onCancel}
        >
          ×
        </button>
      </div>
    );
  }
  const label = original
    ? `Reply to ${original.sender}: ${summary(original)}. Show the original message`
    : 'Show the original message';
  return (
    <button
      class="quote"
      data-testid="quote"
      aria-label={label}
      title="Show the original message"
      onClick={(e) => {
        e.stopPropagation();
        void jumpTo(conversationId, id);
      }}
    >
      {body}
    </button>
  );
}

/** Reactions under a bubble: each emoji with its count, who reacted on hover; a click toggles mine. */
export function Reactions({ m, me }: { m: Message; me: string | undefined }) {
  if (!m.reactions.length || m.deletedAt !== null) return null;
  return (
    <div class="reactions" data-testid="reactions">
      {m.reactions.map((r) => {
        const mine = !!me && r.users.includes(me);
        const who = r.users.join(', ');
        return (
          <button
            key={r.emoji}
            class={`reaction ${mine ? 'mine' : ''}`}
            aria-pressed={mine}
            data-testid="reaction"
            data-emoji={r.emoji}
            title={`${who} reacted with ${r.emoji}`}
            aria-label={`${r.emoji} ${r.users.length}: ${who}${mine ? ' (remove mine)' : ' (add mine)'}`}
            onClick={() => void toggleReaction(m, r.emoji)}
          >
            <span aria-hidden="true">{r.emoji}</span>{' '}
            <span class="count" aria-hidden="true">
              {r.users.length}
            </span>
          </button>
        );
      })}
    </div>
  );
}

/** Moves focus within a menu or toolbar with the arrow keys; Esc calls `close`. */
function onMenuKey(e: KeyboardEvent, close: () => void): void {
  const items = [
    ...(e.currentTarget as HTMLElement).querySelectorAll<HTMLElement>('[role=menuitem], .pick'),
  ];
  const at = items.indexOf(document.activeElement as HTMLElement);
  if (e.key === 'Escape') {
    e.preventDefault();
    e.stopPropagation();
    close();
  } else if (e.key === 'ArrowDown' || e.key === 'ArrowRight') {
    e.preventDefault();
    items[(at + 1) % items.length]?.focus();
  } else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') {
    e.preventDefault();
    items[(at - 1 + items.length) % items.length]?.focus();
  } else if (e.key === 'Home') {
    e.preventDefault();
    items[0]?.focus();
  } else if (e.key === 'End') {
    e.preventDefault();
    items.at(-1)?.focus();
  }
}

/** Closes a popup on a click outside `ref`. */
function useOutside(ref: { current: HTMLElement | null }, open: boolean, close: () => void): void {
  useEffect(() => {
    if (!open) return;
    const on = (e: Event) => {
      if (ref.current && !ref.current.contains(e.target as Node)) close();
    };
    document.addEventListener('pointerdown', on, true);
    return () => document.removeEventListener('pointerdown', on, true);
  }, [open]);
}

/** The small fixed set and a field for any single emoji. */
function ReactionPicker({ m, close }: { m: Message; close: () => void }) {
  const [other, setOther] = useState('');
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    ref.current?.querySelector<HTMLElement>('.pick')?.focus();
  }, []);
  const pick = (emoji: string) => {
    close();
    void toggleReaction(m, emoji);
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const emoji = other.trim();
    const bad = emojiProblem(emoji);
    if (bad) {
      setError('Type one emoji, e.g. 🎉');
      return;
    }
    pick(emoji);
  };
  return (
    <div
      class="picker"
      role="dialog"
      aria-label="Pick a reaction"
      ref={ref}
      data-testid="reaction-picker"
      onKeyDown={(e) => onMenuKey(e, close)}
    >
      <div class="picks">
        {REACTION_SET.map((emoji) => (
          <button
            key={emoji}
            class="pick"
            aria-label={`React with ${emoji}`}
            title={`React with ${emoji}`}
            onClick={() => pick(emoji)}
          >
            {emoji}
          </button>
        ))}
      </div>
      <form class="pick-other" onSubmit={submit}>
        <input
          aria-label="Any emoji"
          placeholder="Any emoji"
          value={other}
          size={6}
          maxLength={32}
          data-testid="any-emoji"
          onInput={(e) => {
            setOther(e.currentTarget.value);
            setError(null);
          }}
        />
        <button type="submit" class="small-btn">
          React
        </button>
      </form>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** Delete for everyone, after a confirmation. */
function ConfirmDelete({ m, close }: { m: Message; close: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    ref.current?.querySelector<HTMLElement>('button.cancel')?.focus();
  }, []);
  return (
    <div
      class="confirm"
      role="alertdialog"
      aria-label="Delete this message for everyone?"
      aria-describedby={`del-${m.id}`}
      ref={ref}
      data-testid="confirm-delete"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          close();
        }
      }}
    >
      <p id={`del-${m.id}`}>Delete this message for everyone? It shows as “message deleted”.</p>
      <div class="confirm-buttons">
        <button class="cancel small-btn" onClick={close}>
          Cancel
        </button>
        <button
          class="danger small-btn"
          onClick={() => {
            close();
            void deleteMessage(m);
          }}
        >
          Delete
        </button>
      </div>
    </div>
  );
}

/** The actions button of a message and what it opens. */
export function MessageMenu({ m }: { m: Message }) {
  const [open, setOpen] = useState<'menu' | 'react' | 'delete' | null>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const close = (refocus = true) => {
    setOpen(null);
    if (refocus) trigger.current?.focus();
  };
  useOutside(wrap, open !== null, () => close(false));
  useLayoutEffect(() => {
    if (open === 'menu') wrap.current?.querySelector<HTMLElement>('[role=menuitem]')?.focus();
  }, [open]);
  if (m.deletedAt !== null) return null;
  const item = (label: string, act: () => void, cls = '') => (
    <button role="menuitem" class={`menuitem ${cls}`} onClick={act}>
      {label}
    </button>
  );
  return (
    <div class="msg-actions" ref={wrap}>
      <button
        ref={trigger}
        class="icon small-icon more"
        aria-label="Message actions"
        title="Reply, react, edit, delete"
        aria-haspopup="menu"
        aria-expanded={open === 'menu'}
        data-testid="message-actions"
        onClick={() => setOpen(open ? null : 'menu')}
      >
        ⋯
      </button>
      <button
        class="icon small-icon react-btn"
        aria-label="Add a reaction"
        title="React"
        onClick={() => setOpen(open === 'react' ? null : 'react')}
      >
        ☺
      </button>
      {open === 'menu' && (
        <div
          class="menu"
          role="menu"
          aria-label="Message actions"
          onKeyDown={(e) => onMenuKey(e, close)}
        >
          {item('Reply', () => {
            close(false);
            startReply(m);
            focusComposer();
          })}
          {item('React…', () => setOpen('react'))}
          {canEdit(m) &&
            item('Edit', () => {
              close(false);
              startEdit(m);
              focusComposer();
            })}
          {canDelete(m) && item('Delete for everyone', () => setOpen('delete'), 'danger-text')}
        </div>
      )}
      {open === 'react' && <ReactionPicker m={m} close={close} />}
      {open === 'delete' && <ConfirmDelete m={m} close={close} />}
    </div>
  );
}

/** Puts the keyboard in the composer (after choosing Reply or Edit). */
export function focusComposer(): void {
  document.querySelector<HTMLTextAreaElement>('[data-testid=composer]')?.focus();
}
