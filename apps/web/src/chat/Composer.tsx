/**
 * Type and press Enter to send (Shift+Enter for a new line). A draft survives reloads.
 * When a reply is started the composer shows the quoted message with a cancel (Esc);
 * when editing one of my messages it holds that text, Enter saves and Esc cancels (the
 * draft comes back).
 */
import { SmileIcon } from '../icons';
import { useLayoutEffect, useState } from 'preact/hooks';
import { useStore } from '../store';
import { Quote, summary } from './MessageParts';
import { cancelAction, chat, editMessage, send } from './state';
import { onPasteImage } from './paste';
import { TextCounter, tooLong } from './TextCounter';
import { typingNow } from './alive';

const draftKey = (id: string) => `clipchat.draft.${id}`;

export function Composer({
  onToggleLibrary,
  libraryOpen,
}: {
  onToggleLibrary: () => void;
  libraryOpen: boolean;
}) {
  const s = useStore(chat);
  const id = s.activeId;
  const [text, setText] = useState('');
  const action = s.action && s.action.conversationId === id ? s.action : null;
  const target = action
    ? s.messages[action.conversationId]?.find((m) => m.id === action.messageId)
    : undefined;
  const editing = action?.mode === 'edit' ? target : undefined;
  // Editing shows the message's text; leaving the edit brings the draft back. A layout
  // effect, so the text is in place before any keystroke can reach the box.
  useLayoutEffect(() => {
    if (editing) setText(editing.text ?? '');
    else setText(id ? (localStorage.getItem(draftKey(id)) ?? '') : '');
  }, [id, editing?.id]);
  if (!id) return null;
  const update = (v: string) => {
    setText(v);
    if (editing) return;
    if (v.trim()) typingNow(id);
    if (v) localStorage.setItem(draftKey(id), v);
    else localStorage.removeItem(draftKey(id));
  };
  const submit = () => {
    const t = text.trim();
    if (!t || tooLong(t)) return;
    if (editing) {
      if (t === editing.text) {
        cancelAction();
        return;
      }
      void editMessage(editing, t);
      return;
    }
    update('');
    void send(id, { kind: 'text', text: t });
  };
  return (
    <div class="composer-wrap">
      {action?.mode === 'reply' && (
        <Quote
          conversationId={id}
          id={action.messageId}
          original={target}
          onCancel={cancelAction}
        />
      )}
      {editing && (
        <div class="quote composing editing" data-testid="edit-preview">
          <span class="quote-label">Editing</span>
          <span class="quote-text">
            <span class="quote-line">{summary(editing)}</span>
          </span>
          <button
            class="icon small-icon"
            aria-label="Cancel edit"
            title="Cancel edit"
            onClick={cancelAction}
          >
            ×
          </button>
        </div>
      )}
      <TextCounter text={text} />
      <div class="composer">
        <button
          class={`icon ${libraryOpen ? 'on' : ''}`}
          onClick={onToggleLibrary}
          aria-label="Sticker library"
          aria-pressed={libraryOpen}
          title="My stickers"
        >
          <SmileIcon />
        </button>
        <textarea
          rows={1}
          placeholder={editing ? 'Edit message' : 'Message'}
          value={text}
          aria-label={editing ? 'Edit message' : 'Message'}
          data-testid="composer"
          onInput={(e) => update(e.currentTarget.value)}
          onPaste={(e) => {
            if (!editing) onPasteImage(id, e);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              submit();
            } else if (e.key === 'Escape' && action) {
              e.preventDefault();
              cancelAction();
            }
          }}
        />
        <button class="primary" onClick={submit} disabled={!text.trim() || tooLong(text)}>
          {editing ? 'Save' : 'Send'}
        </button>
      </div>
    </div>
  );
}
