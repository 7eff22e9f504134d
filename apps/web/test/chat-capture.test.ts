/**
 * Clipchat in real Chromium: alice and bob, each in their own browser context, against a
 * real server. Frame-numbered fixture videos let the tests read back exactly which frame
 * a still or sticker holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ensureFixtures, FIXTURE_FACTS, readFrameNumber } from '../../../packages/capture/test/helpers';
import { buildWeb, lastMediaPixels, launchChromium, openFirstConversation, openVideo, seek, signUp, startConversation, TestServer, type Person } from './harness';

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
  buildWeb();
  server = new TestServer();
  await server.start();
  browser = await launchChromium();
  alice = await signUp(browser, server.url, 'alice');
  bob = await signUp(browser, server.url, 'bob');
  await startConversation(alice, 'bob');
}, 120_000);

afterAll(async () => {
  if (process.env.CLIPCHAT_E2E_SHOTS) {
    await alice?.page.screenshot({ path: '/tmp/e2e-alice.png' }).catch(() => {});
    await bob?.page.screenshot({ path: '/tmp/e2e-bob.png' }).catch(() => {});
  }
  await browser?.close();
  await server?.dispose();
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
      await expect.poll(() => bob.page.locator('[data-testid=messages] [data-kind=still][data-state=sent] img').count(), { timeout: 10_000 })
        .toBe([5, 47, 101].indexOf(k) + 1);
      await bob.page.locator('[data-testid=messages] [data-kind=still] img').last().evaluate((img: HTMLImageElement) => img.decode());
      const px = await lastMediaPixels(bob.page);
      expect(readFrameNumber(px.data, px.width, px.height)).toBe(k);
    }
    // The origin of the capture is shown with it.
    await expect.poll(() => bob.page.locator('.origin').last().textContent()).toContain('h264-bframes-29.97.mp4');
  });
});
