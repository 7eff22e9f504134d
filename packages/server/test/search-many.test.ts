/**
 * Search by someone in many conversations (more than the 50 past which PostgreSQL starts
 * from the index's matches): the same answer as for anyone else — my conversations only,
 * newest first, at most `limit` — checked against what was stored, on each backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { buildMessage } from '../src/store/message';
import type { Store } from '../src/store/types';
import { backends } from './backends';

describe.each(backends)('search over many conversations ($name)', (backend) => {
  let store: Store;
  let dir: string;
  const me = { id: randomUUID(), username: `many${Date.now() % 1e6}` };
  const other = { id: randomUUID(), username: `other${Date.now() % 1e6}` };
  /** What was stored: conversation, seq, createdAt, text, and whether I am a member. */
  const sent: { conv: string; at: number; text: string; mine: boolean; id: string }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clipchat-search-many-'));
    store = await backend.makeStore(dir);
    for (const u of [me, other]) await store.createUser({ ...u, passwordHash: 'x', createdAt: 1 });
    const words = ['sunset', 'harbour', 'lantern', 'meadow'];
    let at = 1_700_000_000_000;
    for (let c = 0; c < 70; c++) {
      const mine = c < 60; // 60 of mine, 10 I am not in
      const { conversation } = await store.createConversation({
        id: randomUUID(),
        kind: 'group',
        title: `g${c}`,
        createdBy: other.id,
        createdAt: at,
        memberIds: mine ? [me.id, other.id] : [other.id],
        directKey: null,
      });
      const batch = Array.from({ length: 6 }, (_, k) => {
        const text = `${words[(c + k) % 4]} number ${c}-${k}${k % 3 === 0 ? ' harbour lights' : ''}`;
        const m = buildMessage({
          conversationId: conversation.id,
          sender: other,
          input: { clientId: `m${c}-${k}`, kind: 'text', text },
          media: null,
          now: (at += 1000),
        });
        sent.push({ conv: conversation.id, at: m.createdAt, text, mine, id: m.id });
        return m;
      });
      await store.appendMessages(batch);
    }
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const expected = (word: string, limit: number) =>
    sent
      .filter((m) => m.mine && m.text.split(' ').includes(word))
      .sort((a, b) => b.at - a.at)
      .slice(0, limit)
      .map((m) => m.id);

  it('answers a member of 60 conversations from their conversations only, newest first', async () => {
    for (const [word, limit] of [
      ['harbour', 50],
      ['lantern', 20],
      ['meadow', 200],
      ['nothing', 50],
    ] as const) {
      const found = await store.searchMessages(me.id, { words: [word], limit });
      expect(
        found.map((m) => m.id),
        word,
      ).toEqual(expected(word, limit));
      expect(expected(word, limit).length > 0 || word === 'nothing').toBe(true);
    }
    // Two words: both must be in the message.
    const both = await store.searchMessages(me.id, { words: ['harbour', 'lights'], limit: 50 });
    expect(both.map((m) => m.id)).toEqual(
      sent
        .filter((m) => m.mine && m.text.includes('harbour') && m.text.includes('lights'))
        .sort((a, b) => b.at - a.at)
        .slice(0, 50)
        .map((m) => m.id),
    );
    // Deleted messages are not found.
    const gone = both[0]!;
    await store.changeMessage(gone.id, () => ({ text: null, deletedAt: Date.now() }));
    const after = await store.searchMessages(me.id, { words: ['harbour', 'lights'], limit: 50 });
    expect(after.map((m) => m.id)).not.toContain(gone.id);
    expect(after.map((m) => m.id)).toEqual(
      sent
        .filter(
          (m) =>
            m.mine && m.id !== gone.id && m.text.includes('harbour') && m.text.includes('lights'),
        )
        .sort((a, b) => b.at - a.at)
        .slice(0, 50)
        .map((m) => m.id),
    );
  });
});
