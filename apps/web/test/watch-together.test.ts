/**
 * Watch together, in real Chromium: alice shares the video she is watching (a tus upload,
 * only on "Share this video"); bob opens it from the message, where it plays and captures
 * by range requests, and captures a still and a sticker frame-exactly (frame numbers read
 * back); clicking the sticker's caption takes alice to its moment with the range marked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  ensureFixtures,
  FIXTURE_FACTS,
  readFrameNumber,
} from '../../../packages/capture/test/helpers';
import {
  blur,
  engineReady,
  imagePixels,
  lastMediaPixels,
  openFirstConversation,
  openVideo,
  seek,
  startApp,
  stopApp,
  type Person,
  type TestServer,
} from './harness';

let server: TestServer;
let browser: Browser;
let fixtures: Awaited<ReturnType<typeof ensureFixtures>>;
let alice: Person;
let bob: Person;

const FPS = FIXTURE_FACTS.h264!.fps!;
const midFrame = (k: number) => (k + 0.5) / FPS;

beforeAll(async () => {
  fixtures = await ensureFixtures();
  ({ server, browser, a: alice, b: bob } = await startApp('alice', 'bob'));
}, 120_000);

afterAll(async () => {
  if (process.env.CLIPCHAT_E2E_SHOTS) {
    await alice?.page.screenshot({ path: '/tmp/e2e-share-alice.png' }).catch(() => {});
    await bob?.page.screenshot({ path: '/tmp/e2e-share-bob.png' }).catch(() => {});
  }
  await stopApp({ server, browser });
});

describe('watch together', () => {
  it('shares a video only when asked; bob plays it by range and captures frame-exactly; a caption leads back', async () => {
    await openFirstConversation(bob);
    const uploads: string[] = [];
    alice.page.on('request', (r) => {
      if (r.url().includes('/api/uploads')) uploads.push(r.method());
    });
    await openVideo(alice, fixtures.h264);
    // Opening plays it locally: nothing goes to the server until the button is pressed.
    await alice.page.waitForTimeout(300);
    expect(uploads).toEqual([]);
    await alice.page.getByRole('button', { name: 'Share this video' }).click();
    await alice.page.locator('[data-testid=share][data-phase=done]').waitFor({ timeout: 30_000 });
    expect(uploads).toContain('POST');
    expect(uploads).toContain('PATCH');

    // Bob's message: the server's poster and the duration.
    const card = bob.page.getByTestId('shared-video');
    await card.waitFor({ timeout: 15_000 });
    const duration = Number(await card.getAttribute('data-duration'));
    expect(duration).toBeGreaterThan(1);
    await expect
      .poll(() =>
        card.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth),
      )
      .toBeGreaterThan(0);
    expect(await card.getByTestId('video-duration').textContent()).toMatch(/^0:0\d/);

    // Bob opens it: the player and the engine read /media/<id> with Range requests.
    const ranges: string[] = [];
    bob.context.on('request', (r) => {
      if (r.url().includes('/media/') && r.headers().range) ranges.push(r.headers().range!);
    });
    await card.click();
    await bob.page.getByTestId('shared-note').waitFor();
    await bob.page.locator('.stage-note').waitFor({ state: 'detached', timeout: 20_000 });
    await bob.page.waitForFunction(
      () => (document.querySelector<HTMLVideoElement>('video.player-video')?.readyState ?? 0) >= 2,
    );
    await engineReady(bob);

    // A still, frame-exact; its source names the shared video.
    await seek(bob, midFrame(47));
    await bob.page.locator('.stage').dblclick();
    const preview = bob.page.getByTestId('preview');
    await preview.waitFor({ timeout: 20_000 });
    const shown = await imagePixels(bob.page, '[data-testid=preview] img');
    expect(readFrameNumber(shown.data, shown.width, shown.height)).toBe(47);
    await preview.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(
        () =>
          alice.page
            .locator('[data-testid=messages] [data-kind=still][data-state=sent] img')
            .count(),
        { timeout: 15_000 },
      )
      .toBe(1);
    await alice.page
      .locator('[data-testid=messages] [data-kind=still] img')
      .last()
      .evaluate((img: HTMLImageElement) => img.decode());
    const still = await lastMediaPixels(alice.page);
    expect(readFrameNumber(still.data, still.width, still.height)).toBe(47);

    // A sticker of frames 10…40, frame-exact at its first frame.
    await bob.page.getByRole('button', { name: 'Sticker', exact: true }).click();
    await seek(bob, midFrame(10));
    await bob.page.locator('.stage').dblclick();
    await seek(bob, midFrame(40));
    await bob.page.locator('.stage').dblclick();
    await bob.page.getByTestId('range').waitFor();
    await blur(bob.page);
    await bob.page.keyboard.press('Enter');
    const sticker = bob.page.getByTestId('preview');
    await sticker.and(bob.page.locator('[data-kind=sticker]')).waitFor({ timeout: 30_000 });
    const first = await imagePixels(bob.page, '[data-testid=preview] img');
    expect(readFrameNumber(first.data, first.width, first.height)).toBe(10);
    await sticker.getByRole('button', { name: 'Send' }).click();
    const aliceSticker = alice.page.locator(
      '[data-testid=messages] [data-kind=sticker][data-state=sent]',
    );
    await expect.poll(() => aliceSticker.count(), { timeout: 15_000 }).toBe(1);
    expect(ranges.length).toBeGreaterThan(0);

    // Alice clicks the sticker's caption: the shared video opens in her player at its start, the range marked.
    await aliceSticker.getByTestId('origin').click();
    await alice.page.getByTestId('shared-note').waitFor({ timeout: 20_000 });
    await alice.page.getByTestId('range').waitFor({ timeout: 20_000 });
    await expect
      .poll(
        () =>
          alice.page.evaluate(
            () => document.querySelector<HTMLVideoElement>('video.player-video')!.currentTime,
          ),
        { timeout: 15_000 },
      )
      .toBeGreaterThanOrEqual(10 / FPS);
    const t = await alice.page.evaluate(
      () => document.querySelector<HTMLVideoElement>('video.player-video')!.currentTime,
    );
    expect(Math.floor(t * FPS + 1e-6)).toBe(10);
    // And a still taken right there is that frame.
    await alice.page.getByRole('button', { name: 'Still', exact: true }).click();
    await alice.page.locator('.stage').dblclick();
    await alice.page
      .getByTestId('preview')
      .and(alice.page.locator('[data-kind=still]'))
      .waitFor({ timeout: 20_000 });
    const back = await imagePixels(alice.page, '[data-testid=preview] img');
    expect(readFrameNumber(back.data, back.width, back.height)).toBe(10);
  }, 180_000);
});
