/** The bell of the top bar (asks for notification permission on click) and a conversation's mute toggle. */
import { useStore } from '../store';
import { askPermission, isMuted, notifyState, setMuted } from './notify';
import './NotifyButtons.css';

export function BellButton() {
  const n = useStore(notifyState);
  if (n.permission === 'unsupported') return null;
  const label =
    n.permission === 'granted'
      ? 'Notifications are on'
      : n.permission === 'denied'
        ? 'Notifications are blocked in the browser settings'
        : 'Turn on notifications';
  return (
    <button
      class={`icon bell ${n.permission}`}
      aria-label={label}
      title={label}
      data-testid="bell"
      disabled={n.permission !== 'default'}
      onClick={() => void askPermission()}
    >
      <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
        <path
          fill="currentColor"
          d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"
        />
      </svg>
      {n.permission === 'denied' && <span class="bell-off" aria-hidden="true" />}
    </button>
  );
}

export function MuteButton({ conversationId }: { conversationId: string }) {
  useStore(notifyState);
  const muted = isMuted(conversationId);
  return (
    <button
      class="link small"
      aria-pressed={muted}
      data-testid="mute"
      onClick={() => setMuted(conversationId, !muted)}
      title={
        muted
          ? 'Muted on this device: no notifications, not counted in the tab title'
          : 'Stop notifications from this conversation on this device'
      }
    >
      {muted ? 'Unmute' : 'Mute'}
    </button>
  );
}
