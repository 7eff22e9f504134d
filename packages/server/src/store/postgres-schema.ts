/**
 * The PostgreSQL schema of Clipchat and the migration runner. Migrations run at every
 * start, each once, in order, inside one transaction under an advisory lock keyed on the
 * schema: two nodes starting at the same moment take turns, and the second finds nothing
 * left to do. DDL is transactional in PostgreSQL, so a failed migration leaves nothing behind.
 */
import type { PoolClient } from 'pg';

/**
 * Each entry is applied once; its index + 1 is its version, recorded in
 * `clipchat_migrations`. Append only: never edit an entry that has shipped.
 *
 * Times are bigint milliseconds (as in the Store contract). Media bytes live in their own
 * table so listing metadata never drags megabytes through the buffer cache, and their
 * column skips TOAST compression (images and stickers are compressed already).
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     id text PRIMARY KEY, username text NOT NULL UNIQUE, password_hash text NOT NULL, created_at bigint NOT NULL);
   CREATE TABLE sessions (
     token_hash text PRIMARY KEY, user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     csrf_token text NOT NULL, created_at bigint NOT NULL, expires_at bigint NOT NULL);
   CREATE INDEX sessions_user ON sessions(user_id);
   CREATE TABLE conversations (
     id text PRIMARY KEY, kind text NOT NULL CHECK (kind IN ('direct', 'group')), title text,
     created_by text NOT NULL, created_at bigint NOT NULL,
     last_seq bigint NOT NULL DEFAULT 0, direct_key text UNIQUE, active_at bigint NOT NULL);
   CREATE TABLE members (
     conversation_id text NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
     user_id text NOT NULL REFERENCES users(id), read_seq bigint NOT NULL DEFAULT 0,
     PRIMARY KEY (conversation_id, user_id));
   CREATE INDEX members_user ON members(user_id);
   CREATE TABLE media (
     id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'), mime text NOT NULL, width integer NOT NULL,
     height integer NOT NULL, frames integer NOT NULL, bytes integer NOT NULL, created_at bigint NOT NULL);
   CREATE TABLE media_blobs (id text PRIMARY KEY REFERENCES media(id) ON DELETE CASCADE, data bytea NOT NULL);
   ALTER TABLE media_blobs ALTER COLUMN data SET STORAGE EXTERNAL;
   CREATE TABLE media_uploaders (
     media_id text NOT NULL REFERENCES media(id), user_id text NOT NULL, PRIMARY KEY (media_id, user_id));
   CREATE TABLE media_posts (
     media_id text NOT NULL REFERENCES media(id), conversation_id text NOT NULL REFERENCES conversations(id),
     PRIMARY KEY (media_id, conversation_id));
   -- No foreign keys on conversation_id/sender_id: appending locks and bumps the
   -- conversation row in the same transaction and the sender is the authenticated user;
   -- per-row RI triggers would cost a third of the insert time of a message.
   CREATE TABLE messages (
     conversation_id text NOT NULL, seq bigint NOT NULL, id text NOT NULL UNIQUE,
     sender_id text NOT NULL, client_id text NOT NULL, kind text NOT NULL,
     text text, media_id text REFERENCES media(id), source jsonb, created_at bigint NOT NULL,
     PRIMARY KEY (conversation_id, seq), UNIQUE (conversation_id, sender_id, client_id));
   CREATE TABLE stickers (
     id text PRIMARY KEY, ord bigserial NOT NULL, user_id text NOT NULL,
     media_id text NOT NULL REFERENCES media(id), name text NOT NULL, tags text[] NOT NULL, created_at bigint NOT NULL);
   CREATE INDEX stickers_user ON stickers(user_id, created_at DESC, ord DESC);
   CREATE TABLE capture_settings (user_id text PRIMARY KEY, settings jsonb NOT NULL, updated_at bigint NOT NULL);`,

  // Appending a batch in one round trip: lock the conversations in id order (two nodes
  // never deadlock), bump each last_seq by its count, number the messages in input order,
  // insert them. Raises 'clipchat:resend' when a clientId was already stored, so that the
  // caller rolls back (seqs stay gapless) and appends with a lookup instead. Returns the
  // seqs in input order. The batch must hold no (conversation, sender, clientId) twice.
  `CREATE FUNCTION clipchat_append(p_conv text[], p_id text[], p_sender text[], p_client text[], p_kind text[],
       p_text text[], p_media text[], p_source text[], p_at bigint[]) RETURNS bigint[] LANGUAGE plpgsql AS $fn$
   DECLARE
     inserted bigint;
     seqs bigint[];
   BEGIN
     PERFORM 1 FROM conversations WHERE id = ANY(p_conv) ORDER BY id FOR UPDATE;
     WITH v AS (
       SELECT * FROM unnest(p_conv, p_id, p_sender, p_client, p_kind, p_text, p_media, p_source, p_at)
         WITH ORDINALITY AS v(c, id, se, cl, k, t, md, src, at, i)
     ), n AS (
       SELECT c, count(*) AS n, max(at) AS at FROM v GROUP BY c
     ), up AS (
       UPDATE conversations x SET last_seq = x.last_seq + n.n, active_at = GREATEST(x.active_at, n.at)
       FROM n WHERE x.id = n.c RETURNING x.id, x.last_seq - n.n AS base
     ), numbered AS (
       SELECT v.*, up.base + row_number() OVER (PARTITION BY v.c ORDER BY v.i) AS seq FROM v JOIN up ON up.id = v.c
     ), ins AS (
       INSERT INTO messages (conversation_id, seq, id, sender_id, client_id, kind, text, media_id, source, created_at)
       SELECT c, seq, id, se, cl, k, t, md, src::jsonb, at FROM numbered
       ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING RETURNING 1
     ), posts AS (
       INSERT INTO media_posts (media_id, conversation_id) SELECT DISTINCT md, c FROM v WHERE md IS NOT NULL
       ON CONFLICT DO NOTHING RETURNING 1
     )
     SELECT (SELECT count(*) FROM ins), (SELECT array_agg(seq ORDER BY i) FROM numbered), (SELECT count(*) FROM posts) * 0
       INTO inserted, seqs;
     IF inserted <> cardinality(p_conv) THEN
       RAISE EXCEPTION 'clipchat:resend' USING ERRCODE = 'CC001';
     END IF;
     RETURN seqs;
   END
   $fn$;`,

  // Message ids are server-made UUIDs that nothing looks up; their unique index cost a
  // third of the index upkeep of every insert. (conversation_id, seq) stays the key.
  `ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_id_key;`,
];

/** Quotes an identifier for SQL (double quotes, doubled inside). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The schema new tables go into: the first entry of the connection's search_path
 * (set with `?options=-c search_path=NAME` in the URL), or `public`.
 */
async function targetSchema(client: PoolClient): Promise<string> {
  const { rows } = await client.query<{ search_path: string; user: string }>(
    `SELECT current_setting('search_path') AS search_path, current_user AS "user"`,
  );
  const first = rows[0]!.search_path.split(',')[0]?.trim() ?? '';
  const unquoted = first.startsWith('"') ? first.slice(1, -1).replace(/""/g, '"') : first;
  if (!unquoted) return 'public';
  if (unquoted === '$user') {
    const { rows: s } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
    return s[0]!.schema ?? 'public';
  }
  return unquoted;
}

/** Brings the schema up to date. Returns the versions applied by this call (empty when none). */
export async function migrate(client: PoolClient): Promise<number[]> {
  const schema = await targetSchema(client);
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    // Transaction-scoped: released by COMMIT/ROLLBACK, even if this process dies.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`clipchat:migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.clipchat_migrations (
      version integer PRIMARY KEY, applied_at bigint NOT NULL)`);
    const { rows } = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${quoteIdent(schema)}.clipchat_migrations`,
    );
    const current = rows[0]?.v ?? 0;
    for (let v = current; v < MIGRATIONS.length; v++) {
      await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
      await client.query(MIGRATIONS[v]!);
      await client.query(`INSERT INTO ${quoteIdent(schema)}.clipchat_migrations (version, applied_at) VALUES ($1, $2)`, [
        v + 1,
        Date.now(),
      ]);
      applied.push(v + 1);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  return applied;
}
