/**
 * Frame-exact gestures right after pausing, in real Chromium: ann plays each frame-numbered
 * clip, pauses at random moments and at once marks a sticker's start or end or steps a
 * frame; ben decodes what he received and the frame numbers must be the ones ann saw when
 * she paused — every try, every clip. Then the smaller promises of the capture view:
 * the live estimate, the clamped long range, "1 frame", scrolling to one's own capture,
 * Send in view, and a crop larger than the frame refused for stills too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  ensureFixtures,
  FIXTURE_FACTS,
  readFrameNumber,
  rng,
} from '../../../packages/capture/test/helpers';
import {
  blur,
  openFirstConversation,
  openVideo,
  seek,
  startApp,
  stopApp,
  type Person,
  type TestServer,
} from './harness';
import {
  captionTime,
  frameInPlayer,
  lastGifEnds,
  putSettings,
  recordPresented,
  seenAtPause,
  settledFrameOnScreen,
} from './frames';

let server: TestServer;
let browser: Browser;
let fixtures: Awaited<ReturnType<typeof ensureFixtures>>;
let ann: Person;
let ben: Person;

beforeAll(async () => {
  fixtures = await ensureFixtures();
  ({ server, browser, a: ann, b: ben } = await startApp('ann', 'ben'));
  // 50 fps GIFs sample more often than any fixture shows frames, so a sticker's last
  // sample always falls in the frame marked as its end; small frames keep tries quick.
  await putSettings(ann.page, { stickerFormat: 'gif', fps: 50, maxSide: 160 });
  await ann.page.reload();
  await openFirstConversation(ann);
  await openFirstConversation(ben);
}, 180_000);

afterAll(async () => {
  await stopApp({ server, browser });
});

const TRIES = Number(process.env.CLIPCHAT_EXACT_TRIES ?? 2);

describe('frame-exact after pausing', () => {
  it('sticker starts, ends, steps, stills and origins right after a pause name the frame on screen, on every clip', async () => {
    const { page } = ann;
    const clips = [
      {
        name: 'h264 29.97 fps B-frames',
        file: fixtures.h264,
        fps: FIXTURE_FACTS.h264!.fps!,
        t0: 0,
      },
      { name: 'vp9 25 fps', file: fixtures.vp9, fps: 25, t0: 0 },
      { name: 'h264 30 fps, 2 s offset', file: fixtures.offset, fps: 30, t0: 2 },
      { name: 'h264 24 fps B-frames', file: fixtures.h264film, fps: 24, t0: 0 },
    ];
    const table: Record<string, Record<string, { tries: number; exact: number }>> = {};
    const misses: string[] = [];
    // The screenshot of the player right after a frame step disagreed by one frame in about
    // 1 check of 100 (3 of 216 at 6 tries a clip) while the still made at that moment, its
    // label and its origin were exact every time. Looking closer (rVFC reports, the
    // element's own picture, screenshots taken later): the element had presented the right
    // frame and a later screenshot showed it; headless Chromium's screenshot lagged. So the
    // element's picture after each step is asserted (it is what a still taken then holds),
    // and the screenshot after a step is measured and printed, not asserted.
    const screenAfterStep = new Set(['first step after pause', 'two more steps']);
    const stepScreenMisses: string[] = [];
    const random = rng(20261207);
    let sendChecked = false;
    const note = (clip: string, gesture: string, want: number, got: number | null) => {
      const row = (table[clip] ??= {});
      const cell = (row[gesture] ??= { tries: 0, exact: 0 });
      cell.tries++;
      if (want === got) cell.exact++;
      else
        (screenAfterStep.has(gesture) ? stepScreenMisses : misses).push(
          `${clip}: ${gesture} wanted frame ${want}, got ${got ?? 'a picture that kept changing'}`,
        );
    };
    let stickers = 0,
      stills = 0;
    for (const clip of clips) {
      await openVideo(ann, clip.file);
      await recordPresented(page);
      const frameOf = (mediaTime: number) => Math.round((mediaTime - clip.t0) * clip.fps);
      const playFor = async (ms: number) => {
        await blur(page);
        await page.keyboard.press(' ');
        await page.waitForTimeout(ms);
      };
      for (let i = 0; i < TRIES; i++) {
        // A sticker: pause and mark the start at once (I, or a double-click), play on,
        // pause with the button and mark the end at once (O), make it, send it.
        await page.getByRole('button', { name: 'Sticker', exact: true }).click();
        await seek(ann, 0.05);
        await playFor(250 + random() * 500);
        await page.keyboard.press(' ');
        if (i % 2) await page.locator('.stage').dblclick();
        else await page.keyboard.press('i');
        const start = frameOf(await seenAtPause(page));
        await page.getByTestId('range').waitFor();
        note(
          clip.name,
          'screen after pause',
          start,
          await settledFrameOnScreen(page, clip.fps, clip.t0),
        );
        await playFor(250 + random() * 400);
        await page.getByRole('button', { name: 'Pause' }).click();
        await page.keyboard.press('o');
        const end = frameOf(await seenAtPause(page));
        note(
          clip.name,
          'screen after pause',
          end,
          await settledFrameOnScreen(page, clip.fps, clip.t0),
        );
        await blur(page);
        await page.keyboard.press('Enter');
        const preview = page.locator('[data-testid=preview][data-kind=sticker]');
        await preview.waitFor({ timeout: 30_000 });
        const send = preview.getByRole('button', { name: 'Send' });
        if (!sendChecked) {
          // At 1400×900 the preview's Send is on screen, not below the fold of the panel.
          expect(
            await send.evaluate((b) => {
              const r = b.getBoundingClientRect();
              return (
                document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === b &&
                r.bottom <= innerHeight
              );
            }),
          ).toBe(true);
          sendChecked = true;
        }
        await send.click();
        stickers++;
        await expect
          .poll(
            () =>
              ben.page
                .locator('[data-testid=messages] [data-kind=sticker][data-state=sent] img')
                .count(),
            { timeout: 15_000 },
          )
          .toBe(stickers);
        const got = await lastGifEnds(ben.page);
        note(clip.name, `sticker start (${i % 2 ? 'double-click' : 'I'})`, start, got.first);
        note(clip.name, 'sticker end (O)', end, got.last);

        // Steps: pause and step at once, step back twice, keep a still, send it.
        await page.getByRole('button', { name: 'Still', exact: true }).click();
        await seek(ann, 0.05);
        await playFor(250 + random() * 700);
        await page.keyboard.press(' ');
        const dir = i % 2 ? -1 : 1;
        await page.keyboard.press(dir === 1 ? '.' : ',');
        const paused = frameOf(await seenAtPause(page));
        const first = paused + dir;
        note(
          clip.name,
          'first step: player picture',
          first,
          await frameInPlayer(page, clip.fps, clip.t0),
        );
        note(
          clip.name,
          'first step after pause',
          first,
          await settledFrameOnScreen(page, clip.fps, clip.t0),
        );
        await page.keyboard.press(dir === 1 ? ',' : '.');
        await page.keyboard.press(dir === 1 ? ',' : '.');
        const back = first - 2 * dir;
        note(
          clip.name,
          'two more steps: player picture',
          back,
          await frameInPlayer(page, clip.fps, clip.t0),
        );
        note(
          clip.name,
          'two more steps',
          back,
          await settledFrameOnScreen(page, clip.fps, clip.t0),
        );
        // The player's time readout ("0:00.321 / 0:04") names the same frame.
        const readout = (await page.getByTestId('time').textContent()) ?? '';
        note(
          clip.name,
          'time readout',
          back,
          Math.floor(captionTime(readout.split(' / ')[0]!) * clip.fps + 1e-6),
        );
        await page.keyboard.press('s');
        const still = page.locator('[data-testid=preview][data-kind=still]');
        await still.waitFor();
        note(
          clip.name,
          '"Frame at" label',
          back,
          Math.floor(Number(await still.getAttribute('data-frame-time')) * clip.fps + 1e-6),
        );
        await still.getByRole('button', { name: 'Send' }).click();
        stills++;
        const received = ben.page.locator(
          '[data-testid=messages] [data-kind=still][data-state=sent]',
        );
        await expect.poll(() => received.locator('img').count(), { timeout: 15_000 }).toBe(stills);
        const px = await ben.page.evaluate(async () => {
          const img = [
            ...document.querySelectorAll<HTMLImageElement>(
              '[data-testid=messages] [data-kind=still] img',
            ),
          ].at(-1)!;
          const bmp = await createImageBitmap(await (await fetch(img.src)).blob());
          const c = new OffscreenCanvas(bmp.width, bmp.height);
          const ctx = c.getContext('2d')!;
          ctx.drawImage(bmp, 0, 0);
          return {
            width: c.width,
            height: c.height,
            data: Array.from(ctx.getImageData(0, 0, c.width, c.height).data),
          };
        });
        note(
          clip.name,
          'still after steps (received)',
          back,
          readFrameNumber(px.data, px.width, px.height),
        );
        note(
          clip.name,
          'origin time (received)',
          back,
          Math.floor(
            captionTime((await received.last().locator('.origin').textContent()) ?? '') * clip.fps +
              1e-6,
          ),
        );
      }
    }
    console.log(
      `exactness (tries / exact):\n${Object.entries(table)
        .map(
          ([c, row]) =>
            `${c}\n${Object.entries(row)
              .map(([g, v]) => `  ${g}: ${v.tries} / ${v.exact}`)
              .join('\n')}`,
        )
        .join('\n')}`,
    );
    if (stepScreenMisses.length)
      console.log(
        `screen after a step, off by a frame (measured, not asserted):\n  ${stepScreenMisses.join('\n  ')}`,
      );
    expect(misses).toEqual([]);

    // Her own captures came into view in her conversation, images loaded.
    await expect.poll(() => lastInView(ann), { timeout: 30_000 }).toBe('in view');
  }, 1_200_000);

  it("re-estimates after every change, keeps a long range's start, estimates one frame, refuses a crop larger than the frame", async () => {
    const { page } = ann;
    await openVideo(ann, fixtures.noiseLong);
    await page.getByRole('button', { name: 'Sticker', exact: true }).click();
    await blur(page);
    // I at 2 s, O at 9 s with at most 6 s allowed: the start stays, the end is clamped, and said.
    await seek(ann, 2.02);
    await page.keyboard.press('i');
    await seek(ann, 9.02);
    await page.keyboard.press('o');
    const range = page.getByTestId('range');
    await expect.poll(() => page.locator('.range-note').textContent()).toContain('ends at 0:08');
    expect((await range.textContent())!).toMatch(/^0:02(\.\d+)? – 0:08(\.\d+)? · 6\.00 s/);
    // The estimate arrives, and a crop makes it say "estimating…" until the new number.
    const estimate = page.getByTestId('estimate');
    await expect
      .poll(() => estimate.getAttribute('data-bytes'), { timeout: 30_000 })
      .not.toBeNull();
    const whole = Number(await estimate.getAttribute('data-bytes'));
    const box = (await page.locator('.stage').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2 - 60, box.y + box.height / 2 - 40);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 20, box.y + box.height / 2 + 20, { steps: 4 });
    await page.mouse.up();
    expect(await estimate.textContent()).toBe('estimating…');
    await expect
      .poll(() => estimate.getAttribute('data-bytes'), { timeout: 30_000 })
      .not.toBeNull();
    const cropped = Number(await estimate.getAttribute('data-bytes'));
    expect(cropped).toBeLessThan(whole);
    // A change of settings (10 frames a second instead of 50) is estimated again too.
    const setFps = async (fps: string) => {
      await page.getByTestId('open-settings').click();
      const panel = page.getByTestId('settings');
      await panel.getByLabel('Frames per second').fill(fps);
      await panel.getByRole('button', { name: 'Save' }).click();
      await panel.getByText('Saved.', { exact: false }).waitFor();
      await page.keyboard.press('Escape');
      await expect.poll(() => page.getByTestId('settings').count()).toBe(0);
      // Esc gives the focus back to the settings button, where Enter would open the dialog
      // again; the capture keys below are the page's, pressed away from any control.
      await blur(page);
    };
    await setFps('10');
    await expect.poll(() => range.textContent()).toContain('at 10 fps');
    await expect
      .poll(() => estimate.getAttribute('data-bytes'), { timeout: 30_000 })
      .not.toBeNull();
    expect(Number(await estimate.getAttribute('data-bytes'))).toBeLessThan(cropped);
    await setFps('50');
    await expect.poll(() => range.textContent()).toContain('at 50 fps');
    // One video frame (two samples at 50 fps): the estimate is of it (within a factor of two).
    await seek(ann, 4.02);
    await page.keyboard.press('i');
    await page.keyboard.press('o');
    await expect.poll(() => range.textContent()).toContain('0.04 s · 2 frames at 50 fps');
    await expect
      .poll(() => estimate.getAttribute('data-bytes'), { timeout: 30_000 })
      .not.toBeNull();
    const guess = Number(await estimate.getAttribute('data-bytes'));
    await page.keyboard.press('Enter');
    const preview = page.locator('[data-testid=preview][data-kind=sticker]');
    await preview.waitFor({ timeout: 30_000 });
    const made = Number(await preview.getAttribute('data-bytes'));
    expect(guess).toBeGreaterThan(made / 2);
    expect(guess).toBeLessThan(made * 2);
    await preview.getByRole('button', { name: 'Discard' }).click();

    // A saved crop larger than the frame: no still, no sticker, the engine's words.
    await putSettings(page, { crop: { x: 10, y: 10, width: 5000, height: 5000 } });
    await page.reload();
    await openFirstConversation(ann);
    await openVideo(ann, fixtures.h264);
    await blur(page);
    await page.keyboard.press('s');
    const error = page.getByTestId('capture-error');
    await expect.poll(() => error.textContent()).toContain('must lie inside the 320×240 frame');
    expect(await page.getByTestId('preview').count()).toBe(0);
    await page.keyboard.press('i');
    await page.keyboard.press('.');
    await page.keyboard.press('o');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(500);
    expect(await page.getByTestId('preview').count()).toBe(0);
    expect(await error.textContent()).toContain('must lie inside the 320×240 frame');

    // On a phone-sized screen, her sent still is in view when she goes back to the chat.
    await putSettings(page, { crop: null });
    await page.setViewportSize({ width: 390, height: 760 });
    await page.reload();
    await page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
    // The conversation open before the reload comes back open (the list is its own tab).
    await page.locator('.chat-title:visible, [data-testid=conversation]:visible').first().waitFor();
    if (!(await page.locator('.chat-title').isVisible())) await openFirstConversation(ann);
    // Enough messages that the list scrolls.
    for (let i = 0; i < 12; i++) await sendText(ann, `line ${i}`);
    await page.getByRole('button', { name: 'Video', exact: true }).click();
    await openVideo(ann, fixtures.h264);
    await blur(page);
    await page.keyboard.press('s');
    const still = page.locator('[data-testid=preview][data-kind=still]');
    await still.waitFor();
    await still.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    await expect.poll(() => lastInView(ann), { timeout: 30_000 }).toBe('in view');
    expect(
      await page.evaluate(() =>
        [...document.querySelectorAll('[data-testid=messages] [data-testid=message]')]
          .at(-1)
          ?.getAttribute('data-kind'),
      ),
    ).toBe('still');
  }, 180_000);
});

/** Sends a text message from the composer. */
async function sendText(p: Person, text: string): Promise<void> {
  const box = p.page.getByTestId('composer');
  await box.fill(text);
  await box.press('Enter');
}

/**
 * 'in view' when the last message of the open conversation is inside the list's visible
 * box with its images loaded; otherwise what is not (so a failure says why).
 */
function lastInView(p: Person): Promise<string> {
  return p.page.evaluate(() => {
    const list = document.querySelector<HTMLElement>('[data-testid=messages]');
    const last = [
      ...document.querySelectorAll<HTMLElement>('[data-testid=messages] [data-testid=message]'),
    ].at(-1);
    if (!list || !last) return 'no list or no message';
    const imgs = [...last.querySelectorAll('img')];
    if (imgs.some((i) => !i.complete))
      return `last message (${last.dataset.kind}, ${last.dataset.state}) has an image still loading`;
    const a = list.getBoundingClientRect(),
      b = last.getBoundingClientRect();
    if (a.height > 0 && b.top >= a.top - 1 && b.bottom <= a.bottom + 1) return 'in view';
    return (
      `last message (${last.dataset.kind}, ${last.dataset.state}) at ${Math.round(b.top)}–${Math.round(b.bottom)} px, list ${Math.round(a.top)}–${Math.round(a.bottom)} px, ` +
      `scrollTop ${Math.round(list.scrollTop)} of ${list.scrollHeight - list.clientHeight}`
    );
  });
}

export { lastInView };
