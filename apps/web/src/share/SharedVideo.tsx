/**
 * A `video` message: the server's poster frame and the duration; clicking opens the video
 * in this person's player, where it plays and captures by range requests. Also the caption
 * of a capture, which leads back to its moment.
 */
import { cap, openShared } from '../capture/state';
import { describeSource, formatTime } from '../format';
import { FilmIcon } from '../icons';
import type { Message, MessageSource } from '../types';

export function SharedVideo({ m }: { m: Message }) {
  const media = m.media!;
  const name = m.source?.video ?? 'shared video';
  const scale = Math.min(1, 280 / Math.max(media.width, media.height, 1));
  const w = Math.round(media.width * scale),
    h = Math.round(media.height * scale);
  return (
    <button
      class="shared-video"
      data-testid="shared-video"
      data-media-id={media.id}
      data-duration={media.duration}
      title={`Open ${name} in the player`}
      onClick={() => void openShared(media.id, name)}
      style={{ width: `${w}px` }}
    >
      {media.poster ? (
        <img
          src={media.poster.url}
          alt={`${name}, poster frame`}
          width={w}
          height={h}
          loading="lazy"
        />
      ) : (
        <span class="no-poster" style={{ width: `${w}px`, height: `${h}px` }}>
          <FilmIcon />
        </span>
      )}
      <span class="play-badge" aria-hidden="true">
        ▶
      </span>
      <span class="duration" data-testid="video-duration">
        {formatTime(media.duration ?? 0)}
      </span>
      <span class="video-title">
        <FilmIcon /> {name}
      </span>
    </button>
  );
}

/**
 * Opens the moment a capture came from: a shared video by its media id, at its time (the
 * range marked for a sticker). For a local file the same file must be opened again: when
 * it is open it seeks, otherwise the player asks for it and goes there once it is.
 */
function goToSource(s: MessageSource): void {
  const at = s.at ?? s.from ?? 0;
  const range = s.from !== undefined && s.to !== undefined ? { from: s.from, to: s.to } : null;
  if (s.mediaId) {
    void openShared(s.mediaId, s.video, { at, range });
    return;
  }
  const open = cap.get();
  cap.set({
    goTo: { name: s.video, at, range },
    error:
      open.name === s.video && open.info
        ? null
        : `Open ${s.video} again (Open a video) to go to ${formatTime(at)}.`,
  });
}

/** The caption under a still or sticker; a button that leads back to the moment. */
export function Origin({ s }: { s: MessageSource }) {
  return (
    <button
      class="origin link"
      data-testid="origin"
      title={
        s.mediaId ? 'Open the shared video at this moment' : 'Open this video again at this moment'
      }
      onClick={() => goToSource(s)}
    >
      <FilmIcon /> {describeSource(s)}
    </button>
  );
}
