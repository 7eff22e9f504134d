/**
 * A line in the message list where held messages skip seqs (history was loaded around an
 * old message): a click loads the next page of the messages between.
 */
import { useState } from 'preact/hooks';
import { fillGap } from './history';

export function Gap({
  conversationId,
  after,
  count,
}: {
  conversationId: string;
  after: number;
  count: number;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = () => {
    setError(null);
    setBusy(true);
    fillGap(conversationId, after)
      .catch((e) => setError((e as Error).message))
      .finally(() => setBusy(false));
  };
  return (
    <li class="older gap" data-testid="gap">
      <button class="link small" onClick={load} disabled={busy}>
        {busy ? 'Loading…' : `Show ${count} newer message${count === 1 ? '' : 's'}`}
      </button>
      {error && (
        <span class="muted small" role="alert">
          {' '}
          {error}
        </span>
      )}
    </li>
  );
}
