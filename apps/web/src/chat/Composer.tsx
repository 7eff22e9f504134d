/** Type and press Enter to send (Shift+Enter for a new line). A draft survives reloads. */
import { SmileIcon } from '../icons';
import { useEffect, useState } from 'preact/hooks';
import { useStore } from '../store';
import { chat, send } from './state';

const draftKey = (id: string) => `clipchat.draft.${id}`;

export function Composer({ onToggleLibrary, libraryOpen }: { onToggleLibrary: () => void; libraryOpen: boolean }) {
  const s = useStore(chat);
  const id = s.activeId;
  const [text, setText] = useState('');
  useEffect(() => { setText(id ? localStorage.getItem(draftKey(id)) ?? '' : ''); }, [id]);
  if (!id) return null;
  const update = (v: string) => {
    setText(v);
    if (v) localStorage.setItem(draftKey(id), v); else localStorage.removeItem(draftKey(id));
  };
  const submit = () => {
    const t = text.trim();
    if (!t) return;
    update('');
    void send(id, { kind: 'text', text: t });
  };
  return (
    <div class="composer">
      <button class={`icon ${libraryOpen ? 'on' : ''}`} onClick={onToggleLibrary} aria-label="Sticker library" aria-pressed={libraryOpen} title="My stickers"><SmileIcon /></button>
      <textarea rows={1} placeholder="Message" value={text} aria-label="Message" data-testid="composer"
        onInput={(e) => update((e.currentTarget as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
        }} />
      <button class="primary" onClick={submit} disabled={!text.trim()}>Send</button>
    </div>
  );
}
