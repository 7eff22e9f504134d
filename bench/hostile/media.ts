/**
 * Upload attacks of docs/benchmarks.md ("Hostile clients"; the same ones
 * packages/server/test/media-hostile.test.ts makes): decompression and scan bombs, animations that cost more to decode than their bytes,
 * frames outside their canvas, an 8K and a cut WebM, a PNG without IEND, held anonymous bodies,
 * and a decode whose client walks away.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import * as H from '../../packages/server/test/hostile-media';
import type { Attack, HostileServer, HostileUser } from './types';

const MiB = 1024 * 1024;
const EIGHT_MIB_SCANS = Math.floor((8 * MiB - 160_000) / 33);

interface Answer {
  status: number;
  code: string;
  ms: number;
}

async function upload(
  server: HostileServer,
  u: HostileUser,
  body: Buffer,
  signal?: AbortSignal,
): Promise<Answer> {
  const t = performance.now();
  const r = await fetch(`${server.url}/api/media`, {
    method: 'POST',
    body,
    signal,
    headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/octet-stream' },
  });
  const j = (await r.json().catch(() => null)) as { error?: { code?: string } } | null;
  return { status: r.status, code: j?.error?.code ?? '', ms: performance.now() - t };
}

/** Files under the data folder's media/ (the SQLite backend's content-addressed store). */
function mediaFiles(dataDir: string): number {
  const dir = join(dataDir, 'media');
  return existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length
    : 0;
}

const show = (a: Answer) => `${a.status} ${a.code || 'ok'} after ${(a.ms / 1000).toFixed(2)} s`;
const hasFfmpeg = () => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'ffmpeg not found';
  }
};

/** One upload refused by its headers: the answer, and whether anything reached the store. */
function refusal(
  name: string,
  make: () => Promise<Buffer> | Buffer,
  code: string,
  skip?: () => string | null,
): Attack {
  let body: Buffer = Buffer.alloc(0);
  return {
    name,
    skip,
    async prepare() {
      body = await make();
    },
    async run(server) {
      const u = await server.register();
      const before = mediaFiles(server.dataDir);
      const a = await upload(server, u, body);
      const stored = mediaFiles(server.dataDir) - before;
      return `${show(a)}, ${(body.length / 1024).toFixed(0)} KB, ${stored} files stored`;
    },
    ok: (o, m) => o.includes(` ${code} `) && o.endsWith(' 0 files stored') && m.cpuSeconds <= 2,
  };
}

/** `n` raw connections each declaring an 8 MiB upload, sending 8 MiB − 1 bytes and holding. */
async function heldBodies(
  server: HostileServer,
  n: number,
  auth: (i: number) => string,
  signal: AbortSignal,
): Promise<string[]> {
  const { hostname, port } = new URL(server.url);
  const chunk = Buffer.alloc(MiB, 0x5a);
  const stops: (() => void)[] = [];
  signal.addEventListener(
    'abort',
    () => {
      for (const stop of stops) stop();
    },
    { once: true },
  );
  return Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<string>((resolve) => {
          const sock = connect(Number(port), hostname);
          let head = '';
          let done = false;
          const finish = (s: string) => {
            if (!done) {
              done = true;
              sock.destroy();
              resolve(s);
            }
          };
          sock.on('data', (d) => {
            head += d.toString('latin1');
            const m = /^HTTP\/1\.1 (\d+)/.exec(head);
            if (m) setTimeout(() => finish(m[1]!), 200);
          });
          sock.on('close', () => finish(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 'closed'));
          sock.on('error', () => undefined);
          stops.push(() => finish('aborted'));
          setTimeout(() => finish(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 'no answer'), 20_000);
          sock.write(
            `POST /api/media HTTP/1.1\r\nhost: x\r\n${auth(i)}content-type: image/png\r\ncontent-length: ${8 * MiB}\r\n\r\n`,
          );
          for (let k = 0; k < 7; k++) sock.write(chunk);
          sock.write(chunk.subarray(0, MiB - 1));
        }),
    ),
  );
}

const tally = (xs: string[]) =>
  Object.entries(xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {}))
    .map(([k, v]) => `${v}× ${k}`)
    .join(', ');

/** Bodies built by `prepare`, before the clock runs. */
let bombs: Buffer[] = [];
let bombers: HostileUser[] = [];
let budgetWebp: Buffer = Buffer.alloc(0);

export const attacks: Attack[] = [
  refusal(
    'JPEG scan bomb 478 KB (10 000 scans, 4096²)',
    () => H.jpegScanBomb(),
    'ERR_MEDIA_LIMITS',
  ),
  {
    name: '4 × 8 MiB JPEG scan bombs at once',
    async prepare() {
      bombs = await Promise.all([0, 1, 2, 3].map(() => H.jpegScanBomb(EIGHT_MIB_SCANS)));
    },
    async setup(register) {
      bombers = await Promise.all(bombs.map(() => register()));
    },
    async run(server) {
      const users = bombers;
      // The server answers after the bomb's first 256 KiB and closes the connection: a client
      // still pushing the rest may see the close before the answer.
      const t = performance.now();
      const answers = await Promise.all(
        bombs.map((b, i) =>
          upload(server, users[i]!, b).catch(() => ({
            status: 0,
            code: 'closed',
            ms: performance.now() - t,
          })),
        ),
      );
      return (
        tally(answers.map((a) => (a.status ? `${a.status} ${a.code}` : 'closed'))) +
        ` in ≤ ${(Math.max(...answers.map((a) => a.ms)) / 1000).toFixed(2)} s`
      );
    },
    ok: (o, m) =>
      /^(\d× 422 ERR_MEDIA_LIMITS(, )?)?(\d× closed)? in/.test(o) &&
      m.cpuSeconds <= 2 &&
      m.victimP99Ms < 200 &&
      m.loginP99Ms < 200,
  },
  {
    name: '130 anonymous clients holding 8 MiB − 1 of 8 MiB',
    async run(server, signal) {
      const statuses = await heldBodies(
        server,
        130,
        (i) => (i % 3 ? '' : 'authorization: Bearer not-a-session\r\n'),
        signal,
      );
      return tally(statuses);
    },
    // Every client refused without its body being taken: a 401, or (past the per-address
    // connection cap of 64, which 130 clients from one address can reach) the connection
    // closed at once. The bound is memory.
    ok: (o, m) =>
      /^(\d+)× 401(, (\d+)× closed)?$/.test(o) &&
      o.split(', ').reduce((n, p) => n + Number(p.split('×')[0]), 0) === 130 &&
      m.rssGrowthMb <= 150,
  },
  refusal(
    'animated WebP 1000 × 384² (147 MP, 348 KB)',
    () => H.heavyWebp(384, 384, 1000),
    'ERR_MEDIA_LIMITS',
  ),
  refusal('GIF 1000 × 384² (147 MP, 581 KB)', () => H.heavyGif(384, 384, 1000), 'ERR_MEDIA_LIMITS'),
  {
    name: '3 animated WebPs at the 30 MP budget at once',
    async prepare() {
      budgetWebp = await H.heavyWebp(256, 256, 457);
    },
    async run(server) {
      const body = budgetWebp;
      const users = await Promise.all([0, 1, 2].map(() => server.register()));
      const answers = await Promise.all(users.map((u) => upload(server, u, body)));
      return (
        tally(answers.map((a) => `${a.status} ${a.code || 'stored'}`)) +
        ` in ≤ ${(Math.max(...answers.map((a) => a.ms)) / 1000).toFixed(1)} s`
      );
    },
    // Each decode is one niced thread killed at 5 s; two run at once.
    ok: (_o, m) => m.cpuSeconds <= 3 * 6 && m.rssGrowthMb <= 600 && m.victimP99Ms < 200,
  },
  refusal('8K WebM (7680×4320)', () => H.webm8k(), 'ERR_MEDIA_LIMITS', hasFfmpeg),
  refusal('GIF: 1×1 screen, 1000 frames of 8192×4882', () => H.wideGif(), 'ERR_MEDIA_LIMITS'),
  refusal(
    'truncated WebM (45 % of 30 frames)',
    () => H.webmAndTruncated().cut,
    'ERR_CORRUPT_MEDIA',
    hasFfmpeg,
  ),
  refusal('PNG without IEND', () => H.pngWithoutIend(), 'ERR_CORRUPT_MEDIA'),
  {
    name: 'client leaves mid-decode (30 MP WebP)',
    serveArgs: ['--decode-timeout-ms', '60000'],
    async run(server) {
      const body = await H.heavyWebp(256, 256, 457);
      const u = await server.register();
      const ac = new AbortController();
      const pending = upload(server, u, body, ac.signal).catch((e: Error) => e.name);
      await new Promise((r) => setTimeout(r, 700));
      ac.abort();
      await pending;
      await new Promise((r) => setTimeout(r, 300));
      const cpu = server.cpuSeconds();
      await new Promise((r) => setTimeout(r, 2000));
      return `${(server.cpuSeconds() - cpu).toFixed(2)} s CPU in the 2 s after the client left`;
    },
    ok: (o) => Number.parseFloat(o) < 0.3,
  },
];
