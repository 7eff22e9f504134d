/**
 * "Follow alice" / "Following alice · Stop": offered for each member of the open
 * conversation who recently played, paused or sought a shared video.
 */
import { useEffect } from 'preact/hooks';
import { chat } from '../chat/state';
import { useStore } from '../store';
import { installWatchAlong, leadersHere, startFollowing, stopFollowing, watchAlong } from './watch';

export function WatchAlong() {
  useEffect(() => installWatchAlong(), []);
  const s = useStore(watchAlong);
  const c = useStore(chat);
  const leaders = leadersHere(s, c.activeId);
  if (!leaders.length) return null;
  return (
    <div class="watch-along small" data-testid="watch-along">
      {leaders.map((l) =>
        s.following === l.user.id ? (
          <span key={l.user.id} role="status" data-testid="following">
            Following {l.user.username} ·{' '}
            <button class="link small" onClick={stopFollowing}>
              Stop
            </button>
          </span>
        ) : (
          <button
            key={l.user.id}
            class="link small"
            data-at={l.at}
            title={`Watch ${l.video} where ${l.user.username} is`}
            onClick={() => startFollowing(l.user.id)}
          >
            Follow {l.user.username}
          </button>
        ),
      )}
    </div>
  );
}
