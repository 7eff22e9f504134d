/**
 * Web app benchmark (`npm run bench:web`): the built app against a real server in
 * headless Chromium. Prints, as a table and one JSON line:
 * - double-click → still preview on screen (ms, median of several),
 * - a 3 s range at 12 fps and 320 px → sticker preview on screen (ms, median),
 * - the JavaScript the first page load fetches (bytes, raw and gzip).
 *
 * usage: npm run bench:web -- [--runs 7] [--video path.mp4]
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { gzipSync } from 'node:zlib';
import { buildWeb, launchChromium, openVideo, signUp, TestServer } from '../apps/web/test/harness';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

const RUNS = Number(arg('runs', '7'));
const BBB = new URL('../../shared/media/big-buck-bunny-480p-30s.mp4', import.meta.url).pathname;
const VIDEO = arg(
  'video',
  existsSync(BBB) ? BBB : new URL('../.fixtures/h264-bframes-29.97.mp4', import.meta.url).pathname,
);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

buildWeb();
const server = new TestServer();
await server.start();
const browser = await launchChromium();
try {
  // First load: every script the page fetches before a video is opened.
  const probe = await browser.newContext();
  const probePage = await probe.newPage();
  const scripts = new Map<string, Buffer>();
  probePage.on('response', async (r) => {
    if (r.request().resourceType() === 'script')
      scripts.set(r.url(), await r.body().catch(() => Buffer.alloc(0)));
  });
  await probePage.goto(server.url, { waitUntil: 'networkidle' });
  const firstLoadJs = [...scripts.values()].reduce((a, b) => a + b.length, 0);
  const firstLoadGzip = [...scripts.values()].reduce((a, b) => a + gzipSync(b).length, 0);
  await probe.close();

  const me = await signUp(browser, server.url, 'bench');
  const { page } = me;
  // tsx keeps function names with a `__name` helper that does not exist inside the page.
  await page.addInitScript('window.__name = (f) => f');
  await page.evaluate('window.__name = (f) => f');
  // 12 fps and 320 px are the sticker settings measured; GIF, default budget.
  await page.evaluate(async () => {
    const csrf = /clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '';
    const r = await fetch('/api/settings/capture', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) },
      body: JSON.stringify({ fps: 12, maxSide: 320, stickerFormat: 'gif', stillFormat: 'png' }),
    });
    if (!r.ok) throw new Error(await r.text());
  });
  await page.reload();
  await page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
  await openVideo(me, VIDEO);
  const duration = await page.evaluate(
    () => document.querySelector<HTMLVideoElement>('video.player-video')!.duration,
  );

  /** Runs `act` in the page and resolves with ms until a new preview is on screen (its image decoded). */
  const timed = (kind: 'still' | 'sticker', t: number) =>
    page.evaluate(
      async ({ kind, t }) => {
        const v = document.querySelector<HTMLVideoElement>('video.player-video')!;
        const seekTo = (x: number) =>
          new Promise<void>((r) => {
            v.addEventListener('seeked', () => r(), { once: true });
            const s = document.querySelector<HTMLInputElement>('input.seek')!;
            s.value = String(x);
            s.dispatchEvent(new Event('input', { bubbles: true }));
          });
        const key = (k: string) =>
          window.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
        const discard = [...document.querySelectorAll('button')].find(
          (b) => b.textContent === 'Discard',
        );
        discard?.click();
        await new Promise((r) => setTimeout(r, 50));
        await seekTo(t);
        let t0: number;
        if (kind === 'still') {
          t0 = performance.now();
          document
            .querySelector('.stage')!
            .dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
        } else {
          key('i');
          await new Promise((r) => setTimeout(r, 30));
          const fd = 1 / 30;
          await seekTo(t + 3 - fd);
          key('o');
          await new Promise((r) => setTimeout(r, 30));
          t0 = performance.now();
          key('Enter');
        }
        for (;;) {
          const img = document.querySelector<HTMLImageElement>(
            `[data-testid=preview][data-kind=${kind}] img`,
          );
          if (img && img.complete && img.naturalWidth) return performance.now() - t0;
          await new Promise((r) => requestAnimationFrame(r));
        }
      },
      { kind, t },
    );

  const stills: number[] = [];
  for (let i = 0; i < RUNS; i++)
    stills.push(await timed('still', ((i + 1) * duration) / (RUNS + 2)));
  await page.getByRole('button', { name: 'Sticker', exact: true }).click();
  const stickers: number[] = [];
  for (let i = 0; i < RUNS; i++)
    stickers.push(
      await timed('sticker', Math.min(duration - 4, ((i + 1) * (duration - 4)) / (RUNS + 1))),
    );
  const facts = await page.getByTestId('preview').evaluate((el) => ({
    frames: Number(el.dataset.frames),
    bytes: Number(el.dataset.bytes),
    decodeMs: Number(el.dataset.decodeMs),
    encodeMs: Number(el.dataset.encodeMs),
  }));

  const rows: Array<[string, string, string]> = [
    ['double-click → still preview', `${median(stills).toFixed(0)} ms`, '≤ 150 ms'],
    ['3 s · 12 fps · 320 px → sticker preview', `${median(stickers).toFixed(0)} ms`, '≤ 1500 ms'],
    [
      'first-load JavaScript',
      `${(firstLoadJs / 1024).toFixed(1)} KiB (${(firstLoadGzip / 1024).toFixed(1)} KiB gzip)`,
      'lean',
    ],
  ];
  console.log(
    `\nClipchat web — ${VIDEO.split('/').at(-1)}, ${RUNS} runs each, headless Chromium; ${cpus().length} cores, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}\n`,
  );
  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
  for (const r of rows)
    console.log(`${r[0].padEnd(w[0]!)}  ${r[1].padStart(w[1]!)}   target ${r[2]}`);
  console.log(
    `(last sticker: ${facts.frames} frames, ${facts.bytes} bytes, decode ${facts.decodeMs} ms + encode ${facts.encodeMs} ms; stills ms: ${stills.map((x) => x.toFixed(0)).join(' ')}; stickers ms: ${stickers.map((x) => x.toFixed(0)).join(' ')})`,
  );
  console.log(
    JSON.stringify({
      bench: 'web',
      video: VIDEO.split('/').at(-1),
      runs: RUNS,
      stillPreviewMs: median(stills),
      stickerPreviewMs: median(stickers),
      firstLoadJsBytes: firstLoadJs,
      firstLoadJsGzipBytes: firstLoadGzip,
      load1m: loadavg()[0],
    }),
  );
} finally {
  await browser.close();
  await server.dispose();
}
