/**
 * A still or sticker in a message opens full size: a click (or Enter/Space) on it opens a
 * modal dialog with the picture at its own size, as far as the window allows; Esc, the
 * close button or a click outside the picture closes it, and focus goes back to the
 * picture in the message. Stickers play in a loop while shown.
 */
import './viewer.css';
import { useState } from 'preact/hooks';
import { mediaUrl } from '../api';
import { Modal } from '../Modal';
import type { MediaMeta } from '../types';
import { Media } from './Media';

function Viewer({ media, alt, onClose }: { media: MediaMeta; alt: string; onClose: () => void }) {
  const url = media.url ?? mediaUrl(media.id);
  const style = { aspectRatio: `${media.width} / ${media.height}` };
  return (
    <Modal class="viewer" label={`${alt}, full size`} testid="viewer" onClose={onClose}>
      {media.mime.startsWith('video/') ? (
        <video
          class="viewer-media"
          src={url}
          muted
          playsInline
          loop
          autoplay
          width={media.width}
          height={media.height}
          style={style}
          aria-label={alt}
        />
      ) : (
        <img
          class="viewer-media"
          src={url}
          alt={alt}
          width={media.width}
          height={media.height}
          style={style}
        />
      )}
      <button class="viewer-close icon" aria-label="Close" title="Close (Esc)" onClick={onClose}>
        ×
      </button>
    </Modal>
  );
}

/** The inline picture of a message as a button that opens the viewer. */
export function ViewableMedia({ media, alt }: { media: MediaMeta; alt: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        class="media-open"
        aria-label={`${alt}: show full size`}
        aria-haspopup="dialog"
        data-testid="open-viewer"
        onClick={() => setOpen(true)}
      >
        <Media media={media} alt={alt} />
      </button>
      {open && <Viewer media={media} alt={alt} onClose={() => setOpen(false)} />}
    </>
  );
}
