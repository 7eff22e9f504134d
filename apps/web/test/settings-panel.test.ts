/**
 * The capture settings dialog as a person uses it, in Chromium against a real server:
 * the sticker size limit typed and shown as a size (KB/MB), errors in words (an empty
 * field is "needed", a crop typed wrong says what a crop looks like), a square preset's
 * frame and fit, the settings saved on the server, and Esc closing the dialog; then the
 * square preset's sticker previewed as the square it is (cover filled, contain with
 * transparent bars).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ensureFixtures } from '../../../packages/capture/test/helpers';
import { blur, openVideo, seek, startApp, stopApp, type Person, type TestServer } from './harness';

let server: TestServer;
let browser: Browser;
let alice: Person;

beforeAll(async () => {
  ({ server, browser, a: alice } = await startApp('carol', 'dave'));
}, 180_000);
afterAll(async () => {
  await stopApp({ server, browser });
});

describe('capture settings dialog', () => {
  it('takes sizes in KB/MB, speaks in words, applies square presets and closes on Esc', async () => {
    const { page } = alice;
    await page.getByTestId('open-settings').click();
    const panel = page.getByTestId('settings');
    const limit = panel.getByLabel('Sticker size limit');
    await expect.poll(() => limit.inputValue()).toBe('1 MiB');

    await panel.getByLabel('Largest side').fill('');
    await panel.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => panel.getByTestId('error-maxSide').textContent())
      .toBe('Largest side is needed (64–1920 px)');
    await panel.getByLabel('Largest side').fill('480');

    await panel.getByLabel('Crop').fill('abc');
    await panel.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => panel.getByTestId('error-crop').textContent())
      .toMatch(
        /^Crop must be four whole numbers x, y, width, height in video pixels \(for example 0, 0, 320, 240\)/,
      );
    await panel.getByLabel('Crop').fill('');

    await limit.fill('12 lots');
    await panel.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => panel.getByTestId('error-maxStickerBytes').textContent())
      .toMatch(/^Sticker size limit must be a size like 500 KB, 1 MB or 256 KiB/);
    await limit.fill('10 KB');
    await panel.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => panel.getByTestId('error-maxStickerBytes').textContent())
      .toBe('Sticker size limit must be 16 KiB–8 MiB, got 10 KB');

    // A square preset fills in its frame and fit; the person picks cover.
    await panel.getByRole('button', { name: 'WhatsApp sticker' }).click();
    await expect.poll(() => limit.inputValue()).toBe('500 KiB');
    expect(await panel.getByLabel('Sticker frame').inputValue()).toBe('square');
    expect(await panel.getByLabel('Largest side').inputValue()).toBe('512');
    await panel.getByLabel('Square fit').selectOption('cover');
    await limit.fill('400 KB');
    await panel.getByRole('button', { name: 'Save' }).click();
    await panel.getByText('Saved.', { exact: false }).waitFor();
    const saved = await page.evaluate(async () => (await fetch('/api/settings/capture')).json());
    expect(saved).toMatchObject({
      stickerFormat: 'webp',
      maxSide: 512,
      maxStickerBytes: 400_000,
      frameSize: 'square',
      fit: 'cover',
      maxClipSeconds: 10,
    });

    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('settings').count()).toBe(0);
    // Opened again, it shows what was saved, in the same words.
    await page.getByTestId('open-settings').click();
    await expect
      .poll(() => page.getByTestId('settings').getByLabel('Sticker size limit').inputValue())
      .toBe('400 KB');
    expect(await page.getByTestId('settings').getByLabel('Square fit').inputValue()).toBe('cover');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('settings').count()).toBe(0);
  });

  it("previews a square preset's sticker as the square it is: cover filled, contain with transparent bars", async () => {
    const { page } = alice;
    const fx = await ensureFixtures();
    await openVideo(alice, fx.h264);
    await page.getByRole('button', { name: 'Sticker', exact: true }).click();
    const make = async () => {
      await blur(page);
      await seek(alice, 0.5);
      await page.keyboard.press('i');
      await seek(alice, 1.2);
      await page.keyboard.press('o');
      await page.keyboard.press('Enter');
      const preview = page.locator('[data-testid=preview][data-kind=sticker]');
      await preview.waitFor({ timeout: 60_000 });
      const got = await preview.evaluate(async (el) => {
        const img = el.querySelector('img')!;
        await img.decode();
        const bmp = await createImageBitmap(await (await fetch(img.src)).blob());
        const c = new OffscreenCanvas(bmp.width, bmp.height);
        const ctx = c.getContext('2d')!;
        ctx.drawImage(bmp, 0, 0);
        const alpha = (x: number, y: number) => ctx.getImageData(x, y, 1, 1).data[3];
        // Shown square on the page too, not stretched into another shape.
        const r = img.getBoundingClientRect();
        return {
          w: bmp.width,
          h: bmp.height,
          shown: r.width / r.height,
          corner: alpha(2, 2),
          centre: alpha(bmp.width >> 1, bmp.height >> 1),
          bytes: Number(el.getAttribute('data-bytes')),
        };
      });
      await preview.getByRole('button', { name: 'Discard' }).click();
      return got;
    };
    // Saved above: WhatsApp's preset (animated WebP, 512×512) with cover and 400 KB.
    const cover = await make();
    expect(cover).toMatchObject({ w: 512, h: 512, corner: 255, centre: 255 });
    expect(Math.abs(cover.shown - 1)).toBeLessThan(0.02);
    expect(cover.bytes).toBeLessThanOrEqual(400_000);
    await page.getByTestId('open-settings').click();
    const panel = page.getByTestId('settings');
    await panel.getByLabel('Square fit').selectOption('contain');
    await panel.getByRole('button', { name: 'Save' }).click();
    await panel.getByText('Saved.', { exact: false }).waitFor();
    await page.keyboard.press('Escape');
    // 320×240 on a 512 square: bars above and below, transparent.
    const contain = await make();
    expect(contain).toMatchObject({ w: 512, h: 512, corner: 0, centre: 255 });
    expect(Math.abs(contain.shown - 1)).toBeLessThan(0.02);
    expect(contain.bytes).toBeLessThanOrEqual(400_000);
  }, 180_000);
});
