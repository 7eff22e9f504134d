/**
 * "Share this video": uploads the opened local file into the open conversation, only when
 * pressed, with progress and Cancel. Nothing leaves the device without it.
 */
import { chat } from '../chat/state';
import { formatBytes } from '../format';
import { useStore } from '../store';
import { cancelShare, share, shareVideo } from './state';

export function ShareButton({ file }: { file: File }) {
  const s = useStore(share);
  const c = useStore(chat);
  const active = c.activeId;
  const busy = s.phase === 'uploading' || s.phase === 'checking';
  const pct = s.total ? Math.floor((s.sent / s.total) * 100) : 0;
  return (
    <span class="share" data-testid="share" data-phase={s.phase}>
      {!busy && (
        <button class="link" disabled={!active} title={active ? 'Upload this video into the open conversation' : 'Open a conversation first'}
          onClick={() => active && void shareVideo(file, active)}>Share this video</button>
      )}
      {s.phase === 'uploading' && s.name === file.name && (
        <>
          <progress max={100} value={pct} aria-label="Upload progress" data-testid="share-progress" />
          <span class="small">{pct}% of {formatBytes(s.total)}</span>
          <button class="link small" onClick={() => void cancelShare()}>Cancel</button>
        </>
      )}
      {s.phase === 'checking' && <span class="small">Checking the video…</span>}
      {s.phase === 'done' && s.name === file.name && <span class="small" role="status">Shared ✓</span>}
      {s.phase === 'error' && <span class="small error" role="alert">{s.error}</span>}
    </span>
  );
}
