/**
 * A still or sticker in a message opens full size: a click (or Enter/Space) on it opens a
 * modal dialog with the picture at its own size, as far as the window allows; Esc, the
 * close button or a click outside the picture closes it, and focus goes back to the
 * picture in the message. Stickers play in a loop while shown.
 */
import './viewer.css';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { mediaUrl } from '../api';
import type { MediaMeta } from '../types';
import { Media } from './Media';

function Viewer({ media, alt, onClose }: { media: MediaMeta; alt: string; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useLayoutEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (d?.open) d.close();
    };
  }, []);
  const url = media.url ?? mediaUrl(media.id);
  const style = { aspectRatio: `${media.width} / ${media.height}` };
  return (
    <dialog
      ref={ref}
      class="viewer"
      aria-label={`${alt}, full size`}
      data-testid="viewer"
      onClose={onClose}
      // The dialog's own box is only around the picture: a click that lands on the dialog
      // itself, not on what is inside, is on the backdrop around it.
      onClick={(e) => {
        if (e.target === e.currentTarget) ref.current?.close();
      }}
      // Keys pressed here are the viewer's, not the capture shortcuts of the page.
      onKeyDown={(e) => e.stopPropagation()}
    >
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
      <button
        class="viewer-close icon"
        aria-label="Close"
        title="Close (Esc)"
        onClick={() => ref.current?.close()}
      >
        ×
      </button>
    </dialog>
  );
}

/** The inline picture of a message as a button that opens the viewer. */
export function ViewableMedia({ media, alt }: { media: MediaMeta; alt: string }) {
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  return (
    <>
      <button
        ref={trigger}
        type="button"
        class="media-open"
        aria-label={`${alt}: show full size`}
        aria-haspopup="dialog"
        data-testid="open-viewer"
        onClick={() => setOpen(true)}
      >
        <Media media={media} alt={alt} />
      </button>
      {open && (
        <Viewer
          media={media}
          alt={alt}
          onClose={() => {
            setOpen(false);
            trigger.current?.focus();
          }}
        />
      )}
    </>
  );
}
