/**
 * Clipchat in real Chromium: alice and bob, each in their own browser context, against a
 * real server. Frame-numbered fixture videos let the tests read back exactly which frame
 * a still or sticker holds.
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
  imagePixels,
  lastMediaPixels,
  openFirstConversation,
  openVideo,
  seek,
  startApp,
  stopApp,
  type TestServer,
  type Person,
} from './harness';

let server: TestServer;
let browser: Browser;
let fixtures: Awaited<ReturnType<typeof ensureFixtures>>;
let alice: Person;
let bob: Person;

const H264_FPS = FIXTURE_FACTS.h264!.fps!;
/** Middle of frame k of the H.264 fixture, in player seconds. */
const midFrame = (k: number) => (k + 0.5) / H264_FPS;

beforeAll(async () => {
  fixtures = await ensureFixtures();
  ({ server, browser, a: alice, b: bob } = await startApp('alice', 'bob'));
}, 120_000);

afterAll(async () => {
  if (process.env.CLIPCHAT_E2E_SHOTS) {
    await alice?.page.screenshot({ path: '/tmp/e2e-alice.png' }).catch(() => {});
    await bob?.page.screenshot({ path: '/tmp/e2e-bob.png' }).catch(() => {});
  }
  await stopApp({ server, browser });
});

describe('capture beside a conversation', () => {
  it('sends frame-exact stills that bob decodes to the expected frame numbers', async () => {
    await openFirstConversation(bob);
    await openVideo(alice, fixtures.h264);
    for (const k of [5, 47, 101]) {
      await seek(alice, midFrame(k));
      await alice.page.locator('.stage').dblclick();
      const preview = alice.page.getByTestId('preview');
      await preview.waitFor();
      await preview.getByRole('button', { name: 'Send' }).click();
      await preview.waitFor({ state: 'detached' });
      await expect
        .poll(
          () =>
            bob.page
              .locator('[data-testid=messages] [data-kind=still][data-state=sent] img')
              .count(),
          { timeout: 10_000 },
        )
        .toBe([5, 47, 101].indexOf(k) + 1);
      await bob.page
        .locator('[data-testid=messages] [data-kind=still] img')
        .last()
        .evaluate((img: HTMLImageElement) => img.decode());
      const px = await lastMediaPixels(bob.page);
      expect(readFrameNumber(px.data, px.width, px.height)).toBe(k);
    }
    // While playing, the frame is decoded from the file at the presented frame's time.
    await seek(alice, 1);
    await alice.page.getByRole('button', { name: 'Play' }).click();
    await alice.page.waitForTimeout(400);
    await alice.page.locator('.stage').dblclick();
    const playing = alice.page.getByTestId('preview');
    await playing.waitFor();
    await alice.page.getByRole('button', { name: 'Pause' }).click();
    expect(await playing.getAttribute('data-via')).toBe('decoder');
    const shown = await imagePixels(alice.page, '[data-testid=preview] img');
    expect(readFrameNumber(shown.data, shown.width, shown.height)).toBe(
      Math.round(Number(await playing.getAttribute('data-frame-time')) * H264_FPS),
    );
    await playing.getByRole('button', { name: 'Discard' }).click();

    // The origin of the capture is shown with it.
    await expect
      .poll(() => bob.page.locator('.origin').last().textContent())
      .toContain('h264-bframes-29.97.mp4');
  });

  it('makes a sticker under budget, keeps it in the library across a reload, sends it; bob saves it without re-uploading', async () => {
    const { page } = alice;
    await page.getByRole('button', { name: 'Sticker', exact: true }).click();
    await seek(alice, midFrame(10));
    await page.locator('.stage').dblclick();
    await seek(alice, midFrame(40));
    await page.locator('.stage').dblclick();
    await page.getByTestId('range').waitFor();
    // 31 video frames (10…40) at 12 fps.
    const expected = Math.ceil((31 / H264_FPS) * 12);
    await blur(page);
    await page.keyboard.press('Enter');
    const preview = page.getByTestId('preview');
    await preview.waitFor({ timeout: 20_000 });
    expect(await preview.getAttribute('data-kind')).toBe('sticker');
    expect(Number(await preview.getAttribute('data-frames'))).toBe(expected);
    expect(Number(await preview.getAttribute('data-bytes'))).toBeLessThanOrEqual(1_048_576);
    const first = await imagePixels(page, '[data-testid=preview] img');
    expect(readFrameNumber(first.data, first.width, first.height)).toBe(10);
    await preview.getByPlaceholder('Tags for your library (optional)').fill('numbers test');
    await preview.getByRole('button', { name: 'Save to library' }).click();
    await preview.getByText('Saved to your stickers.').waitFor();

    await page.reload();
    await openFirstConversation(alice);
    await page.getByRole('button', { name: 'Sticker library' }).click();
    await page.getByLabel('Search stickers by tag').fill('numbers');
    const tile = page.getByTestId('library-item');
    await expect.poll(() => tile.count()).toBe(1);
    await tile.locator('.tile-send').click();

    const bobSticker = bob.page.locator(
      '[data-testid=messages] [data-kind=sticker] [data-testid=media]',
    );
    await expect.poll(() => bobSticker.count(), { timeout: 10_000 }).toBe(1);
    expect(Number(await bobSticker.getAttribute('data-frames'))).toBe(expected);
    expect(await bobSticker.getAttribute('data-mime')).toBe('image/gif');

    // Bob keeps it: the server already has the bytes, so nothing is uploaded again.
    const uploads: string[] = [];
    bob.page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/api/media')) uploads.push(r.url());
    });
    await bob.page
      .locator('[data-kind=sticker]')
      .last()
      .getByRole('button', { name: 'Save to my stickers' })
      .click();
    await bob.page.getByRole('button', { name: 'Saved ✓' }).waitFor();
    await bob.page.getByRole('button', { name: 'Sticker library' }).click();
    await expect.poll(() => bob.page.getByTestId('library-item').count()).toBe(1);
    expect(uploads).toEqual([]);
  });

  it('works from the keyboard alone: frame step, S, I, O, Enter', async () => {
    const { page } = alice;
    await openVideo(alice, fixtures.h264);
    expect(await page.locator('section.player').getAttribute('data-engine')).toBe('worker');
    await blur(page);
    for (let i = 0; i < 3; i++) await page.keyboard.press('.');
    await page.keyboard.press('s');
    const preview = page.getByTestId('preview');
    await preview.and(page.locator('[data-kind=still]')).waitFor();
    const still = await imagePixels(page, '[data-testid=preview] img');
    expect(readFrameNumber(still.data, still.width, still.height)).toBe(3);

    await page.keyboard.press('i');
    for (let i = 0; i < 12; i++) await page.keyboard.press('.');
    await page.keyboard.press('o');
    await page.getByTestId('range').waitFor();
    await page.keyboard.press('Enter');
    await preview.and(page.locator('[data-kind=sticker]')).waitFor({ timeout: 20_000 });
    // Frames 3…15 (13 video frames) at 12 fps.
    expect(Number(await preview.getAttribute('data-frames'))).toBe(Math.ceil((13 / H264_FPS) * 12));
    const first = await imagePixels(page, '[data-testid=preview] img');
    expect(readFrameNumber(first.data, first.width, first.height)).toBe(3);
  });

  it('captures on the main thread when the worker cannot start', async () => {
    const { page } = bob;
    await page.route('**/capture.worker*', (route) => route.fulfill({ status: 404, body: 'gone' }));
    await openVideo(bob, fixtures.vp9);
    expect(await page.getByTestId('capture-error').count()).toBe(0);
    expect(await page.locator('section.player').getAttribute('data-engine')).toBe('main');
    await seek(bob, 7.5 / 25);
    await blur(page);
    await page.keyboard.press('s');
    await page.getByTestId('preview').waitFor();
    const px = await imagePixels(page, '[data-testid=preview] img');
    expect(readFrameNumber(px.data, px.width, px.height)).toBe(7);
    await page.getByRole('button', { name: 'Discard' }).click();
    await page.unroute('**/capture.worker*');
  });

  it('keeps player time from the first frame: a 2 s container offset and rotation metadata', async () => {
    const { page } = bob;
    for (const [file, fps] of [
      [fixtures.offset, 30],
      [fixtures.rotated, 30],
    ] as const) {
      await openVideo(bob, file);
      await page.getByRole('button', { name: 'Still', exact: true }).click();
      await blur(page);
      for (const k of [0, 21]) {
        expect(await page.getByTestId('preview').count()).toBe(0);
        await seek(bob, (k + 0.5) / fps);
        await page.keyboard.press('s');
        await page.locator('[data-testid=preview][data-kind=still]').waitFor();
        const px = await imagePixels(page, '[data-testid=preview] img');
        expect(readFrameNumber(px.data, px.width, px.height)).toBe(k);
        await page.getByRole('button', { name: 'Discard' }).click();
      }
      // The sticker's frames are decoded from the file: its first frame must be the same one.
      await page.getByRole('button', { name: 'Sticker', exact: true }).click();
      await blur(page);
      await seek(bob, 5.5 / fps);
      await page.keyboard.press('i');
      await seek(bob, 14.5 / fps);
      await page.keyboard.press('o');
      await page.keyboard.press('Enter');
      await page.locator('[data-testid=preview][data-kind=sticker]').waitFor({ timeout: 20_000 });
      const first = await imagePixels(page, '[data-testid=preview] img');
      expect(readFrameNumber(first.data, first.width, first.height)).toBe(5);
      await page.getByRole('button', { name: 'Discard' }).click();
    }
  });
});
