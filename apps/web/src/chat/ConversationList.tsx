/** Conversations, most recent first, with unread counts; start a new one by username(s). */
import { PlusIcon } from '../icons';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { clockTime } from '../format';
import { useStore } from '../store';
import type { Conversation, Message } from '../types';
import { chat, openConversation, refreshConversations } from './state';

export function titleOf(c: Conversation, meId?: string): string {
  if (c.title) return c.title;
  const others = c.members.filter((m) => m.id !== meId).map((m) => m.username);
  return others.join(', ') || 'Just you';
}

function preview(m: Message | null): string {
  if (!m) return 'No messages yet';
  if (m.deletedAt !== null) return `${m.sender}: message deleted`;
  if (m.kind === 'text') return `${m.sender}: ${m.text ?? ''}`;
  if (m.kind === 'system') return m.text ?? '';
  return `${m.sender}: ${m.kind === 'still' ? 'Still' : 'Sticker'}`;
}

export function ConversationList() {
  const s = useStore(chat);
  const [names, setNames] = useState('');
  const [title, setTitle] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const members = names
      .split(/[,\s]+/)
      .map((x) => x.trim())
      .filter(Boolean);
    if (!members.length) return;
    try {
      const group = members.length > 1 || !!title.trim();
      const c = await api.createConversation({
        members,
        kind: group ? 'group' : 'direct',
        title: title.trim() || undefined,
      });
      await refreshConversations();
      setNames('');
      setTitle('');
      setOpen(false);
      await openConversation(c.id);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <nav class="conversations" aria-label="Conversations">
      <div class="conv-head">
        <h2>Chats</h2>
        <button
          class="icon"
          aria-label="New conversation"
          title="New conversation"
          onClick={() => setOpen(!open)}
        >
          <PlusIcon />
        </button>
      </div>
      {open && (
        <form class="new-conv" onSubmit={create}>
          <input
            placeholder="Username(s), comma separated"
            value={names}
            aria-label="Usernames"
            autofocus
            onInput={(e) => setNames(e.currentTarget.value)}
          />
          <input
            placeholder="Group name (optional)"
            value={title}
            aria-label="Group name"
            onInput={(e) => setTitle(e.currentTarget.value)}
          />
          <button class="primary" type="submit">
            Start
          </button>
          {error && (
            <p class="notice error" role="alert">
              {error}
            </p>
          )}
        </form>
      )}
      <ul>
        {s.conversations.map((c) => (
          <li key={c.id}>
            <button
              class={`conv ${c.id === s.activeId ? 'active' : ''}`}
              onClick={() => void openConversation(c.id)}
              data-testid="conversation"
            >
              <span class="avatar" aria-hidden="true">
                {titleOf(c, s.me?.id).slice(0, 1).toUpperCase()}
              </span>
              <span class="conv-text">
                <span class="conv-title">{titleOf(c, s.me?.id)}</span>
                <span class="conv-last">{preview(c.lastMessage)}</span>
              </span>
              <span class="conv-meta">
                {c.lastMessage && (
                  <span class="conv-time">{clockTime(c.lastMessage.createdAt)}</span>
                )}
                {c.unread > 0 && c.id !== s.activeId && (
                  <span class="badge" aria-label={`${c.unread} unread`} data-testid="unread">
                    {c.unread}
                  </span>
                )}
              </span>
            </button>
          </li>
        ))}
        {!s.conversations.length && (
          <li class="muted empty">No conversations yet. Press + and type a username.</li>
        )}
      </ul>
    </nav>
  );
}
