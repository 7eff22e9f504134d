/**
 * Clipchat's page: conversations on the left, the open chat in the middle (with the
 * sticker library beside the composer), the video player and capture on the right.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { CapturePanel } from './capture/CapturePanel';
import { Player, captureGesture, gesturesDone, stepFrame, togglePlay } from './capture/Player';
import { cap, makeStickerNow } from './capture/state';
import { Auth } from './chat/Auth';
import { Composer } from './chat/Composer';
import { ConversationList, titleOf } from './chat/ConversationList';
import { resetAlive, startAlive } from './chat/alive';
import { ChatStatus } from './chat/ChatStatus';
import { ConnectionBadge } from './chat/ConnectionBadge';
import { startLiveness } from './chat/liveness';
import { MessageList } from './chat/MessageList';
import { NewMessageAnnouncer } from './chat/Announcer';
import { MembersButton } from './chat/Members';
import { BellButton, MuteButton } from './chat/NotifyButtons';
import { startNotifications } from './chat/notify';
import { Search } from './chat/Search';
import { chat, startChat, stopChat } from './chat/state';
import { LibraryPanel } from './library/LibraryPanel';
import { loadLibrary } from './library/state';
import { SettingsPanel } from './settings/SettingsPanel';
import { loadSettings } from './settings/state';
import { useStore } from './store';
import type { User } from './types';

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return (
    !!el &&
    (el.isContentEditable ||
      (['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) &&
        (el as HTMLInputElement).type !== 'range'))
  );
}

/** Capture keys: S still, I/O sticker start/end, Enter make, `,`/`.` frame step, Space play. */
function onKey(e: KeyboardEvent): void {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
  const s = cap.get();
  if (!s.info) return;
  switch (e.key) {
    case 's':
    case 'S':
      e.preventDefault();
      void captureGesture('still');
      break;
    case 'i':
    case 'I':
      e.preventDefault();
      cap.set({ mode: 'sticker' });
      void captureGesture('in');
      break;
    case 'o':
    case 'O':
      e.preventDefault();
      cap.set({ mode: 'sticker' });
      void captureGesture('out');
      break;
    case 'Enter':
      if (
        s.mode === 'sticker' &&
        !s.job &&
        !(e.target as HTMLElement | null)?.closest?.('button, a')
      ) {
        e.preventDefault();
        void gesturesDone().then(() => makeStickerNow());
      }
      break;
    case ',':
      e.preventDefault();
      stepFrame(-1);
      break;
    case '.':
      e.preventDefault();
      stepFrame(1);
      break;
    case ' ':
      if (!(e.target as HTMLElement | null)?.closest?.('button')) {
        e.preventDefault();
        togglePlay();
      }
      break;
    case 'Escape':
      if (s.job) s.job.cancel();
      break;
  }
}

function Main({ me, onSignOut }: { me: User; onSignOut: () => void }) {
  const c = useStore(chat);
  const [showSettings, setShowSettings] = useState(false);
  const [showLibrary, setShowLibrary] = useState(false);
  const [tab, setTab] = useState<'chat' | 'video'>('chat');
  useEffect(() => startNotifications(), []);
  useEffect(() => {
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  const active = c.conversations.find((x) => x.id === c.activeId);
  return (
    <div class={`app tab-${tab} ${c.activeId ? 'has-active' : ''}`}>
      <header class="topbar">
        <h1 class="brand">
          <span class="logo" aria-hidden="true">
            ▶
          </span>{' '}
          Clipchat
        </h1>
        <ConnectionBadge />
        <nav class="tabs" aria-label="View">
          <button aria-pressed={tab === 'chat'} onClick={() => setTab('chat')}>
            Chat
          </button>
          <button aria-pressed={tab === 'video'} onClick={() => setTab('video')}>
            Video
          </button>
        </nav>
        <Search />
        <span class="spacer" />
        <BellButton />
        <button onClick={() => setShowSettings(true)} data-testid="open-settings">
          Capture settings
        </button>
        <span class="me">{me.username}</span>
        <button class="link" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {c.notice && (
        <div class="banner" role="alert" data-testid="notice">
          {c.notice}
          <button class="link" onClick={() => chat.set({ notice: null })}>
            Dismiss
          </button>
        </div>
      )}
      {/* One main landmark around the three columns (display: contents keeps them in the
          grid), so it is there whichever column the phone layout shows. */}
      <main class="columns">
        <ConversationList />
        <section class="chat" aria-label="Conversation">
          {active && (
            <h2 class="chat-title">
              <button
                class="link back"
                onClick={() => chat.set({ activeId: null })}
                aria-label="Back to chats"
              >
                ‹ Chats
              </button>
              {titleOf(active, me.id)}
              <ChatStatus c={active} meId={me.id} />
              <MembersButton c={active} meId={me.id} />
              <MuteButton conversationId={active.id} />
            </h2>
          )}
          <MessageList />
          <NewMessageAnnouncer />
          <div class="composer-row">
            {showLibrary && c.activeId && <LibraryPanel onClose={() => setShowLibrary(false)} />}
            <Composer
              libraryOpen={showLibrary}
              onToggleLibrary={() => setShowLibrary(!showLibrary)}
            />
          </div>
        </section>
        <section class="video" aria-label="Video and capture">
          <Player />
          <CapturePanel />
        </section>
      </main>
      {showSettings && <SettingsPanel onClose={() => setShowSettings(false)} />}
    </div>
  );
}

export function App() {
  const [me, setMe] = useState<User | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const signedIn = async (u: User) => {
    startAlive();
    startLiveness();
    setMe(u);
    await Promise.all([startChat(u), loadSettings(), loadLibrary()]);
  };
  useEffect(() => {
    api
      .me()
      .then((u) => (u ? signedIn(u) : setMe(null)))
      .catch((e) => {
        setError((e as Error).message);
        setMe(null);
      });
  }, []);
  if (me === undefined) return <div class="loading muted">Loading…</div>;
  if (!me)
    return (
      <>
        {error && (
          <div class="banner" role="alert">
            {error}
          </div>
        )}
        <Auth onSignedIn={(u) => void signedIn(u)} />
      </>
    );
  return (
    <Main
      me={me}
      onSignOut={() => {
        stopChat();
        resetAlive();
        void api.logout();
        setMe(null);
      }}
    />
  );
}
