/**
 * A still or sticker shown inline. Stickers animate; with the "few loops" setting they
 * stop after about three loops, with "on hover" they play only under the pointer.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { mediaUrl } from '../api';
import { settings } from '../settings/state';
import { useStore } from '../store';
import type { MediaMeta } from '../types';

const FEW_LOOPS_MS = 8000;

/** First frame of an animated image, drawn once it loaded. */
function Poster({ img, w, h }: { img: HTMLImageElement | null; w: number; h: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (img && ref.current) ref.current.getContext('2d')?.drawImage(img, 0, 0, w, h);
  }, [img]);
  return <canvas ref={ref} width={w} height={h} class="media-still" />;
}

export function Media({ media, alt }: { media: MediaMeta; alt: string }) {
  const { animation } = useStore(settings);
  const [hover, setHover] = useState(false);
  const [stopped, setStopped] = useState(false);
  const [loaded, setLoaded] = useState<HTMLImageElement | null>(null);
  const vref = useRef<HTMLVideoElement>(null);
  const animated = media.frames > 1;
  const url = media.url ?? mediaUrl(media.id);
  const scale = Math.min(1, 280 / Math.max(media.width, media.height, 1));
  const w = Math.round(media.width * scale),
    h = Math.round(media.height * scale);

  useEffect(() => {
    setStopped(false);
    if (!animated || animation !== 'few') return;
    const t = setTimeout(() => setStopped(true), FEW_LOOPS_MS);
    return () => clearTimeout(t);
  }, [animation, media.id]);

  useEffect(() => {
    const v = vref.current;
    if (!v) return;
    const play =
      animation === 'loop' || (animation === 'few' && !stopped) || (animation === 'hover' && hover);
    if (play) void v.play().catch(() => {});
    else v.pause();
  }, [animation, hover, stopped]);

  const still = animated && ((animation === 'few' && stopped) || (animation === 'hover' && !hover));
  const common = {
    class: 'media',
    'data-testid': 'media',
    'data-frames': media.frames,
    'data-mime': media.mime,
    onMouseEnter: () => setHover(true),
    onMouseLeave: () => setHover(false),
    style: { width: `${w}px`, height: `${h}px` },
  };
  if (media.mime.startsWith('video/')) {
    return (
      <span {...common}>
        <video
          ref={vref}
          src={url}
          muted
          playsInline
          loop
          autoplay={animation === 'loop'}
          width={w}
          height={h}
          aria-label={alt}
        />
      </span>
    );
  }
  return (
    <span {...common}>
      {still && loaded ? (
        <Poster img={loaded} w={w} h={h} />
      ) : (
        <img
          src={url}
          alt={alt}
          width={w}
          height={h}
          loading="lazy"
          onLoad={(e) => setLoaded(e.currentTarget)}
        />
      )}
    </span>
  );
}
