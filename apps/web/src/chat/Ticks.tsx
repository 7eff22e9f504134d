/**
 * The receipt ticks of my messages (see receipts.ts), with who read it on hover (title) and
 * on a long press or a click (a small note under the time); and what a queued message
 * waits for.
 */
import { useRef, useState } from 'preact/hooks';
import { useStore } from '../store';
import type { Message } from '../types';
import { alive } from './alive';
import { livenessOf } from './liveness';
import { receiptOf, receiptText } from './receipts';
import { chat, type OutboxItem } from './state';
import './alive.css';

/** How long a press on the ticks is held before it shows who read the message, ms. */
const LONG_PRESS_MS = 500;

export function Ticks({ m }: { m: Message }) {
  const a = useStore(alive);
  const s = useStore(chat);
  const [open, setOpen] = useState(false);
  const press = useRef<ReturnType<typeof setTimeout> | null>(null);
  // A long press opened the note: the click some browsers send as the finger lifts must not close it.
  const longPressed = useRef(false);
  const c = s.conversations.find((x) => x.id === m.conversationId);
  if (m.kind === 'system' || !c || !s.me) return null;
  const r = receiptOf(a, c, s.me.id, m.seq);
  const text = receiptText(r, c.kind === 'group');
  const endPress = () => {
    if (press.current) {
      clearTimeout(press.current);
      press.current = null;
    }
    if (longPressed.current)
      setTimeout(() => {
        longPressed.current = false;
      }, 400);
  };
  return (
    <span
      class={`tick receipt-${r.state}`}
      data-testid="receipt"
      data-receipt={r.state}
      title={text}
      aria-label={text}
      role="button"
      tabIndex={0}
      onClick={() => {
        if (!longPressed.current) setOpen(!open);
      }}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          setOpen(!open);
        }
      }}
      onTouchStart={() => {
        endPress();
        longPressed.current = false;
        press.current = setTimeout(() => {
          longPressed.current = true;
          setOpen(true);
        }, LONG_PRESS_MS);
      }}
      onTouchEnd={endPress}
      onTouchMove={endPress}
      onTouchCancel={endPress}
    >
      {r.state === 'sent' ? ' ✓' : ' ✓✓'}
      {open && (
        <span class="receipt-detail" role="tooltip" data-testid="receipt-detail">
          {text}
        </span>
      )}
    </span>
  );
}

/** "Sending…" while connected, "Waiting for connection" while not, "Not sent" once refused. */
export function PendingLabel({ o }: { o: OutboxItem }) {
  const a = useStore(alive);
  const s = useStore(chat);
  if (o.state === 'failed') return <span data-testid="pending-label">Not sent</span>;
  const online = livenessOf(s.connection, a) === 'online';
  return (
    <span data-testid="pending-label" data-waiting={online ? undefined : 'true'}>
      {online ? 'Sending…' : 'Waiting for connection'}
    </span>
  );
}
