/**
 * "Open a link": paste the address of an MP4/WebM video; it opens in the player when its
 * site allows it (CORS), else we say why and offer the download instead.
 */
import { useState } from 'preact/hooks';
import { useStore } from '../store';
import { link, openLink } from './link';
import './link.css';

export function OpenLink() {
  const s = useStore(link);
  const [text, setText] = useState('');
  return (
    <form
      class="open-link"
      data-testid="open-link"
      onSubmit={(e) => {
        e.preventDefault();
        void openLink(text);
      }}
    >
      <input
        type="url"
        inputMode="url"
        placeholder="…or paste a video link (https://…/video.mp4)"
        aria-label="Video link"
        maxLength={2048}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <button class="link" type="submit" disabled={s.checking}>
        {s.checking ? 'Checking…' : 'Open link'}
      </button>
      {s.error && (
        <p class="notice error" role="alert" data-testid="link-error">
          {s.error}
          {s.blocked && (
            <>
              {' '}
              <a
                href={s.blocked}
                download
                target="_blank"
                rel="noopener noreferrer"
                data-testid="link-download"
              >
                Download the video
              </a>
              , then open the file here (Open a video) to play and capture it, and press “Share this
              video” to share it.
            </>
          )}
        </p>
      )}
    </form>
  );
}
