/**
 * Says each new message of the open conversation to screen readers ("bob: hello"): a
 * polite live region that is always in the page. The message list itself is not live, or
 * opening a conversation or loading older messages would read out every bubble with its
 * time, ticks and buttons.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useStore } from '../store';
import { summary } from './MessageParts';
import { chat } from './state';

export function NewMessageAnnouncer() {
  const s = useStore(chat);
  const id = s.activeId;
  const list = id ? s.messages[id] : undefined;
  const last = list?.at(-1);
  // '' for a loaded conversation with no messages, undefined while it is not loaded.
  const lastId = list ? (last?.id ?? '') : undefined;
  const seen = useRef<{ id: string | null; last: string | undefined }>({ id, last: lastId });
  const [words, setWords] = useState('');
  useEffect(() => {
    const before = seen.current;
    seen.current = { id, last: lastId };
    // Only a message that arrives while this conversation is open (not the ones it opens with).
    if (!last || before.id !== id || before.last === undefined || before.last === lastId) return;
    if (last.senderId === s.me?.id || last.kind === 'system') return;
    setWords(`${last.sender}: ${summary(last)}`);
  }, [id, lastId]);
  return (
    <p class="visually-hidden" aria-live="polite" data-testid="message-announcer">
      {words}
    </p>
  );
}
