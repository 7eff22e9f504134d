/** The connection badge: "Connected", "Connecting…", "Reconnecting…" or "Offline" (liveness.ts). */
import { useStore } from '../store';
import { alive } from './alive';
import { LIVENESS_TEXT, livenessOf } from './liveness';
import { chat } from './state';
import './alive.css';

export function ConnectionBadge() {
  const s = useStore(chat);
  const a = useStore(alive);
  const l = livenessOf(s.connection, a);
  return (
    <span class={`conn ${l}`} data-testid="connection" data-liveness={l} role="status">
      {LIVENESS_TEXT[l]}
    </span>
  );
}
