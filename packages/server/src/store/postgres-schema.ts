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

  // Replies, reactions, edits and deletes (store/message.ts). Existing messages keep
  // everything and read as never changed (rev 0, no reactions); the new columns with
  // defaults cost no table rewrite. A change takes the next last_rev of its conversation;
  // messages_rev finds what changed since a client's rev, messages_id a message by its id
  // (the routes /api/messages/:id), messages_media whether media is still shown anywhere.
  //
  // Appending becomes one function over named rows: p_rows is a jsonb array of messages rows
  // (every column but seq, by name, as store/message.ts toRow makes them), so adding a column
  // needs no change here. Under the conversations' locks (taken in id order: two nodes never
  // deadlock) it numbers the rows in input order, bumps last_seq and inserts; when that meets
  // a stored clientId it is undone and done again with the lookup: the first copy of each new
  // clientId is numbered, repeats answer with the stored or first copy. Per input row: its
  // ordinal, its seq (null when its conversation does not exist), whether it was created, and
  // the ordinal of the batch's first copy when it repeats one (null when it repeats a stored
  // message).
  `ALTER TABLE messages ADD COLUMN reply_to text, ADD COLUMN reactions jsonb NOT NULL DEFAULT '[]',
     ADD COLUMN edited_at bigint, ADD COLUMN deleted_at bigint, ADD COLUMN rev bigint NOT NULL DEFAULT 0;
   ALTER TABLE conversations ADD COLUMN last_rev bigint NOT NULL DEFAULT 0;
   CREATE INDEX messages_id ON messages(id);
   CREATE INDEX messages_rev ON messages(conversation_id, rev) WHERE rev > 0;
   CREATE INDEX messages_media ON messages(media_id) WHERE media_id IS NOT NULL;
   CREATE INDEX stickers_media ON stickers(media_id);
   DROP FUNCTION clipchat_append(text[], text[], text[], text[], text[], text[], text[], text[], bigint[]);
   CREATE FUNCTION clipchat_append(p_rows jsonb)
     RETURNS TABLE (o_ord bigint, o_seq bigint, o_created boolean, o_first bigint) LANGUAGE plpgsql AS $fn$
   #variable_conflict use_column
   DECLARE
     v_seqs bigint[];
     v_inserted bigint;
   BEGIN
     PERFORM 1 FROM conversations
       WHERE id IN (SELECT DISTINCT e->>'conversation_id' FROM jsonb_array_elements(p_rows) e) ORDER BY id FOR UPDATE;
     -- Resends are rare: first insert as if every clientId were new. If one was stored (or
     -- repeats in the batch, or a conversation is missing), the block rolls back as a whole
     -- (seqs stay gapless) and the query after it looks clientIds up.
     BEGIN
       WITH v AS (
         SELECT o.i, o.j, o.j->>'conversation_id' AS c, (o.j->>'created_at')::bigint AS at
         FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS o(j, i)
       ), n AS (
         SELECT v.c, count(*) AS n, max(v.at) AS at FROM v GROUP BY v.c
       ), up AS (
         UPDATE conversations x SET last_seq = x.last_seq + n.n, active_at = GREATEST(x.active_at, n.at)
         FROM n WHERE x.id = n.c RETURNING x.id, x.last_seq - n.n AS base
       ), numbered AS (
         SELECT v.i, v.j, v.c, up.base + row_number() OVER (PARTITION BY v.c ORDER BY v.i) AS s FROM v JOIN up ON up.id = v.c
       ), ins AS (
         INSERT INTO messages SELECT * FROM jsonb_populate_recordset(NULL::messages,
           (SELECT jsonb_agg(nb.j || jsonb_build_object('seq', nb.s)) FROM numbered nb))
         ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING RETURNING 1
       ), posts AS (
         INSERT INTO media_posts (media_id, conversation_id)
           SELECT DISTINCT nb.j->>'media_id', nb.c FROM numbered nb WHERE nb.j->>'media_id' IS NOT NULL
         ON CONFLICT DO NOTHING RETURNING 1
       )
       SELECT (SELECT array_agg(nb.s ORDER BY nb.i) FROM numbered nb), (SELECT count(*) FROM ins) + (SELECT count(*) FROM posts) * 0
         INTO v_seqs, v_inserted;
       IF v_inserted <> jsonb_array_length(p_rows) OR coalesce(cardinality(v_seqs), 0) <> jsonb_array_length(p_rows) THEN
         RAISE EXCEPTION 'clipchat:resend' USING ERRCODE = 'CC001';
       END IF;
       RETURN QUERY SELECT k::bigint, v_seqs[k], true, NULL::bigint FROM generate_subscripts(v_seqs, 1) AS k;
       RETURN;
     EXCEPTION WHEN SQLSTATE 'CC001' THEN
       NULL;
     END;
     RETURN QUERY
     WITH v AS (
       SELECT o.i, o.j, o.j->>'conversation_id' AS c, o.j->>'sender_id' AS se, o.j->>'client_id' AS cl,
              (o.j->>'created_at')::bigint AS at
       FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS o(j, i)
     ), old AS (
       SELECT v.i, m.seq FROM v CROSS JOIN LATERAL (SELECT x.seq FROM messages x
         WHERE x.conversation_id = v.c AND x.sender_id = v.se AND x.client_id = v.cl) m
     ), firsts AS (
       SELECT DISTINCT ON (v.c, v.se, v.cl) v.* FROM v WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.i = v.i)
       ORDER BY v.c, v.se, v.cl, v.i
     ), n AS (
       SELECT f.c, count(*) AS n, max(f.at) AS at FROM firsts f GROUP BY f.c
     ), up AS (
       UPDATE conversations x SET last_seq = x.last_seq + n.n, active_at = GREATEST(x.active_at, n.at)
       FROM n WHERE x.id = n.c RETURNING x.id, x.last_seq - n.n AS base
     ), numbered AS (
       SELECT f.i, f.j, f.c, f.se, f.cl, up.base + row_number() OVER (PARTITION BY f.c ORDER BY f.i) AS s
       FROM firsts f JOIN up ON up.id = f.c
     ), ins AS (
       INSERT INTO messages SELECT * FROM jsonb_populate_recordset(NULL::messages,
         (SELECT jsonb_agg(nb.j || jsonb_build_object('seq', nb.s)) FROM numbered nb))
       RETURNING 1
     ), posts AS (
       INSERT INTO media_posts (media_id, conversation_id)
         SELECT DISTINCT nb.j->>'media_id', nb.c FROM numbered nb WHERE nb.j->>'media_id' IS NOT NULL
       ON CONFLICT DO NOTHING RETURNING 1
     )
     SELECT v.i, COALESCE(old.seq, nb.s), old.seq IS NULL AND nb.i = v.i,
            CASE WHEN old.seq IS NULL AND nb.i <> v.i THEN nb.i END
     FROM v LEFT JOIN old ON old.i = v.i LEFT JOIN numbered nb ON nb.c = v.c AND nb.se = v.se AND nb.cl = v.cl
     WHERE (SELECT count(*) FROM ins) >= 0 AND (SELECT count(*) FROM posts) >= 0
     ORDER BY v.i;
   END
   $fn$;`,

  // Presence: when each user was last connected.
  `ALTER TABLE users ADD COLUMN last_seen bigint;`,

  // Search: a GIN index over the tsvector of each message's text and source video name,
  // an expression index (no column: appending inserts whole rows, see clipchat_append), so
  // edits and deletes keep it true by themselves. Punctuation becomes spaces and common
  // Latin diacritics are folded (FOLD_FROM/FOLD_TO of im/search.ts), so words are cut as
  // SQLite's unicode61 tokenizer cuts them. Queries must call clipchat_search_doc the same way.
  `CREATE FUNCTION clipchat_search_doc(p_text text, p_source jsonb) RETURNS tsvector
     LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN to_tsvector('simple'::regconfig,
       translate(lower(regexp_replace(coalesce(p_text, '') || ' ' || coalesce(p_source->>'video', ''), '[^[:alnum:]]+', ' ', 'g')),
         'àáâãäåāèéêëēìíîïīòóôõöōùúûüūýÿçñ', 'aaaaaaaeeeeeiiiiioooooouuuuuyycn'));
   CREATE INDEX messages_search ON messages USING gin (clipchat_search_doc(text, source));`,

  // Shared videos: sizes past 2 GiB, what ffprobe found, the poster frame, and the bytes
  // in 1 MiB chunks (a range request reads only the chunks it covers; nothing is whole in
  // memory). Chunks are stored uncompressed: video does not compress.
  `ALTER TABLE media ALTER COLUMN bytes TYPE bigint;
   ALTER TABLE media ADD COLUMN duration double precision, ADD COLUMN codec text, ADD COLUMN poster text;
   CREATE INDEX media_poster ON media(poster) WHERE poster IS NOT NULL;
   CREATE INDEX media_uploaders_user ON media_uploaders(user_id);
   CREATE TABLE media_chunks (media_id text NOT NULL REFERENCES media(id) ON DELETE CASCADE, n integer NOT NULL,
     data bytea NOT NULL, PRIMARY KEY (media_id, n));
   ALTER TABLE media_chunks ALTER COLUMN data SET STORAGE EXTERNAL;`,

  // Delivery receipts: how far each member's devices hold the conversation. A read implies
  // delivery, so it starts at read_seq and never falls below it.
  `ALTER TABLE members ADD COLUMN delivered_seq bigint NOT NULL DEFAULT 0;
   UPDATE members SET delivered_seq = read_seq WHERE read_seq > 0;`,
];

/** Quotes an identifier for SQL (double quotes, doubled inside). */
function quoteIdent(name: string): string {
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
    const { rows: s } = await client.query<{ schema: string | null }>(
      'SELECT current_schema() AS schema',
    );
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
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `clipchat:migrate:${schema}`,
    ]);
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
      await client.query(
        `INSERT INTO ${quoteIdent(schema)}.clipchat_migrations (version, applied_at) VALUES ($1, $2)`,
        [v + 1, Date.now()],
      );
      applied.push(v + 1);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  return applied;
}
