/**
 * Capture controls under the player: the still/sticker mode toolbar (as in the patent,
 * the user picks the capture type), the sticker timeline, the job's progress with Cancel,
 * and the preview with its actions.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { chat, send } from '../chat/state';
import { formatBytes, formatTime } from '../format';
import { parseTags, saveBytes } from '../library/state';
import { settings } from '../settings/state';
import { useStore } from '../store';
import type { MessageSource } from '../types';
import { captureGesture } from './Player';
import { cap, discardPreview, makeStickerNow, type Preview } from './state';
import { Timeline } from './Timeline';

function sourceOf(p: Preview): MessageSource {
  const where = p.mediaId ? { mediaId: p.mediaId } : {};
  return p.kind === 'still'
    ? { video: p.video.slice(0, 200), ...where, at: Math.round(p.result.frameTime * 1000) / 1000 }
    : {
        video: p.video.slice(0, 200),
        ...where,
        from: Math.round(p.result.from * 1000) / 1000,
        to: Math.round(p.result.to * 1000) / 1000,
      };
}

function nameOf(p: Preview): string {
  return p.kind === 'still'
    ? `${p.video} @ ${formatTime(p.result.frameTime)}`
    : `${p.video} ${formatTime(p.result.from)}–${formatTime(p.result.to)}`;
}

function PreviewCard({ p }: { p: Preview }) {
  const c = useStore(chat);
  const [tags, setTags] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [unshowable, setUnshowable] = useState(false);
  const r = p.result;
  const blob = () => new Blob([r.bytes as BlobPart], { type: r.mime });
  const ext = r.format === 'jpeg' ? 'jpg' : r.format;
  const stamp =
    p.kind === 'still'
      ? formatTime(p.result.frameTime)
      : `${formatTime(p.result.from)}-${formatTime(p.result.to)}`;
  const fileName = `${p.video.replace(/\.[^.]+$/, '')}-${stamp}.${ext}`.replace(/[:/\\]/g, '_');
  const active = c.activeId;
  // The panel scrolls under the player: bring the preview's actions (Send first) into view.
  const actions = useRef<HTMLDivElement>(null);
  useEffect(() => {
    actions.current?.scrollIntoView({ block: 'nearest' });
  }, [p.url]);

  const doSend = async () => {
    if (!active) {
      setStatus('Open a conversation first.');
      return;
    }
    await send(active, { kind: p.kind, blob: blob(), mime: r.mime, source: sourceOf(p) });
    discardPreview();
  };
  const doSave = async () => {
    setBusy(true);
    try {
      await saveBytes(blob(), r.mime, nameOf(p), parseTags(tags));
      setStatus('Saved to your stickers.');
    } catch (e) {
      setStatus(`Could not save: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  const doCopy = async () => {
    try {
      let b = blob();
      if (b.type !== 'image/png') {
        const bmp = await createImageBitmap(b);
        const cv = new OffscreenCanvas(bmp.width, bmp.height);
        cv.getContext('2d')!.drawImage(bmp, 0, 0);
        b = await cv.convertToBlob({ type: 'image/png' });
      }
      await navigator.clipboard.write([new ClipboardItem({ 'image/png': b })]);
      setStatus('Copied to the clipboard.');
    } catch (e) {
      setStatus(`Could not copy: ${(e as Error).message}`);
    }
  };

  const facts: Array<[string, string]> = [
    ['Format', r.format.toUpperCase()],
    ['Size', `${r.width}×${r.height}`],
  ];
  if (p.kind === 'sticker') {
    facts.push(
      [p.result.frames === 1 ? 'Frame' : 'Frames', String(p.result.frames)],
      ['FPS', String(Math.round(p.result.fps * 100) / 100)],
      ['Length', `${(p.result.durationMs / 1000).toFixed(2)} s`],
    );
  } else {
    facts.push(['Frame at', formatTime(p.result.frameTime)]);
  }
  facts.push(['Made in', `${Math.round(r.ms)} ms`]);
  const budget = p.kind === 'sticker' ? p.result.budget : 0;

  return (
    <div
      class="preview"
      data-testid="preview"
      data-kind={p.kind}
      data-mime={r.mime}
      data-ms={Math.round(r.ms)}
      data-frame-time={p.kind === 'still' ? p.result.frameTime : undefined}
      data-via={p.kind === 'still' ? p.result.via : undefined}
      data-decode-ms={p.kind === 'sticker' ? Math.round(p.result.decodeMs) : undefined}
      data-encode-ms={p.kind === 'sticker' ? Math.round(p.result.encodeMs) : undefined}
      data-bytes={r.bytes.length}
      data-frames={p.kind === 'sticker' ? p.result.frames : 1}
    >
      <div class="preview-media">
        {r.mime.startsWith('video/') ? (
          <video src={p.url} autoplay loop muted playsInline />
        ) : unshowable ? (
          <p class="muted">
            This browser cannot show {r.format.toUpperCase()} images; Download or Send it as is.
          </p>
        ) : (
          <img src={p.url} alt={`Preview of the ${p.kind}`} onError={() => setUnshowable(true)} />
        )}
      </div>
      <div class="preview-side">
        <div class="bytes">
          <strong>{formatBytes(r.bytes.length)}</strong>
          {budget > 0 && <span> of {formatBytes(budget)} budget</span>}
          {budget > 0 && (
            <div class="meter">
              <div style={{ width: `${Math.min(100, (100 * r.bytes.length) / budget)}%` }} />
            </div>
          )}
        </div>
        <dl class="facts">
          {facts.map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </>
          ))}
        </dl>
        {p.kind === 'sticker' &&
          (p.result.adapted.length ? (
            <div class="adapted">
              <span>To fit the budget:</span>
              <ul>
                {p.result.adapted.map((a) => (
                  <li>{a}</li>
                ))}
              </ul>
            </div>
          ) : (
            <div class="adapted muted">Fits at the requested quality.</div>
          ))}
        <input
          class="tags"
          aria-label="Tags for your library"
          placeholder="Tags for your library (optional)"
          value={tags}
          onInput={(e) => setTags(e.currentTarget.value)}
        />
        <div class="actions" ref={actions}>
          <button
            class="primary"
            onClick={doSend}
            disabled={!active}
            title={active ? 'Send to the open conversation' : 'Open a conversation first'}
          >
            Send
          </button>
          <button onClick={doSave} disabled={busy}>
            Save to library
          </button>
          <a class="button" href={p.url} download={fileName}>
            Download
          </a>
          {p.kind === 'still' && <button onClick={doCopy}>Copy</button>}
          <button class="ghost" onClick={discardPreview}>
            Discard
          </button>
        </div>
        {status && (
          <p class="status" role="status">
            {status}
          </p>
        )}
      </div>
    </div>
  );
}

/** What the capture is doing, in words: the job's stage, then what it made. */
function captureWords(s: ReturnType<typeof cap.get>): string {
  if (s.job) return s.job.kind === 'still' ? 'Capturing frame…' : `Making sticker: ${s.job.stage}…`;
  const p = s.preview;
  if (!p) return '';
  const size = formatBytes(p.result.bytes.length);
  return p.kind === 'still'
    ? `Still ready: ${p.result.width}×${p.result.height}, ${size}.`
    : `Sticker ready: ${p.result.frames} frames, ${size}.`;
}

export function CapturePanel() {
  const s = useStore(cap);
  const st = useStore(settings);
  if (!s.url) return null;
  return (
    <section class="capture-panel" aria-label="Capture">
      <div class="toolbar" role="toolbar" aria-label="Capture mode">
        <div class="segmented">
          <button
            aria-pressed={s.mode === 'still'}
            onClick={() => cap.set({ mode: 'still' })}
            title="Double-click or S captures the frame on screen"
          >
            Still
          </button>
          <button
            aria-pressed={s.mode === 'sticker'}
            onClick={() => cap.set({ mode: 'sticker' })}
            title="I marks the start, O the end, Enter makes it"
          >
            Sticker
          </button>
        </div>
        {s.mode === 'still' ? (
          <>
            <button
              onClick={() => void captureGesture('still')}
              disabled={!s.info || !!s.job}
              aria-keyshortcuts="S"
            >
              Capture frame <kbd>S</kbd>
            </button>
            <span class="muted">
              {st.capture.stillFormat.toUpperCase()}
              {['jpeg', 'webp', 'avif'].includes(st.capture.stillFormat)
                ? ` · q${st.capture.stillQuality}`
                : ''}
            </span>
          </>
        ) : (
          <>
            <button
              onClick={() => void captureGesture('in')}
              disabled={!s.info}
              aria-keyshortcuts="I"
            >
              Start <kbd>I</kbd>
            </button>
            <button
              onClick={() => void captureGesture('out')}
              disabled={!s.info}
              aria-keyshortcuts="O"
            >
              End <kbd>O</kbd>
            </button>
            <button
              class="primary"
              onClick={() => void makeStickerNow()}
              disabled={!s.range || !!s.job}
              aria-keyshortcuts="Enter"
            >
              Make sticker <kbd>Enter</kbd>
            </button>
            <span class="muted">
              {st.capture.stickerFormat.toUpperCase()} · {st.capture.fps} fps · ≤
              {st.capture.maxSide}px · ≤{formatBytes(st.capture.maxStickerBytes)}
            </span>
          </>
        )}
      </div>
      {s.mode === 'sticker' && <Timeline />}
      {/* Always in the page, so screen readers announce each change of its words. */}
      <p class="visually-hidden" aria-live="polite" data-testid="capture-status">
        {captureWords(s)}
      </p>
      {s.job && (
        <div class="job" data-testid="job">
          <span>
            {s.job.kind === 'still' ? 'Capturing frame…' : `Making sticker: ${s.job.stage}…`}
          </span>
          <progress max={1} value={s.job.fraction} />
          <button onClick={() => s.job?.cancel()}>Cancel</button>
        </div>
      )}
      {s.preview && <PreviewCard p={s.preview} />}
    </section>
  );
}
