/**
 * A message whose media is gone by the time it commits — its last message deleted between
 * the send's check and the commit took the bytes with it — is refused with
 * ERR_MEDIA_NOT_FOUND, not a 500, and the messages batched with it still commit.
 * Against real stores: the media row is really absent when the batch is written.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../src/errors';
import { MessageWriter } from '../src/im/writer';
import { buildMessage, type MediaMeta } from '../src/store/message';
import type { Store } from '../src/store/types';
import { backends } from './backends';

describe.each(backends)('a send whose media went meanwhile ($name)', (backend) => {
  let store: Store | undefined;
  let dir = '';
  afterEach(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses that message with ERR_MEDIA_NOT_FOUND; its batch neighbours commit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'clipchat-race-'));
    store = await backend.makeStore(dir);
    const now = Date.now();
    const alice = (await store.createUser({
      id: randomUUID(),
      username: `a${now % 1e6}`,
      passwordHash: 'x',
      createdAt: now,
    }))!;
    const { conversation } = await store.createConversation({
      id: randomUUID(),
      kind: 'group',
      title: 'race',
      createdBy: alice.id,
      createdAt: now,
      memberIds: [alice.id],
      directKey: null,
    });
    const gone: MediaMeta = {
      id: 'f'.repeat(64),
      mime: 'image/png',
      width: 1,
      height: 1,
      frames: 1,
      bytes: 68,
      createdAt: now,
    };
    const sender = { id: alice.id, username: alice.username };
    const text = (n: number) =>
      buildMessage({
        conversationId: conversation.id,
        sender,
        input: { clientId: `t${n}`, kind: 'text', text: `t${n}` },
        media: null,
        now,
      });
    const still = buildMessage({
      conversationId: conversation.id,
      sender,
      input: { clientId: 's', kind: 'still', mediaId: gone.id },
      media: gone,
      now,
    });

    const writer = new MessageWriter(store);
    // Same turn of the event loop: one batch.
    const [a, b, c] = await Promise.allSettled([
      writer.append(text(1)),
      writer.append(still),
      writer.append(text(2)),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(c.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    const err = (b as PromiseRejectedResult).reason as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('ERR_MEDIA_NOT_FOUND');
    expect(err.statusCode).toBe(404);
    expect(err.message).toMatch(/deleted while the message was being sent/);
    const page = await store.messagesAfter(conversation.id, 0, 10);
    expect(page.map((m) => m.text)).toEqual(['t1', 't2']);
  });
});
