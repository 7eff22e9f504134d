/**
 * Watch along, in real Chromium with two people: alice shares a frame-numbered video and
 * plays, pauses and seeks it; bob presses "Follow alice" and his player goes where hers
 * goes (the frame on his screen read back), until he seeks himself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  ensureFixtures,
  FIXTURE_FACTS,
  readFrameNumber,
} from '../../../packages/capture/test/helpers';
import {
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
let alice: Person;
let bob: Person;
let clip: string;

const FPS = FIXTURE_FACTS.h264!.fps!;
const midFrame = (k: number) => (k + 0.5) / FPS;

beforeAll(async () => {
  clip = (await ensureFixtures()).h264;
  ({ server, browser, a: alice, b: bob } = await startApp('alice', 'bob'));
}, 120_000);

afterAll(async () => {
  await stopApp({ server, browser });
});

/** The frame number drawn in the picture on `p`'s player now, and whether it plays. */
function shown(p: Person): Promise<{ frame: number; paused: boolean }> {
  return p.page
    .evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('video.player-video');
      if (!v || v.readyState < 2 || v.seeking) return { data: '', w: 0, h: 0, paused: true };
      const c = document.createElement('canvas');
      c.width = v.videoWidth;
      c.height = v.videoHeight;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(v, 0, 0);
      // The pixels as base64: a fraction of the size of a JSON array of numbers.
      const px = ctx.getImageData(0, 0, c.width, c.height).data;
      let bin = '';
      for (let i = 0; i < px.length; i += 0x8000)
        bin += String.fromCharCode(...px.subarray(i, i + 0x8000));
      return { data: btoa(bin), w: c.width, h: c.height, paused: v.paused };
    })
    .then((r) => ({
      frame: r.w ? readFrameNumber(Buffer.from(r.data, 'base64'), r.w, r.h) : -1,
      paused: r.paused,
    }));
}

describe('watch along', () => {
  it("bob follows alice's play, pause and seeks of a shared video until he seeks himself", async () => {
    await openVideo(alice, clip);
    await alice.page.getByRole('button', { name: 'Share this video' }).click();
    await alice.page.locator('[data-testid=share][data-phase=done]').waitFor({ timeout: 30_000 });
    // Alice watches the shared copy (her own message), as everyone in the conversation can.
    await alice.page.getByTestId('shared-video').click();
    await alice.page.getByTestId('shared-note').waitFor({ timeout: 20_000 });
    await alice.page.locator('.stage-note').waitFor({ state: 'detached', timeout: 20_000 });
    await openFirstConversation(bob);
    await bob.page.getByTestId('shared-video').waitFor({ timeout: 15_000 });
    // Nothing to follow before alice does something.
    expect(await bob.page.getByRole('button', { name: 'Follow alice' }).count()).toBe(0);

    await seek(alice, midFrame(47));
    const follow = bob.page.getByRole('button', { name: 'Follow alice' });
    await follow.waitFor({ timeout: 15_000 });
    await follow.click();
    await bob.page.getByTestId('following').filter({ hasText: 'Following alice' }).waitFor();
    // Bob's player opened the shared video, paused on alice's frame.
    await expect.poll(() => shown(bob), { timeout: 20_000 }).toEqual({ frame: 47, paused: true });

    // Alice seeks back: bob follows to that frame.
    await seek(alice, midFrame(5));
    await expect.poll(() => shown(bob), { timeout: 15_000 }).toEqual({ frame: 5, paused: true });

    // Alice plays (slowly, so the 4 s clip cannot end first): bob plays. Alice pauses: bob
    // pauses on the frame she paused on.
    await alice.page.evaluate(() => {
      document.querySelector<HTMLVideoElement>('video.player-video')!.playbackRate = 0.25;
    });
    await alice.page.getByRole('button', { name: 'Play' }).click();
    await expect.poll(async () => (await shown(bob)).paused, { timeout: 15_000 }).toBe(false);
    await alice.page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(async () => (await shown(alice)).paused, { timeout: 15_000 }).toBe(true);
    const hers = await expect
      .poll(async () => (await shown(alice)).frame, { timeout: 10_000 })
      .toBeGreaterThan(5)
      .then(() => shown(alice));
    await expect
      .poll(() => shown(bob), { timeout: 15_000 })
      .toEqual({ frame: hers.frame, paused: true });

    // Alice seeks: bob follows to that frame.
    await seek(alice, midFrame(hers.frame === 20 ? 21 : 20));
    await expect
      .poll(() => shown(bob), { timeout: 15_000 })
      .toEqual({ frame: hers.frame === 20 ? 21 : 20, paused: true });

    // Bob seeks himself: he stops following, and alice's next seek leaves him where he is.
    await seek(bob, midFrame(8));
    await bob.page.getByRole('button', { name: 'Follow alice' }).waitFor();
    expect(await bob.page.getByTestId('following').count()).toBe(0);
    await expect.poll(() => shown(bob), { timeout: 15_000 }).toEqual({ frame: 8, paused: true });
    // Bob's own seek leads now: alice is offered to follow him.
    await alice.page.getByRole('button', { name: 'Follow bob' }).waitFor({ timeout: 15_000 });
    await seek(alice, midFrame(30));
    await expect.poll(() => shown(alice), { timeout: 15_000 }).toEqual({ frame: 30, paused: true });
    // Alice's seek reached bob (his offer is refreshed by it) and moved nothing.
    await expect
      .poll(
        async () =>
          Math.floor(
            Number(
              await bob.page.getByRole('button', { name: 'Follow alice' }).getAttribute('data-at'),
            ) * FPS,
          ),
        { timeout: 15_000 },
      )
      .toBe(30);
    expect(await shown(bob)).toEqual({ frame: 8, paused: true });
  }, 240_000);
});
