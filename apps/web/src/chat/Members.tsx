/**
 * A group's members: who is in it (online or not, the admin marked), rename it (anyone),
 * add people by username and remove them (the admin), leave (anyone). Each change goes to
 * the server, which writes the system message the others see and tells everyone
 * concerned to refetch; the list here follows from that refetch. Also the centred line a
 * system message ("rita added sam") is shown as in the message list.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { clockTime } from '../format';
import type { Conversation, Message } from '../types';
import { titleOf } from './ConversationList';
import { chat, refreshConversations } from './state';
import './Members.css';

/** A system message: a centred line, no bubble, no actions. */
export function SystemLine({ m, highlight }: { m: Message; highlight: boolean }) {
  const ref = useRef<HTMLLIElement>(null);
  // Jumped to (a search result): into view and focused, as a message bubble is.
  useEffect(() => {
    if (!highlight || !ref.current) return;
    ref.current.scrollIntoView({ block: 'center', behavior: 'smooth' });
    ref.current.focus({ preventScroll: true });
  }, [highlight]);
  return (
    <li
      ref={ref}
      class={`system-line ${highlight ? 'highlight' : ''}`}
      data-testid="system-message"
      data-id={m.id}
      data-seq={m.seq}
      id={`msg-${m.id}`}
      tabIndex={-1}
    >
      <span>{m.text}</span> <span class="muted">{clockTime(m.createdAt)}</span>
    </li>
  );
}

const why = (e: unknown) => (e instanceof ApiError ? e.message : (e as Error).message);

/** The "Members" button of a group's header and the panel it opens. */
export function MembersButton({ c, meId }: { c: Conversation; meId: string }) {
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [c.id]);
  if (c.kind !== 'group') return null;
  return (
    <>
      <button
        class="link small"
        onClick={() => setOpen(true)}
        aria-haspopup="dialog"
        data-testid="open-members"
      >
        Members
      </button>
      {open && <MembersPanel c={c} meId={meId} onClose={() => setOpen(false)} />}
    </>
  );
}

function MembersPanel({
  c,
  meId,
  onClose,
}: {
  c: Conversation;
  meId: string;
  onClose: () => void;
}) {
  const admin = c.adminId === meId;
  const [title, setTitle] = useState(c.title ?? '');
  const [names, setNames] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    first.current?.focus();
  }, []);
  useEffect(() => setTitle(c.title ?? ''), [c.title]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);

  const run = async (what: string, f: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await f();
      await refreshConversations();
      return true;
    } catch (e) {
      setError(`${what}: ${why(e)}`);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const rename = async (e: Event) => {
    e.preventDefault();
    if (title.trim() && title.trim() !== c.title)
      await run('Could not rename the group', () => api.renameConversation(c.id, title.trim()));
  };
  const add = async (e: Event) => {
    e.preventDefault();
    const list = names
      .split(/[,\s]+/)
      .map((x) => x.trim())
      .filter(Boolean);
    if (list.length && (await run('Could not add', () => api.addMembers(c.id, list)))) setNames('');
  };
  const me = c.members.find((m) => m.id === meId);
  const members = [...c.members].sort((a, b) =>
    a.id === c.adminId ? -1 : b.id === c.adminId ? 1 : a.username.localeCompare(b.username),
  );
  return (
    <div
      class="modal-backdrop"
      onClick={(e) => {
        if (e.target === e.currentTarget) onClose();
      }}
    >
      <section
        class="members-panel"
        role="dialog"
        aria-label={`Members of ${titleOf(c, meId)}`}
        data-testid="members"
      >
        <header>
          <h2>{titleOf(c, meId)}</h2>
          <button type="button" class="icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        <form class="members-row" onSubmit={rename}>
          <label for="group-title">Group name</label>
          <input
            id="group-title"
            ref={first}
            value={title}
            maxLength={100}
            onInput={(e) => setTitle((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={busy || !title.trim() || title.trim() === c.title}>
            Rename
          </button>
        </form>
        <ul class="members-list" aria-label="Members">
          {members.map((m) => (
            <li key={m.id} data-testid="member" data-username={m.username}>
              <span class={`dot ${m.online ? 'on' : ''}`} aria-hidden="true" />
              <span class="who">
                {m.username}
                {m.id === meId && <span class="muted"> (you)</span>}
              </span>
              {m.id === c.adminId && (
                <span class="badge" title="May add and remove members">
                  admin
                </span>
              )}
              <span class="muted small">
                {m.online
                  ? 'online'
                  : m.lastSeen
                    ? `last seen ${clockTime(m.lastSeen)}`
                    : 'offline'}
              </span>
              {admin && m.id !== meId && (
                <button
                  class="link small danger"
                  disabled={busy}
                  aria-label={`Remove ${m.username}`}
                  onClick={() =>
                    void run(`Could not remove ${m.username}`, () =>
                      api.removeMember(c.id, m.username),
                    )
                  }
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
        {admin && (
          <form class="members-row" onSubmit={add}>
            <label for="add-members">Add people</label>
            <input
              id="add-members"
              placeholder="usernames, separated by commas"
              value={names}
              onInput={(e) => setNames((e.target as HTMLInputElement).value)}
            />
            <button type="submit" disabled={busy || !names.trim()}>
              Add
            </button>
          </form>
        )}
        {error && (
          <p class="members-error" role="alert">
            {error}
          </p>
        )}
        <footer>
          {me && (
            <button
              class="danger"
              disabled={busy}
              onClick={() =>
                void run('Could not leave', async () => {
                  await api.removeMember(c.id, me.username);
                  chat.set({ activeId: null });
                  onClose();
                })
              }
            >
              Leave group
            </button>
          )}
        </footer>
      </section>
    </div>
  );
}
