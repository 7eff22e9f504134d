/**
 * Shared-video benchmark (`npm run bench:video`): a 1 GiB generated video (raw 1280×720
 * frames in Matroska, so making it costs no encoding) is uploaded with tus-js-client to a
 * server in its own process, checked (`POST /api/media {uploadId}`: hash, ffprobe, poster),
 * and its first frame decoded by ffmpeg reading `/media/<id>` over HTTP (range requests).
 * Medians of `--runs` (3). Then the server's RSS is sampled while 4 uploads and 4 playbacks
 * (each reading the whole video in 8 MiB ranges) run at once: streaming keeps it flat.
 *
 * usage: npm run bench:video -- [--runs 3] [--mib 1024] [--upload-mib 256]
 * env: CLIPCHAT_DATABASE_URL selects PostgreSQL for the server.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tus from 'tus-js-client';

const HERE = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const runs = Number(arg('runs', '3'));
const mib = Number(arg('mib', '1024'));
const uploadMib = Number(arg('upload-mib', '256'));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const started = performance.now();
const work = mkdtempSync(join(tmpdir(), 'clipchat-bench-video-'));
const FRAME = 1280 * 720 * 1.5;
/** A raw-video MKV of about `size` MiB; `seed` changes the picture so files differ. */
function makeVideo(path: string, size: number, seed: number): void {
  const frames = Math.ceil((size * 1024 * 1024) / FRAME);
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=1280x720:rate=30,hue=h=${seed * 40}`,
    '-frames:v',
    String(frames),
    '-c:v',
    'rawvideo',
    '-pix_fmt',
    'yuv420p',
    path,
  ]);
}

const big = join(work, 'big.mkv');
console.error(`making a ${mib} MiB video…`);
makeVideo(big, mib, 0);
const smalls = [1, 2, 3, 4].map((i) => {
  const p = join(work, `up${i}.mkv`);
  makeVideo(p, uploadMib, i);
  return p;
});

const data = join(work, 'data');
const child = spawn(
  process.execPath,
  ['--import', 'tsx', join(HERE, 'video-node.ts'), '--data', data],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
// The server goes with us, whatever happens.
process.on('exit', () => {
  child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
const url: string = await new Promise((resolve) => {
  createInterface({ input: child.stdout }).once('line', (l) =>
    resolve((JSON.parse(l) as { url: string }).url),
  );
});
const rss = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;

const reg = await fetch(`${url}/api/auth/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'bench', password: 'correct horse' }),
});
const token = ((await reg.json()) as { token: string }).token;
const auth = { authorization: `Bearer ${token}` };

function upload(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(createReadStream(path), {
      endpoint: `${url}/api/uploads`,
      headers: auth,
      chunkSize: 64 * 1024 * 1024,
      uploadSize: statSync(path).size,
      retryDelays: [],
      onError: reject,
      onSuccess: () => resolve(up.url!.split('/').pop()!),
    });
    up.start();
  });
}
async function finish(uploadId: string): Promise<string> {
  for (;;) {
    const r = await fetch(`${url}/api/media`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ uploadId }),
    });
    const b = (await r.json()) as { id: string; error?: { code: string; retryAfter?: number } };
    // Only so many checks run at once: wait as told, as a client does.
    if (r.status === 503 && b.error?.code === 'ERR_MEDIA_BUSY') {
      await new Promise((ok) => setTimeout(ok, (b.error!.retryAfter ?? 1) * 1000));
      continue;
    }
    if (r.status !== 201) throw new Error(`check refused: ${JSON.stringify(b)}`);
    return b.id;
  }
}
function firstFrame(id: string): number {
  const t = performance.now();
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-headers',
    `Authorization: Bearer ${token}\r\n`,
    '-i',
    `${url}/media/${id}`,
    '-frames:v',
    '1',
    '-f',
    'null',
    '-',
  ]);
  return performance.now() - t;
}
async function playback(id: string, size: number): Promise<void> {
  const step = 8 * 1024 * 1024;
  for (let start = 0; start < size; start += step) {
    const r = await fetch(`${url}/media/${id}`, {
      headers: { ...auth, range: `bytes=${start}-${Math.min(size, start + step) - 1}` },
    });
    await r.arrayBuffer();
  }
}

const up: number[] = [];
const check: number[] = [];
const first: number[] = [];
let id = '';
for (let i = 0; i < runs; i++) {
  let t = performance.now();
  const uploadId = await upload(big);
  up.push(performance.now() - t);
  t = performance.now();
  id = await finish(uploadId);
  check.push(performance.now() - t);
  first.push(firstFrame(id));
  console.error(
    `run ${i + 1}: upload ${Math.round(up.at(-1)!)} ms, check ${Math.round(check.at(-1)!)} ms, first frame ${Math.round(first.at(-1)!)} ms`,
  );
}

const size = statSync(big).size;
const base = rss();
let peak = base;
const samples: number[] = [];
const timer = setInterval(() => {
  const v = rss();
  samples.push(v);
  peak = Math.max(peak, v);
}, 100);
const t0 = performance.now();
await Promise.all([
  ...smalls.map(async (p) => finish(await upload(p))),
  ...[0, 1, 2, 3].map(() => playback(id, size)),
]);
const mixedMs = performance.now() - t0;
clearInterval(timer);

const gib = size / 1024 ** 3;
const result = {
  backend: process.env.CLIPCHAT_DATABASE_URL ? 'postgres' : 'sqlite',
  videoBytes: size,
  runs,
  uploadMs: Math.round(median(up)),
  uploadMiBps: Math.round(size / 1024 / 1024 / (median(up) / 1000)),
  checkMs: Math.round(median(check)),
  firstFrameMs: Math.round(median(first)),
  totalS: Math.round((performance.now() - started) / 1000),
  mixed: {
    uploads: 4,
    uploadMiB: uploadMib,
    playbacks: 4,
    playbackGiB: +gib.toFixed(2),
    ms: Math.round(mixedMs),
    rssBeforeMiB: Math.round(base),
    rssPeakMiB: Math.round(peak),
    rssMedianMiB: Math.round(median(samples)),
  },
};
console.log(
  `| backend | video | upload (median of ${runs}) | check | first frame | RSS before → median → peak during 4 uploads + 4 playbacks | mixed load took |`,
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
console.log(
  `| ${result.backend} | ${gib.toFixed(2)} GiB | ${(result.uploadMs / 1000).toFixed(1)} s (${result.uploadMiBps} MiB/s) | ${(result.checkMs / 1000).toFixed(1)} s | ${result.firstFrameMs} ms | ` +
    `${result.mixed.rssBeforeMiB} → ${result.mixed.rssMedianMiB} → ${result.mixed.rssPeakMiB} MiB (${samples.length} samples) | ${(mixedMs / 1000).toFixed(1)} s (${4 * uploadMib} MiB in, ${(4 * gib).toFixed(1)} GiB out) |`,
);
console.log(`whole run ${result.totalS} s`);
console.log(JSON.stringify(result));
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(work, { recursive: true, force: true });
