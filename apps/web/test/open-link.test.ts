/**
 * Opening a video from a link, in real Chromium. A second HTTP server on another port
 * (another origin) serves a frame-numbered fixture clip with range requests, once with
 * `Access-Control-Allow-Origin` and once without. With it the clip plays and captures
 * frame-exactly, read by the browser itself (the Clipchat server never sees the link);
 * without it the app says plainly why and offers the download.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import {
  ensureFixtures,
  FIXTURE_FACTS,
  readFrameNumber,
} from '../../../packages/capture/test/helpers';
import {
  engineReady,
  imagePixels,
  seek,
  startApp,
  stopApp,
  type Person,
  type TestServer,
} from './harness';

const FPS = FIXTURE_FACTS.h264!.fps!;
const midFrame = (k: number) => (k + 0.5) / FPS;

let server: TestServer;
let browser: Browser;
let alice: Person;
let bob: Person;
let site: Server;
let siteUrl = '';
/** Paths the other site was asked for, and the Clipchat server's URLs seen by Chromium. */
const siteHits: string[] = [];

/** Serves `clip` at /cors/clip.mp4 (with CORS) and /plain/clip.mp4 (without), honouring one byte range. */
function videoSite(clip: Buffer): Server {
  return createServer((req, res) => {
    siteHits.push(`${req.method} ${req.url}`);
    const cors = req.url?.startsWith('/cors/');
    if (!cors && !req.url?.startsWith('/plain/')) {
      res.writeHead(404).end();
      return;
    }
    if (cors) res.setHeader('access-control-allow-origin', '*');
    res.setHeader('accept-ranges', 'bytes');
    res.setHeader('content-type', 'video/mp4');
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] ? Math.min(Number(m[2]), clip.length - 1) : clip.length - 1;
    if (m)
      res.writeHead(206, {
        'content-range': `bytes ${start}-${end}/${clip.length}`,
        'content-length': String(end - start + 1),
      });
    else res.writeHead(200, { 'content-length': String(clip.length) });
    res.end(req.method === 'HEAD' ? undefined : clip.subarray(start, end + 1));
  });
}

beforeAll(async () => {
  const fixtures = await ensureFixtures();
  site = videoSite(readFileSync(fixtures.h264));
  site.listen(0, '127.0.0.1');
  await once(site, 'listening');
  siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  ({ server, browser, a: alice, b: bob } = await startApp('alice', 'bob'));
}, 120_000);

afterAll(async () => {
  await stopApp({ server, browser });
  site?.close();
});

async function paste(p: Person, url: string): Promise<void> {
  const box = p.page.getByLabel('Video link');
  await box.fill(url);
  await expect.poll(() => box.inputValue()).toBe(url);
  await p.page.getByRole('button', { name: 'Open link' }).click();
}

describe('open a video from a link', () => {
  it('plays and captures frame-exactly from a site that sends CORS headers', async () => {
    const link = `${siteUrl}/cors/clip.mp4`;
    const toClipchat: string[] = [];
    alice.page.on('request', (r) => {
      if (r.url().startsWith(server.url) && r.url().includes('clip.mp4')) toClipchat.push(r.url());
    });
    await paste(alice, link);
    await alice.page.locator('.stage-note').waitFor({ state: 'detached', timeout: 20_000 });
    await alice.page.waitForFunction((link) => {
      const v = document.querySelector<HTMLVideoElement>('video.player-video');
      return !!v && v.currentSrc === link && v.readyState >= 2;
    }, link);
    await engineReady(alice);
    expect(await alice.page.locator('.video-name').textContent()).toContain('clip.mp4');
    // The player's pixels are readable (CORS), so a canvas drawn from it is not tainted.
    expect(
      await alice.page.evaluate(() => {
        const v = document.querySelector<HTMLVideoElement>('video.player-video')!;
        const c = document.createElement('canvas');
        c.width = 4;
        c.height = 4;
        c.getContext('2d')!.drawImage(v, 0, 0, 4, 4);
        try {
          c.getContext('2d')!.getImageData(0, 0, 1, 1);
          return 'readable';
        } catch {
          return 'tainted';
        }
      }),
    ).toBe('readable');

    await seek(alice, midFrame(47));
    await alice.page.locator('.stage').dblclick();
    await alice.page.getByTestId('preview').waitFor({ timeout: 20_000 });
    const still = await imagePixels(alice.page, '[data-testid=preview] img');
    expect(readFrameNumber(still.data, still.width, still.height)).toBe(47);
    // The engine read it by ranges from the other site; the Clipchat server was never asked for it.
    expect(siteHits.filter((h) => h.startsWith('GET /cors/clip.mp4')).length).toBeGreaterThan(0);
    expect(toClipchat).toEqual([]);
    await alice.page.getByTestId('preview').getByRole('button', { name: 'Discard' }).click();
  }, 120_000);

  it('says plainly when the site sends no CORS headers, and offers the download', async () => {
    const link = `${siteUrl}/plain/clip.mp4`;
    await paste(bob, link);
    const error = bob.page.getByTestId('link-error');
    await error.waitFor({ timeout: 15_000 });
    expect(await error.textContent()).toContain('127.0.0.1');
    expect(await error.textContent()).toMatch(
      /does not let other sites read this video \(it sends no CORS headers\)/,
    );
    expect(await bob.page.getByTestId('link-download').getAttribute('href')).toBe(link);
    // Nothing opened in the player.
    expect(await bob.page.locator('video.player-video').count()).toBe(0);
    // Links that are not https (or this computer's http) are refused before any request.
    const before = siteHits.length;
    await paste(bob, 'ftp://example.com/clip.mp4');
    await expect.poll(() => error.textContent()).toMatch(/Only https:\/\/ links/);
    expect(siteHits.length).toBe(before);
  }, 60_000);
});
