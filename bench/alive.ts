/**
 * "A conversation that feels alive", measured (`npx tsx bench/alive.ts`):
 *
 * 1. Latency from one person's action to the other's socket, median and p90 of several:
 *    typing, read receipt and presence, on one SQLite node and across two nodes sharing
 *    PostgreSQL and Redis (the two people on different nodes).
 * 2. Search time over 1 000 000 stored messages on SQLite (FTS5) and PostgreSQL (GIN over
 *    a tsvector), median of several runs of each query, for a user in 10 of 1000
 *    conversations and over all of them.
 *
 * usage: npx tsx bench/alive.ts [--rounds 15] [--messages 1000000] [--only latency|search] [--stores sqlite,postgres]
 * Needs PostgreSQL (CLIPCHAT_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test)
 * and Redis (CLIPCHAT_TEST_REDIS_URL, default redis://127.0.0.1:6379).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { PostgresStore } from '../packages/server/src/store/postgres';
import { SqliteStore } from '../packages/server/src/store/sqlite';
import type { Store } from '../packages/server/src/store/types';
import { searchWords } from '../packages/server/src/im/search';
import { table, fixed } from './lib/table';
import { median, p90, schema, startNodes } from './lib/nodes';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const ROUNDS = Number(arg('rounds', '15'));
const MESSAGES = Number(arg('messages', '1000000'));
const ONLY = arg('only', '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------- latency

interface Sock {
  ws: WebSocket;
  wait(pred: (f: any) => boolean): Promise<number>;
}
function socket(url: string, token: string): Promise<Sock> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const waiters: { pred: (f: any) => boolean; done: (t: number) => void }[] = [];
  ws.on('message', (d) => {
    const t = performance.now();
    const f = JSON.parse(String(d));
    for (const w of waiters.splice(0)) {
      if (w.pred(f)) w.done(t);
      else waiters.push(w);
    }
  });
  const s: Sock = { ws, wait: (pred) => new Promise((done) => waiters.push({ pred, done })) };
  return new Promise((resolve, reject) => {
    void s.wait((f) => f.type === 'hello').then(() => resolve(s));
    ws.once('error', reject);
  });
}
async function post(url: string, path: string, token: string | null, body: unknown): Promise<any> {
  const r = await fetch(url + path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return r.json();
}
async function user(url: string): Promise<{ id: string; username: string; token: string }> {
  const b = await post(url, '/api/auth/register', null, {
    username: `u${randomBytes(5).toString('hex')}`,
    password: 'correct horse',
  });
  return { ...b.user, token: b.token };
}

/** Each round a fresh pair (so the typing throttle never applies): typing, receipt, presence, ms. */
async function latency(urlA: string, urlB: string): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = { typing: [], read: [], presence: [] };
  for (let i = 0; i < ROUNDS + 2; i++) {
    const [a, b] = await Promise.all([user(urlA), user(urlB)]);
    const cid = (await post(urlA, '/api/conversations', a.token, { members: [b.username] }))
      .id as string;
    const sb = await socket(urlB, b.token);
    // Presence: alice's first socket opens; timed from the upgrade request to bob's frame.
    const t0 = performance.now();
    const gotPresence = sb.wait((f) => f.type === 'presence' && f.online);
    const sa = await socket(urlA, a.token);
    const presence = (await gotPresence) - t0;
    const gotTyping = sb.wait((f) => f.type === 'typing');
    const t1 = performance.now();
    sa.ws.send(JSON.stringify({ type: 'typing', conversationId: cid }));
    const typing = (await gotTyping) - t1;
    sb.ws.send(
      JSON.stringify({
        type: 'send',
        conversationId: cid,
        clientId: 'x',
        kind: 'text',
        text: 'hi',
      }),
    );
    await sa.wait((f) => f.type === 'message');
    const gotRead = sb.wait((f) => f.type === 'read' && f.user);
    const t2 = performance.now();
    sa.ws.send(JSON.stringify({ type: 'read', conversationId: cid, seq: 1 }));
    const read = (await gotRead) - t2;
    if (i >= 2) {
      out.typing!.push(typing);
      out.read!.push(read);
      out.presence!.push(presence);
    } // 2 warm-up rounds
    sa.ws.close();
    sb.ws.close();
    await sleep(20);
  }
  return out;
}

async function latencyBench(): Promise<string[][]> {
  const rows: string[][] = [];
  for (const [setup, backend] of [
    ['SQLite, one node', 'sqlite'],
    ['PostgreSQL + Redis, two nodes', 'postgres'],
  ] as const) {
    const nodes = await startNodes(backend);
    try {
      const r = await latency(nodes.urls[0]!, nodes.urls.at(-1)!);
      for (const k of ['typing', 'read', 'presence'])
        rows.push([setup, k, fixed(median(r[k]!), 2), fixed(p90(r[k]!), 2), String(r[k]!.length)]);
    } finally {
      await nodes.close();
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------- search

const CONVS = 1000;
/** A vocabulary of pseudo-words; word k is drawn with weight 1/(k+1) (Zipf-like, as in prose). */
const VOCAB = Array.from({ length: 5000 }, (_, k) => `w${k.toString(36)}${'abcdefghij'[k % 10]}`);
const CUM = (() => {
  let s = 0;
  return VOCAB.map((_, k) => (s += 1 / (k + 1)));
})();
function word(rand: () => number): string {
  const x = rand() * CUM[CUM.length - 1]!;
  let lo = 0,
    hi = CUM.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (CUM[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return VOCAB[lo]!;
}
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

const QUERIES: [string, string][] = [
  ['common word (~8% of messages)', VOCAB[0]!],
  ['mid word (~0.2%)', VOCAB[40]!],
  ['rare word (~0.002%)', VOCAB[4000]!],
  ['two words', `${VOCAB[3]} ${VOCAB[25]}`],
  ['prefix of the last word', `${VOCAB[7]} ${VOCAB[120]!.slice(0, 3)}`],
  ['no match', 'zzzqqq'],
];

/** Users: `me` in 10 conversations, `all` in every one; 1000 conversations; MESSAGES messages spread evenly. */
async function seed(store: Store): Promise<{ me: string; all: string; conv0: string }> {
  const now = Date.now();
  const me = randomUUID(),
    all = randomUUID(),
    other = randomUUID();
  for (const [id, n] of [
    [me, 'me'],
    [all, 'all'],
    [other, 'other'],
  ] as const)
    await store.createUser({ id, username: n, passwordHash: 'x', createdAt: now });
  let conv0 = '';
  for (let c = 0; c < CONVS; c++) {
    const id = `c${c}`;
    if (!c) conv0 = id;
    await store.createConversation({
      id,
      kind: 'group',
      title: null,
      createdBy: all,
      createdAt: now,
      memberIds: c < 10 ? [all, other, me] : [all, other],
      directKey: null,
    });
  }
  return { me, all, conv0 };
}

async function searchSqlite(): Promise<{ rows: string[][]; fillS: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'clipchat-bench-search-'));
  const store = new SqliteStore({ dataDir: dir, synchronous: 'normal' });
  try {
    await store.init();
    const { me, all, conv0 } = await seed(store);
    const t0 = performance.now();
    const rand = rng(1);
    const db = store.db;
    const convN = new Map(
      (db.prepare('SELECT id, n FROM conversations').all() as { id: string; n: number }[]).map(
        (r) => [r.id, r.n],
      ),
    );
    const senderN = (
      db.prepare("SELECT n FROM users WHERE username = 'other'").get() as { n: number }
    ).n;
    const ins = db.prepare(
      `INSERT INTO messages (conv, seq, sender, client_id, id, kind, text, created_at) VALUES (?, ?, ?, ?, ?, 'text', ?, ?)`,
    );
    const perConv = Math.ceil(MESSAGES / CONVS);
    const fill = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const c = i % CONVS,
          seq = Math.floor(i / CONVS) + 1;
        const text = Array.from({ length: 8 }, () => word(rand)).join(' ');
        ins.run(
          convN.get(`c${c}`)!,
          seq,
          senderN,
          `b${i}`,
          randomUUID(),
          text,
          1_700_000_000_000 + i,
        );
      }
    });
    for (let i = 0; i < MESSAGES; i += 50_000) fill(i, Math.min(MESSAGES, i + 50_000));
    db.prepare('UPDATE conversations SET last_seq = ?').run(perConv);
    const fillS = (performance.now() - t0) / 1000;
    return { rows: await runQueries('SQLite FTS5', store, me, all, conv0), fillS };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function searchPostgres(): Promise<{ rows: string[][]; fillS: number }> {
  const sc = await schema();
  const store = new PostgresStore({ url: sc.url, poolSize: 4 });
  try {
    await store.init();
    const { me, all, conv0 } = await seed(store);
    const t0 = performance.now();
    const sender = (await store.findUserByName('other'))!.id;
    // The index is built after the rows are in (as a restore would), then analysed.
    await store.pool.query('DROP INDEX messages_search');
    const rand = rng(1);
    for (let i = 0; i < MESSAGES; i += 20_000) {
      const n = Math.min(MESSAGES, i + 20_000) - i;
      const texts = Array.from({ length: n }, () =>
        Array.from({ length: 8 }, () => word(rand)).join(' '),
      );
      await store.pool.query(
        `INSERT INTO messages (conversation_id, seq, id, sender_id, client_id, kind, text, created_at)
         SELECT 'c' || ((i - 1 + $1) % ${CONVS}), (i - 1 + $1) / ${CONVS} + 1, gen_random_uuid()::text, $2, 'b' || (i - 1 + $1), 'text', t, 1700000000000 + i - 1 + $1
         FROM unnest($3::text[]) WITH ORDINALITY AS x(t, i)`,
        [i, sender, texts],
      );
    }
    await store.pool.query(
      'CREATE INDEX messages_search ON messages USING gin (clipchat_search_doc(text, source))',
    );
    await store.pool.query('ANALYZE messages');
    await store.pool.query(`UPDATE conversations SET last_seq = ${Math.ceil(MESSAGES / CONVS)}`);
    const fillS = (performance.now() - t0) / 1000;
    return { rows: await runQueries('PostgreSQL GIN', store, me, all, conv0), fillS };
  } finally {
    await store.close();
    await sc.drop();
  }
}

/** Each query 7 times per user, interleaved; median ms and hit count. */
async function runQueries(
  name: string,
  store: Store,
  me: string,
  all: string,
  conv0: string,
): Promise<string[][]> {
  const cases: { label: string; who: string; q: string; conversationId?: string }[] = [];
  for (const [label, q] of QUERIES) {
    cases.push({ label: `${label}, member of 10 conversations`, who: me, q });
    cases.push({ label: `${label}, member of all 1000`, who: all, q });
  }
  cases.push({
    label: `${QUERIES[0]![0]}, one conversation`,
    who: all,
    q: QUERIES[0]![1],
    conversationId: conv0,
  });
  const times = cases.map(() => [] as number[]);
  const hits = cases.map(() => 0);
  /** Runs stopped by PostgreSQL's search statement timeout (the server answers those 503). */
  const timeouts = cases.map(() => 0);
  for (let r = 0; r < 7; r++) {
    for (const [i, c] of cases.entries()) {
      const t = performance.now();
      try {
        const found = await store.searchMessages(c.who, {
          words: searchWords(c.q),
          conversationId: c.conversationId,
          limit: 50,
        });
        hits[i] = found.length;
      } catch (err) {
        if ((err as { code?: string }).code !== '57014') throw err;
        timeouts[i]!++;
      }
      times[i]!.push(performance.now() - t);
    }
  }
  return cases.map((c, i) => [
    name,
    c.label,
    fixed(median(times[i]!), 2),
    timeouts[i] ? `${hits[i]}; ${timeouts[i]}/7 timed out (3 s)` : String(hits[i]),
  ]);
}

// ---------------------------------------------------------------------------- main

console.log(`clipchat alive bench: ${ROUNDS} latency rounds, ${MESSAGES} messages for search\n`);
if (ONLY !== 'search') {
  const rows = await latencyBench();
  console.log("Latency from one person's action to the other's socket (ms)\n");
  console.log(table(['setup', 'event', 'median', 'p90', 'n'], rows));
  console.log(JSON.stringify({ latency: rows }));
}
if (ONLY !== 'latency') {
  const stores = arg('stores', 'sqlite,postgres').split(',');
  const none = { rows: [] as string[][], fillS: NaN };
  const s = stores.includes('sqlite') ? await searchSqlite() : none;
  if (stores.includes('sqlite')) {
    console.log(`\nSQLite, filled in ${s.fillS.toFixed(0)} s\n`);
    console.log(table(['store', 'query', 'median ms', 'results'], s.rows));
  }
  const p = stores.includes('postgres') ? await searchPostgres() : none;
  console.log(
    `\nSearch over ${MESSAGES} messages (ms, median of 7; at most 50 results); filled in ${s.fillS.toFixed(0)} s (SQLite), ${p.fillS.toFixed(0)} s (PostgreSQL)\n`,
  );
  console.log(table(['store', 'query', 'median ms', 'results'], [...s.rows, ...p.rows]));
  console.log(JSON.stringify({ search: [...s.rows, ...p.rows] }));
}
process.exit(0);
