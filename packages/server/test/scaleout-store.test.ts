// What only a shared database has to get right: several nodes (here, several pools on one
// schema) migrating at the same moment, appending to one conversation at once, resending
// one clientId through two nodes, and seeing each other's media, sessions and stickers.
import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../src/store/postgres';
import { MIGRATIONS } from '../src/store/postgres-schema';
import type { MediaMeta, NewMessage } from '../src/store/types';
import { createTestSchema, type TestSchema } from './pg-helpers';

let schema: TestSchema | undefined;
const stores: PostgresStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await schema?.drop();
});

async function nodes(n: number): Promise<PostgresStore[]> {
  schema = await createTestSchema();
  const list = Array.from(
    { length: n },
    () => new PostgresStore({ url: schema!.url, poolSize: 4 }),
  );
  stores.push(...list);
  // All at once: the advisory lock makes them take turns.
  await Promise.all(list.map((s) => s.init()));
  return list;
}

function msg(
  conversationId: string,
  senderId: string,
  clientId: string,
  extra: Partial<NewMessage> = {},
): NewMessage {
  return {
    id: randomUUID(),
    conversationId,
    senderId,
    senderName: 'alice',
    clientId,
    kind: 'text',
    text: clientId,
    media: null,
    source: null,
    createdAt: Date.now(),
    replyTo: null,
    reactions: [],
    editedAt: null,
    deletedAt: null,
    rev: 0,
    ...extra,
  };
}

async function seed(s: PostgresStore) {
  const alice = (await s.createUser({
    id: 'u-alice',
    username: 'alice',
    passwordHash: 'x',
    createdAt: 1,
  }))!;
  const bob = (await s.createUser({
    id: 'u-bob',
    username: 'bob',
    passwordHash: 'x',
    createdAt: 2,
  }))!;
  const { conversation } = await s.createConversation({
    id: 'c1',
    kind: 'direct',
    title: null,
    createdBy: alice.id,
    createdAt: 3,
    memberIds: [alice.id, bob.id],
    directKey: 'u-alice:u-bob',
  });
  return { alice, bob, conversation };
}

describe.skipIf(process.env.CLIPCHAT_TEST_POSTGRES === '0')(
  'PostgresStore shared by several nodes',
  () => {
    it('migrates once when four nodes start together, and again is a no-op', async () => {
      const [a] = await nodes(4);
      const { rows } = await a!.pool.query(
        'SELECT version FROM clipchat_migrations ORDER BY version',
      );
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
      await a!.init();
      await a!.ping();
    });

    it('assigns gapless seqs and one message per clientId under concurrent appends from two nodes', async () => {
      const [a, b] = await nodes(2);
      const { alice, bob, conversation } = await seed(a!);
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        const sender = i % 2 ? alice : bob;
        const m = msg(conversation.id, sender.id, `k${i}`, { senderName: sender.username });
        // Every message goes through both nodes (a client resending after a failover), some in batches.
        work.push(a!.appendMessages([m]), b!.appendMessages([{ ...m, id: randomUUID() }, m]));
      }
      await Promise.all(work);
      const all = await b!.messagesAfter(conversation.id, 0, 1000);
      expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(new Set(all.map((m) => m.clientId)).size).toBe(200);
      expect((await a!.getConversation(conversation.id))!.lastSeq).toBe(200);
      expect(all[0]!.senderName).toMatch(/alice|bob/);
    });

    it('reports a repeat within a batch and across nodes as the first message', async () => {
      const [a, b] = await nodes(2);
      const { alice, conversation } = await seed(a!);
      const m = msg(conversation.id, alice.id, 'same');
      const [first, again] = await a!.appendMessages([
        m,
        { ...m, id: randomUUID(), text: 'changed' },
      ]);
      expect(first!.created).toBe(true);
      expect(again!.created).toBe(false);
      expect(again!.message.id).toBe(first!.message.id);
      const [later] = await b!.appendMessages([{ ...m, id: randomUUID() }]);
      expect(later!.created).toBe(false);
      expect(later!.message).toMatchObject({
        id: first!.message.id,
        seq: 1,
        text: 'same',
        senderName: 'alice',
      });
    });

    it('shares sessions, media bytes, stickers, settings and read positions between nodes', async () => {
      const [a, b] = await nodes(2);
      const { alice, bob, conversation } = await seed(a!);
      await a!.createSession({
        tokenHash: 'h1',
        userId: alice.id,
        csrfToken: 'c',
        createdAt: 1,
        expiresAt: Date.now() + 60_000,
      });
      expect((await b!.getSession('h1', Date.now()))?.userId).toBe(alice.id);
      expect(await b!.getSession('h1', Date.now() + 120_000)).toBeNull();

      const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 255]);
      const id = createHash('sha256').update(bytes).digest('hex');
      const meta: MediaMeta = {
        id,
        mime: 'image/png',
        width: 1,
        height: 1,
        frames: 1,
        bytes: bytes.length,
        createdAt: 5,
      };
      await a!.putMedia(meta, bytes, alice.id);
      // Same content again (through the other node, by someone else): stored once, first metadata kept.
      expect(await b!.putMedia({ ...meta, createdAt: 9 }, bytes, bob.id)).toEqual(meta);
      expect(Buffer.compare((await b!.readMedia(id))!, bytes)).toBe(0);
      const { rows } = await a!.pool.query('SELECT count(*)::int AS n FROM media_blobs');
      expect(rows[0].n).toBe(1);

      expect(await b!.canReadMedia('u-carol', id)).toBe(false);
      await a!.appendMessages([
        msg(conversation.id, alice.id, 'pic', {
          kind: 'still',
          text: null,
          media: meta,
          source: { video: 'v.mp4', at: 1.5 },
        }),
      ]);
      const [posted] = await b!.messagesAfter(conversation.id, 0, 10);
      expect(posted).toMatchObject({
        kind: 'still',
        media: meta,
        source: { video: 'v.mp4', at: 1.5 },
      });

      await a!.addSticker({
        id: 's1',
        userId: alice.id,
        mediaId: id,
        name: 'wave',
        tags: ['hi', 'x'],
        createdAt: 10,
      });
      await a!.addSticker({
        id: 's2',
        userId: alice.id,
        mediaId: id,
        name: 'wave2',
        tags: [],
        createdAt: 10,
      });
      expect((await b!.listStickers(alice.id)).map((s) => s.id)).toEqual(['s2', 's1']);
      expect(await b!.updateSticker(alice.id, 's1', { tags: ['t'] })).toMatchObject({
        name: 'wave',
        tags: ['t'],
        media: meta,
      });
      expect(await b!.updateSticker(bob.id, 's1', { name: 'no' })).toBeNull();
      expect(await a!.deleteSticker(alice.id, 's2')).toBe(true);

      await a!.putCaptureSettings(alice.id, { fps: 15, stillFormat: 'webp' });
      expect(await b!.getCaptureSettings(alice.id)).toEqual({ fps: 15, stillFormat: 'webp' });

      expect(await b!.markRead(bob.id, conversation.id, 99)).toBe(1); // capped at last seq
      expect(await a!.markRead(bob.id, conversation.id, 0)).toBe(1); // never lowered
      const [summary] = await b!.listConversations(alice.id);
      expect(summary).toMatchObject({ id: conversation.id, lastSeq: 1, readSeq: 0, unread: 0 });
      expect(summary!.members.map((m) => m.username)).toEqual(['alice', 'bob']);
      expect(summary!.lastMessage?.clientId).toBe('pic');
    });

    it('agrees on one direct conversation when two nodes create it at once', async () => {
      const [a, b] = await nodes(2);
      await a!.createUser({ id: 'u1', username: 'u1', passwordHash: 'x', createdAt: 1 });
      await a!.createUser({ id: 'u2', username: 'u2', passwordHash: 'x', createdAt: 1 });
      const make = (s: PostgresStore, id: string) =>
        s.createConversation({
          id,
          kind: 'direct',
          title: null,
          createdBy: 'u1',
          createdAt: 1,
          memberIds: ['u1', 'u2'],
          directKey: 'u1:u2',
        });
      const [x, y] = await Promise.all([make(a!, 'cx'), make(b!, 'cy')]);
      expect(x.conversation.id).toBe(y.conversation.id);
      expect([x.created, y.created].sort()).toEqual([false, true]);
      expect(
        await b!.createUser({ id: 'u3', username: 'u1', passwordHash: 'x', createdAt: 1 }),
      ).toBeNull();
    });
  },
);
