/**
 * "Share this video": uploads the opened local file into the open conversation, only when
 * pressed, with progress and Cancel. Nothing leaves the device without it. A share of the
 * same file that a reload or a lost connection cut offers "Resume sharing <name>".
 */
import { chat } from '../chat/state';
import { formatBytes } from '../format';
import { useStore } from '../store';
import { useEffect } from 'preact/hooks';
import { cancelShare, findResumable, share, shareVideo } from './state';

export function ShareButton({ file }: { file: File }) {
  const s = useStore(share);
  const c = useStore(chat);
  const active = c.activeId;
  // An unfinished share of this very file (cut by a reload or a lost connection)?
  useEffect(() => {
    void findResumable(file);
  }, [file]);
  const busy = s.phase === 'uploading' || s.phase === 'checking';
  const pct = s.total ? Math.floor((s.sent / s.total) * 100) : 0;
  const resume = s.resumable?.file === file ? s.resumable : null;
  const title = active
    ? 'Upload this video into the open conversation'
    : 'Open a conversation first';
  return (
    <span class="share" data-testid="share" data-phase={s.phase}>
      {!busy && !resume && (
        <button
          class="link"
          disabled={!active}
          title={title}
          onClick={() => active && void shareVideo(file, active)}
        >
          Share this video
        </button>
      )}
      {!busy && resume && (
        <>
          <button
            class="link"
            disabled={!active}
            title={title}
            data-testid="share-resume"
            data-sent={resume.sent}
            onClick={() => active && void shareVideo(file, active)}
          >
            Resume sharing {file.name}
          </button>
          <span class="small">{Math.floor((resume.sent / resume.total) * 100)}% already sent</span>
        </>
      )}
      {s.phase === 'uploading' && s.name === file.name && (
        <>
          <progress
            max={100}
            value={pct}
            aria-label="Upload progress"
            data-testid="share-progress"
          />
          <span class="small">
            {pct}% of {formatBytes(s.total)}
          </span>
          <button class="link small" onClick={() => void cancelShare()}>
            Cancel
          </button>
        </>
      )}
      {s.phase === 'checking' && <span class="small">Checking the video…</span>}
      {s.phase === 'done' && s.name === file.name && (
        <span class="small" role="status">
          Shared ✓
        </span>
      )}
      {s.phase === 'error' && (
        <span class="small error" role="alert">
          {s.error}
        </span>
      )}
    </span>
  );
}
