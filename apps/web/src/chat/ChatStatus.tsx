/**
 * The line under a conversation's title: who is typing, else presence: a direct chat says
 * "online" or "last seen 10:42" (a date when it was another day), a group "3 members,
 * 1 online" (the others online). Live from `typing` and `presence` frames, over the list.
 */
import { useEffect, useState } from 'preact/hooks';
import { clockTime } from '../format';
import { useStore } from '../store';
import type { Conversation } from '../types';
import { alive, presenceOf, typersOf, typingText } from './alive';
import './alive.css';

/** "last seen 10:42" today, "last seen yesterday 10:42", "last seen 3 Dec" (and the year when not this one). */
function lastSeenText(lastSeen: number | null, now = Date.now()): string {
  if (lastSeen === null) return 'offline';
  const d = new Date(lastSeen);
  const today = new Date(now);
  const sameDay = (x: Date, y: Date) =>
    x.getFullYear() === y.getFullYear() &&
    x.getMonth() === y.getMonth() &&
    x.getDate() === y.getDate();
  if (sameDay(d, today)) return `last seen ${clockTime(lastSeen)}`;
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (sameDay(d, yesterday)) return `last seen yesterday ${clockTime(lastSeen)}`;
  const opts: Intl.DateTimeFormatOptions = {
    day: 'numeric',
    month: 'short',
    ...(d.getFullYear() !== today.getFullYear() ? { year: 'numeric' } : {}),
  };
  return `last seen ${d.toLocaleDateString([], opts)}`;
}

export function ChatStatus({ c, meId }: { c: Conversation; meId: string }) {
  const a = useStore(alive);
  // Re-render each minute so "last seen" moves on to a date after midnight.
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 60_000);
    return () => clearInterval(t);
  }, []);
  const typers = typersOf(a, c.id);
  if (typers.length)
    return (
      <span
        class="chat-status typing"
        data-testid="chat-status"
        data-typing="true"
        aria-live="polite"
      >
        {typingText(typers)}
      </span>
    );
  const others = c.members.filter((m) => m.id !== meId);
  let text: string;
  let online = false;
  if (c.kind === 'direct' && others.length === 1) {
    const p = presenceOf(a, others[0]!);
    online = p.online;
    text = p.online ? 'online' : lastSeenText(p.lastSeen);
  } else {
    const n = others.filter((m) => presenceOf(a, m).online).length;
    text = `${c.members.length} members${n ? `, ${n} online` : ''}`;
  }
  return (
    <span class={`chat-status muted small ${online ? 'online' : ''}`} data-testid="chat-status">
      {text}
    </span>
  );
}
