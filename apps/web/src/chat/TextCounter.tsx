/**
 * The count of characters near the limit of a message: hidden while far from it, shown
 * from COUNTER_FROM on, and past MAX_TEXT_LENGTH it says how many to remove (the composer
 * then refuses to send). Counted as the server counts: UTF-16 units of the trimmed text.
 */
import './text-counter.css';
import { MAX_TEXT_LENGTH } from '@clipchat/protocol';

const COUNTER_FROM = 7500;

/** Whether a text is too long to send. */
export const tooLong = (text: string) => text.trim().length > MAX_TEXT_LENGTH;

export function TextCounter({ text }: { text: string }) {
  const n = text.trim().length;
  if (n < COUNTER_FROM) return null;
  const over = n - MAX_TEXT_LENGTH;
  return (
    <span
      class={`text-counter ${over > 0 ? 'over' : ''}`}
      data-testid="text-counter"
      role={over > 0 ? 'alert' : 'status'}
      aria-live="polite"
    >
      {over > 0
        ? `${n.toLocaleString('en-US')} / ${MAX_TEXT_LENGTH.toLocaleString('en-US')}: ${over.toLocaleString('en-US')} too many to send`
        : `${n.toLocaleString('en-US')} / ${MAX_TEXT_LENGTH.toLocaleString('en-US')}`}
    </span>
  );
}
