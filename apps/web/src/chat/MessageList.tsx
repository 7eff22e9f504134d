/**
 * The messages of the open conversation, oldest at the top; scroll up for older ones.
 * My messages show their delivery state: sending, sent, or failed (with Retry).
 * Text is always rendered as text, never as HTML.
 */
import { FilmIcon } from '../icons';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { clockTime, describeSource } from '../format';
import { saveMedia } from '../library/state';
import { useStore } from '../store';
import type { Message } from '../types';
import { Media } from './Media';
import { chat, discardSend, loadOlder, retrySend, type OutboxItem } from './state';

function SaveButton({ m }: { m: Message }) {
  const [state, setState] = useState<'idle' | 'saving' | 'saved' | string>('idle');
  if (!m.media) return null;
  const save = async () => {
    setState('saving');
    try {
      await saveMedia(m.media!, m.source ? describeSource(m.source) : `${m.kind} from ${m.sender}`, []);
      setState('saved');
    } catch (e) {
      setState(`Could not save: ${(e as Error).message}`);
    }
  };
  return (
    <button class="link small save-sticker" onClick={save} disabled={state === 'saving' || state === 'saved'}>
      {state === 'idle' ? 'Save to my stickers' : state === 'saving' ? 'Saving…' : state === 'saved' ? 'Saved ✓' : state}
    </button>
  );
}

function Bubble({ m, mine }: { m: Message; mine: boolean }) {
  return (
    <li class={`msg ${mine ? 'mine' : ''} kind-${m.kind}`} data-testid="message" data-seq={m.seq} data-kind={m.kind} data-state="sent">
      {!mine && <span class="sender">{m.sender}</span>}
      <div class="bubble">
        {m.media && <Media media={m.media} alt={m.source ? describeSource(m.source) : m.kind} />}
        {m.text && <p class="text">{m.text}</p>}
        {m.source && <span class="origin" title="Captured from"><FilmIcon /> {describeSource(m.source)}</span>}
        <span class="meta">{clockTime(m.createdAt)}{mine && <span class="tick" aria-label="sent"> ✓</span>}</span>
      </div>
      {m.media && <SaveButton m={m} />}
    </li>
  );
}

function Pending({ o }: { o: OutboxItem }) {
  const url = o.blob ? URL.createObjectURL(o.blob) : null;
  useEffect(() => () => { if (url) URL.revokeObjectURL(url); }, [url]);
  return (
    <li class={`msg mine pending ${o.state}`} data-testid="message" data-state={o.state} data-kind={o.kind}>
      <div class="bubble">
        {url && <img class="media" src={url} alt="" style={{ maxWidth: '200px' }} />}
        {o.media && !url && <Media media={o.media} alt={o.kind} />}
        {o.text && <p class="text">{o.text}</p>}
        {o.source && <span class="origin"><FilmIcon /> {describeSource(o.source)}</span>}
        <span class="meta">{o.state === 'sending' ? 'Sending…' : 'Not sent'}</span>
      </div>
      {o.state === 'failed' && (
        <div class="failed" role="alert">
          <span>{o.error ?? 'Could not send.'}</span>
          <button class="link small" onClick={() => retrySend(o.clientId)}>Retry</button>
          <button class="link small" onClick={() => discardSend(o.clientId)}>Discard</button>
        </div>
      )}
    </li>
  );
}

export function MessageList() {
  const s = useStore(chat);
  const ref = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const prevHeight = useRef(0);
  const id = s.activeId;
  const msgs = id ? s.messages[id] ?? [] : [];
  const pending = s.outbox.filter((o) => o.conversationId === id);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (stick.current) el.scrollTop = el.scrollHeight;
    else if (prevHeight.current && el.scrollTop < 10) el.scrollTop = el.scrollHeight - prevHeight.current;
    prevHeight.current = el.scrollHeight;
  }, [msgs.length, pending.length, id]);

  const onScroll = () => {
    const el = ref.current!;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 40 && id && s.hasMore[id]) {
      prevHeight.current = el.scrollHeight;
      void loadOlder(id);
    }
  };

  if (!id) return <div class="empty-chat muted">Pick a conversation or start one with +.</div>;
  return (
    <ol class="messages" ref={ref} onScroll={onScroll} aria-live="polite" data-testid="messages">
      {s.hasMore[id] && <li class="older"><button class="link small" onClick={() => void loadOlder(id)}>Load older messages</button></li>}
      {msgs.map((m) => <Bubble key={m.id} m={m} mine={m.senderId === s.me?.id} />)}
      {pending.map((o) => <Pending key={o.clientId} o={o} />)}
    </ol>
  );
}
