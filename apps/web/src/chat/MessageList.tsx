/**
 * The messages of the open conversation, oldest at the top; scroll up for older ones.
 * My messages show their delivery state: sending (or waiting for a connection), sent,
 * delivered, read (Ticks.tsx), or failed (with Retry).
 * Text is always rendered as text, never as HTML. A reply shows the message it answers
 * (a click goes there); reactions sit under the bubble; an edited message says so and a
 * deleted one stays in place as "message deleted". Swiping a message to the right on a
 * touch screen starts a reply, as does the actions menu.
 */
import { FilmIcon } from '../icons';
import { Fragment } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { clockTime, describeSource } from '../format';
import { saveMedia } from '../library/state';
import { useStore } from '../store';
import type { Message } from '../types';
import { Gap } from './Gap';
import { Media } from './Media';
import { ViewableMedia } from './Viewer';
import { MessageText } from './MessageText';
import { DaySeparator } from './DaySeparator';
import { startsDay } from './days';
import { SystemLine } from './Members';
import { Origin, SharedVideo } from '../share/SharedVideo';
import { MessageMenu, Quote, Reactions, focusComposer } from './MessageParts';
import { chat, discardSend, loadOlder, retrySend, startReply, type OutboxItem } from './state';
import { PendingLabel, Ticks } from './Ticks';

/** How far (px) a message is swiped right to start a reply. */
const SWIPE_PX = 64;

/** Swipe right on a touch screen to reply: the bubble follows the finger, past SWIPE_PX it answers. */
function useSwipe(onSwipe: () => void) {
  const start = useRef<{ x: number; y: number } | null>(null);
  const [dx, setDx] = useState(0);
  return {
    dx,
    handlers: {
      onTouchStart: (e: TouchEvent) => {
        const t = e.touches[0];
        start.current = t && e.touches.length === 1 ? { x: t.clientX, y: t.clientY } : null;
      },
      onTouchMove: (e: TouchEvent) => {
        const t = e.touches[0];
        if (!start.current || !t) return;
        const x = t.clientX - start.current.x,
          y = t.clientY - start.current.y;
        // A mostly vertical move is a scroll, not a swipe.
        if (Math.abs(y) > 30 && Math.abs(y) > Math.abs(x)) {
          start.current = null;
          setDx(0);
          return;
        }
        setDx(Math.max(0, Math.min(x, SWIPE_PX * 1.5)));
      },
      onTouchEnd: () => {
        if (start.current && dx >= SWIPE_PX) onSwipe();
        start.current = null;
        setDx(0);
      },
      onTouchCancel: () => {
        start.current = null;
        setDx(0);
      },
    },
  };
}

function SaveButton({ m }: { m: Message }) {
  const [state, setState] = useState<string>('idle'); // 'idle', 'saving', 'saved' or why it failed
  if (!m.media) return null;
  const save = async () => {
    setState('saving');
    try {
      await saveMedia(
        m.media!,
        m.source ? describeSource(m.source) : `${m.kind} from ${m.sender}`,
        [],
      );
      setState('saved');
    } catch (e) {
      setState(`Could not save: ${(e as Error).message}`);
    }
  };
  return (
    <button
      class="link small save-sticker"
      onClick={save}
      disabled={state === 'saving' || state === 'saved'}
    >
      {state === 'idle'
        ? 'Save to my stickers'
        : state === 'saving'
          ? 'Saving…'
          : state === 'saved'
            ? 'Saved ✓'
            : state}
    </button>
  );
}

function Bubble({
  m,
  mine,
  me,
  original,
  highlight,
}: {
  m: Message;
  mine: boolean;
  me: string | undefined;
  original: Message | undefined;
  highlight: boolean;
}) {
  const deleted = m.deletedAt !== null;
  const ref = useRef<HTMLLIElement>(null);
  const swipe = useSwipe(() => {
    startReply(m);
    focusComposer();
  });
  useEffect(() => {
    if (!highlight || !ref.current) return;
    ref.current.scrollIntoView({ block: 'center', behavior: 'smooth' });
    ref.current.focus({ preventScroll: true });
  }, [highlight]);
  return (
    <li
      ref={ref}
      id={`msg-${m.id}`}
      tabIndex={-1}
      data-testid="message"
      data-id={m.id}
      data-seq={m.seq}
      data-kind={m.kind}
      data-state="sent"
      data-deleted={deleted ? 'true' : undefined}
      data-edited={m.editedAt !== null && !deleted ? 'true' : undefined}
      class={`msg ${mine ? 'mine' : ''} kind-${deleted ? 'deleted' : m.kind} ${highlight ? 'highlight' : ''}`}
      {...(deleted ? {} : swipe.handlers)}
    >
      {!mine && <span class="sender">{m.sender}</span>}
      <div
        class="bubble-row"
        style={swipe.dx ? { transform: `translateX(${swipe.dx}px)` } : undefined}
      >
        <div class="bubble">
          {m.replyTo && !deleted && (
            <Quote conversationId={m.conversationId} id={m.replyTo} original={original} />
          )}
          {deleted ? (
            <p class="text deleted" data-testid="tombstone">
              message deleted
            </p>
          ) : (
            <>
              {m.kind === 'video' && m.media && <SharedVideo m={m} />}
              {m.kind !== 'video' && m.media && (
                <ViewableMedia media={m.media} alt={m.source ? describeSource(m.source) : m.kind} />
              )}
              {m.text && <MessageText text={m.text} />}
              {m.kind !== 'video' && m.source && <Origin s={m.source} />}
            </>
          )}
          <span class="meta">
            {m.editedAt !== null && !deleted && (
              <span class="edited" title={`Edited ${new Date(m.editedAt).toLocaleString()}`}>
                edited ·{' '}
              </span>
            )}
            {clockTime(m.createdAt)}
            {mine && <Ticks m={m} />}
          </span>
        </div>
        <MessageMenu m={m} />
      </div>
      <Reactions m={m} me={me} />
      {m.media && !deleted && m.kind !== 'video' && <SaveButton m={m} />}
    </li>
  );
}

function Pending({ o, original }: { o: OutboxItem; original: Message | undefined }) {
  const url = o.blob ? URL.createObjectURL(o.blob) : null;
  useEffect(
    () => () => {
      if (url) URL.revokeObjectURL(url);
    },
    [url],
  );
  return (
    <li
      class={`msg mine pending ${o.state}`}
      data-testid="message"
      data-state={o.state}
      data-kind={o.kind}
    >
      <div class="bubble">
        {o.replyTo && (
          <Quote conversationId={o.conversationId} id={o.replyTo} original={original} />
        )}
        {url && <img class="media" src={url} alt="" style={{ maxWidth: '200px' }} />}
        {o.media &&
          !url &&
          (o.kind === 'video' ? (
            <span class="muted small">{o.source?.video ?? 'video'}</span>
          ) : (
            <Media media={o.media} alt={o.kind} />
          ))}
        {o.text && <p class="text">{o.text}</p>}
        {o.source && (
          <span class="origin">
            <FilmIcon /> {describeSource(o.source)}
          </span>
        )}
        <span class="meta">
          <PendingLabel o={o} />
        </span>
      </div>
      {o.state === 'failed' && (
        <div class="failed" role="alert">
          <span>{o.error ?? 'Could not send.'}</span>
          <button class="link small" onClick={() => retrySend(o.clientId)}>
            Retry
          </button>
          <button class="link small" onClick={() => discardSend(o.clientId)}>
            Discard
          </button>
        </div>
      )}
    </li>
  );
}

export function MessageList() {
  const s = useStore(chat);
  const ref = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  /** scrollTop at the last scroll event: a smaller one is the person scrolling up. */
  const lastTop = useRef(0);
  const prevHeight = useRef(0);
  const id = s.activeId;
  const msgs = id ? (s.messages[id] ?? []) : [];
  const pending = s.outbox.filter((o) => o.conversationId === id);
  const byId = new Map(msgs.map((m) => [m.id, m]));

  // A message of mine that was just sent always comes into view, wherever the list was.
  const mine = pending.length;
  const prevMine = useRef(mine);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (mine > prevMine.current) stick.current = true;
    prevMine.current = mine;
    if (stick.current) el.scrollTop = el.scrollHeight;
    else if (prevHeight.current && el.scrollTop < 10)
      el.scrollTop = el.scrollHeight - prevHeight.current;
    prevHeight.current = el.scrollHeight;
  }, [msgs.length, pending.length, id]);

  // Images and stickers get their height when they load, after the scroll above, and a
  // list hidden behind the phone layout's Video tab has no height at all: while the list
  // is held at the bottom, keep it there as its content or its box grows.
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const keep = () => {
      if (stick.current) el.scrollTop = el.scrollHeight;
    };
    el.addEventListener('load', keep, true);
    el.addEventListener('loadedmetadata', keep, true);
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(keep) : null;
    ro?.observe(el);
    // Each message too: one that grows or replaces its pending copy after the scroll above.
    for (const c of el.children) ro?.observe(c);
    const mo = new MutationObserver((changes) => {
      for (const ch of changes) {
        ch.addedNodes.forEach((n) => {
          if (n instanceof Element) ro?.observe(n);
        });
        ch.removedNodes.forEach((n) => {
          if (n instanceof Element) ro?.unobserve(n);
        });
      }
    });
    mo.observe(el, { childList: true });
    return () => {
      el.removeEventListener('load', keep, true);
      el.removeEventListener('loadedmetadata', keep, true);
      ro?.disconnect();
      mo.disconnect();
    };
  }, [id]);

  const onScroll = () => {
    const el = ref.current!;
    // Held at the bottom until the person scrolls up. Content that grows between our own
    // scroll to the bottom and its scroll event leaves the list short of the bottom without
    // anyone scrolling: that must not let go (a still 66 px below the fold on a phone).
    if (el.scrollHeight - el.scrollTop - el.clientHeight < 40) stick.current = true;
    else if (el.scrollTop < lastTop.current - 1) stick.current = false;
    lastTop.current = el.scrollTop;
    if (el.scrollTop < 40 && id && s.hasMore[id]) {
      prevHeight.current = el.scrollHeight;
      void loadOlder(id);
    }
  };

  if (!id) return <div class="empty-chat muted">Pick a conversation or start one with +.</div>;
  return (
    <ol class="messages" ref={ref} onScroll={onScroll} aria-label="Messages" data-testid="messages">
      {s.hasMore[id] && (
        <li class="older">
          <button class="link small" onClick={() => void loadOlder(id)}>
            Load older messages
          </button>
        </li>
      )}
      {msgs.map((m, i) => (
        <Fragment key={m.id}>
          {i > 0 && m.seq > msgs[i - 1]!.seq + 1 && (
            <Gap
              conversationId={id}
              after={msgs[i - 1]!.seq}
              count={m.seq - msgs[i - 1]!.seq - 1}
            />
          )}
          {startsDay(msgs[i - 1]?.createdAt, m.createdAt) && <DaySeparator at={m.createdAt} />}
          {m.kind === 'system' ? (
            <SystemLine m={m} highlight={s.highlight === m.id} />
          ) : (
            <Bubble
              m={m}
              mine={m.senderId === s.me?.id}
              me={s.me?.username}
              highlight={s.highlight === m.id}
              original={m.replyTo ? byId.get(m.replyTo) : undefined}
            />
          )}
        </Fragment>
      ))}
      {pending.length > 0 && startsDay(msgs.at(-1)?.createdAt, pending[0]!.createdAt) && (
        <DaySeparator at={pending[0]!.createdAt} />
      )}
      {pending.map((o) => (
        <Pending key={o.clientId} o={o} original={o.replyTo ? byId.get(o.replyTo) : undefined} />
      ))}
    </ol>
  );
}
