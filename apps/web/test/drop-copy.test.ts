/**
 * Two gestures in real Chromium that the other end-to-end tests do not make: opening a
 * video by dropping the file on the player, and copying a still to the clipboard, read
 * back from the clipboard and decoded to the expected frame number.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  ensureFixtures,
  FIXTURE_FACTS,
  readFrameNumber,
} from '../../../packages/capture/test/helpers';
import { seek, startApp, stopApp, type TestServer, type Person } from './harness';

let server: TestServer;
let browser: Browser;
let fixtures: Awaited<ReturnType<typeof ensureFixtures>>;
let carol: Person;

const H264_FPS = FIXTURE_FACTS.h264!.fps!;
const midFrame = (k: number) => (k + 0.5) / H264_FPS;

beforeAll(async () => {
  fixtures = await ensureFixtures();
  ({ server, browser, a: carol } = await startApp('carol', 'dave'));
  await carol.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: server.url,
  });
}, 120_000);

afterAll(async () => {
  await stopApp({ server, browser });
});

describe('drop and copy', () => {
  it('opens a video dropped on the player, and copies a still that the clipboard holds as the exact frame', async () => {
    const { page } = carol;
    const name = basename(fixtures.h264);
    const bytes = readFileSync(fixtures.h264).toString('base64');
    // A drop as the browser delivers it: dragover, then drop with the file in a DataTransfer.
    await page.evaluate(
      ({ bytes, name }) => {
        const raw = Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([raw], name, { type: 'video/mp4' }));
        const target = document.querySelector('section.player')!;
        target.dispatchEvent(
          new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }),
        );
        target.dispatchEvent(
          new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }),
        );
      },
      { bytes, name },
    );
    await page.locator('.video-name').filter({ hasText: name }).waitFor();
    await page.locator('.stage-note').waitFor({ state: 'detached' });
    await page.waitForFunction(
      () => (document.querySelector<HTMLVideoElement>('video.player-video')?.readyState ?? 0) >= 2,
    );

    await seek(carol, midFrame(33));
    await page.locator('.stage').dblclick();
    const preview = page.getByTestId('preview');
    await preview.waitFor();
    await preview.getByRole('button', { name: 'Copy' }).click();
    await preview.getByText('Copied to the clipboard.').waitFor();
    const clip = await page.evaluate(async () => {
      const items = await navigator.clipboard.read();
      const blob = await items[0]!.getType('image/png');
      const bmp = await createImageBitmap(blob);
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const ctx = c.getContext('2d')!;
      ctx.drawImage(bmp, 0, 0);
      return {
        types: items[0]!.types,
        width: bmp.width,
        height: bmp.height,
        data: Array.from(ctx.getImageData(0, 0, bmp.width, bmp.height).data),
      };
    });
    expect(clip.types).toContain('image/png');
    expect(readFrameNumber(clip.data, clip.width, clip.height)).toBe(33);
  });
});
