/**
 * Upgrading a store made before replies, reactions, edits and deletes: every message is
 * kept as it was and reads as never changed; new messages append after it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SqliteStore } from '../src/store/sqlite';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../src/store/sqlite-schema';
import { PostgresStore } from '../src/store/postgres';
import { MIGRATIONS as PG_MIGRATIONS } from '../src/store/postgres-schema';
import { createTestSchema, type TestSchema } from './pg-helpers';
import type { NewMessage } from '../src/store/types';

const dirs: string[] = [];
const schemas: TestSchema[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const s of schemas) await s.drop();
});

const next = (cid: string): NewMessage => ({
  id: 'm-new',
  conversationId: cid,
  senderId: 'u1',
  senderName: 'alice',
  clientId: 'c-new',
  kind: 'text',
  text: 'after the upgrade',
  media: null,
  source: null,
  replyTo: 'm-old',
  reactions: [],
  editedAt: null,
  deletedAt: null,
  rev: 0,
  createdAt: 3000,
});

describe('message model migration', () => {
  it('sqlite: a version-1 database keeps its messages, which read as never changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clipchat-migrate-'));
    dirs.push(dir);
    const db = new Database(join(dir, 'clipchat.db'));
    db.exec(SQLITE_MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.exec(`INSERT INTO users (n, id, username, password_hash, created_at) VALUES (1, 'u1', 'alice', 'x', 1);
      INSERT INTO conversations (n, id, kind, title, created_by, created_at, last_seq, active_at) VALUES (1, 'c1', 'group', 'g', 'u1', 1, 1, 2);
      INSERT INTO members (conversation_id, user_id) VALUES ('c1', 'u1');
      INSERT INTO messages (conv, seq, sender, client_id, id, kind, text, media_id, source, created_at)
        VALUES (1, 1, 1, 'c-old', 'm-old', 'text', 'before the upgrade', NULL, '{"video":"v.mp4","at":1.5}', 2000);`);
    db.close();
    const s = new SqliteStore({ dataDir: dir });
    await s.init();
    try {
      const [old] = await s.messagesAfter('c1', 0, 10);
      expect(old).toMatchObject({
        id: 'm-old',
        seq: 1,
        text: 'before the upgrade',
        source: { video: 'v.mp4', at: 1.5 },
        senderName: 'alice',
        replyTo: null,
        reactions: [],
        editedAt: null,
        deletedAt: null,
        rev: 0,
        createdAt: 2000,
      });
      expect((await s.getConversation('c1'))!.lastRev).toBe(0);
      const [r] = await s.appendMessages([next('c1')]);
      expect(r!.message).toMatchObject({ seq: 2, replyTo: 'm-old', rev: 0 });
      expect((await s.getMessage('m-new'))!.replyTo).toBe('m-old');
    } finally {
      await s.close();
    }
  });

  it('postgres: a version-3 schema keeps its messages, which read as never changed', async () => {
    const schema = await createTestSchema();
    schemas.push(schema);
    const c = new pg.Client({ connectionString: schema.url });
    await c.connect();
    try {
      await c.query(
        'CREATE TABLE clipchat_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
      );
      for (let v = 0; v < 3; v++) {
        await c.query(PG_MIGRATIONS[v]!);
        await c.query('INSERT INTO clipchat_migrations VALUES ($1, 0)', [v + 1]);
      }
      await c.query(`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u1', 'alice', 'x', 1);
        INSERT INTO conversations (id, kind, title, created_by, created_at, last_seq, active_at) VALUES ('c1', 'group', 'g', 'u1', 1, 1, 2);
        INSERT INTO members (conversation_id, user_id) VALUES ('c1', 'u1');
        INSERT INTO messages (conversation_id, seq, id, sender_id, client_id, kind, text, media_id, source, created_at)
          VALUES ('c1', 1, 'm-old', 'u1', 'c-old', 'text', 'before the upgrade', NULL, '{"video":"v.mp4","at":1.5}', 2000);`);
    } finally {
      await c.end();
    }
    const s = new PostgresStore({ url: schema.url, poolSize: 2 });
    await s.init();
    try {
      const [old] = await s.messagesAfter('c1', 0, 10);
      expect(old).toMatchObject({
        id: 'm-old',
        seq: 1,
        text: 'before the upgrade',
        source: { video: 'v.mp4', at: 1.5 },
        senderName: 'alice',
        replyTo: null,
        reactions: [],
        editedAt: null,
        deletedAt: null,
        rev: 0,
        createdAt: 2000,
      });
      expect((await s.getConversation('c1'))!.lastRev).toBe(0);
      const [r] = await s.appendMessages([next('c1')]);
      expect(r!.message).toMatchObject({ seq: 2, replyTo: 'm-old', rev: 0 });
      expect((await s.getMessage('m-new'))!.replyTo).toBe('m-old');
    } finally {
      await s.close();
    }
  });
});
