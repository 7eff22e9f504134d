/**
 * Reading frame numbers back in the end-to-end tests: from the screen (a screenshot of
 * the picture inside the player), from what the other person received (every frame of a
 * GIF, decoded by Chromium's ImageDecoder), and which frame the player had presented
 * when the person paused (an rVFC recorder of the test's own, not the app's clock).
 */
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { readFrameNumber } from '../../../packages/capture/test/helpers';

/** The frame number drawn in the player's picture, from a screenshot of the screen. */
async function frameOnScreen(page: Page): Promise<number> {
  const box = await page.evaluate(() => {
    const v = document.querySelector<HTMLVideoElement>('video.player-video')!;
    const r = v.getBoundingClientRect();
    const k = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
    const w = v.videoWidth * k,
      h = v.videoHeight * k;
    return {
      x: r.left + (r.width - w) / 2 + 1,
      y: r.top + (r.height - h) / 2 + 1,
      width: w - 2,
      height: h - 2,
    };
  });
  const png = await page.screenshot({ clip: box });
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return readFrameNumber(data, info.width, info.height);
}

/**
 * The frame number in the player element's own picture (`createImageBitmap` of the
 * `<video>`: what the element presents, and what a still taken while paused holds), once
 * the element is at rest — paused, no seek in flight, the frame it last presented (the
 * recorder's rVFC report) the one containing its current time — and the picture reads
 * the same three times over 0.7 s: between two quick steps the element rests for a moment
 * before the second one's seek. `null` when it keeps changing. `t0`: the file's first
 * timestamp.
 */
export async function frameInPlayer(page: Page, fps: number, t0 = 0): Promise<number | null> {
  const readings: number[] = [];
  for (let i = 0; i < 15; i++) {
    await atRest(page, fps, t0);
    readings.push(await elementFrame(page));
    const [a, b, c] = readings.slice(-3);
    if (readings.length >= 3 && a === b && b === c) return c!;
    await page.waitForTimeout(readings.length % 2 ? 200 : 500);
  }
  return null;
}

/** The frame number in the player element's picture now. */
async function elementFrame(page: Page): Promise<number> {
  const px = await page.evaluate(async () => {
    const v = document.querySelector<HTMLVideoElement>('video.player-video')!;
    const bmp = await createImageBitmap(v);
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext('2d')!;
    ctx.drawImage(bmp, 0, 0);
    bmp.close();
    return {
      width: c.width,
      height: c.height,
      data: Array.from(ctx.getImageData(0, 0, c.width, c.height).data),
    };
  });
  return readFrameNumber(px.data, px.width, px.height);
}

/** Waits (up to 3 s) until the player is at rest (see `frameInPlayer`). */
function atRest(page: Page, fps: number, t0: number): Promise<void> {
  return page
    .waitForFunction(
      ({ frame, t0 }) => {
        const v = document.querySelector<HTMLVideoElement>('video.player-video');
        const shown = (window as unknown as { __last: number | null }).__last;
        if (!v || !v.paused || v.seeking || v.readyState < 2 || shown === null) return false;
        // The element's time may or may not count the file's start offset (t0) that rVFC's does.
        const inside = (dt: number) => dt >= -1e-6 && dt < 0.9 * frame;
        return inside(v.currentTime - shown) || inside(v.currentTime + t0 - shown);
      },
      { frame: 1 / fps, t0 },
      { timeout: 3_000 },
    )
    .then(
      () => {},
      () => {},
    );
}

/**
 * The frame that stays on screen: the person looks once the player is at rest (see
 * `frameInPlayer`), and the picture must read the same in three screenshots over 0.7 s.
 * A screenshot taken at once after a key press can show the picture from before the
 * gesture's seek was presented (one or two frames off), which no person would call the
 * frame they paused on; and headless Chromium's screenshots were seen to lag the element
 * for over 200 ms after a frame step (the element's picture and its rVFC report already
 * the new frame, a later screenshot too). A picture that keeps changing for 3 s is
 * returned as `null` (a miss). `t0`: the file's first timestamp.
 */
export async function settledFrameOnScreen(
  page: Page,
  fps: number,
  t0 = 0,
): Promise<number | null> {
  const readings: number[] = [];
  for (let i = 0; i < 15; i++) {
    await atRest(page, fps, t0);
    readings.push(await frameOnScreen(page));
    const [a, b, c] = readings.slice(-3);
    if (readings.length >= 3 && a === b && b === c) return c!;
    await page.waitForTimeout(readings.length % 2 ? 200 : 500);
  }
  return null;
}

/**
 * Records, in the page, the media time of every frame the player presents, and at the
 * moment of a key press or click made while playing (the person pausing), the
 * last one presented: what the person saw when they paused.
 */
export async function recordPresented(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __seen: number | null; __last: number | null };
    const v = document.querySelector<HTMLVideoElement>('video.player-video')!;
    w.__seen = null;
    w.__last = null;
    const cb = (_n: number, m: VideoFrameCallbackMetadata) => {
      w.__last = m.mediaTime;
      v.requestVideoFrameCallback(cb);
    };
    v.requestVideoFrameCallback(cb);
    const mark = () => {
      if (!v.paused) w.__seen = w.__last;
    };
    window.addEventListener('keydown', mark, true);
    // A button pauses on its click (not its pointerdown): mark then.
    window.addEventListener('click', mark, true);
  });
}

/** Media time of the frame presented when the person last paused (see recordPresented). */
export async function seenAtPause(page: Page): Promise<number> {
  const t = await page.evaluate(() => (window as unknown as { __seen: number | null }).__seen);
  if (t === null) throw new Error('no frame was presented before the pause');
  return t;
}

/** Frame numbers of the first and last frames of the last GIF in the conversation. */
export async function lastGifEnds(
  page: Page,
): Promise<{ first: number; last: number; count: number }> {
  const frames = await page.evaluate(async () => {
    const media = [
      ...document.querySelectorAll<HTMLElement>(
        '[data-testid=messages] [data-kind=sticker] [data-testid=media]',
      ),
    ].at(-1)!;
    const img = media.querySelector('img')!;
    const data = await (await fetch(img.src)).arrayBuffer();
    const dec = new ImageDecoder({ data, type: 'image/gif' });
    await dec.tracks.ready;
    const count = dec.tracks.selectedTrack!.frameCount;
    const out = [];
    for (const i of [0, count - 1]) {
      const { image } = await dec.decode({ frameIndex: i });
      const c = new OffscreenCanvas(image.displayWidth, image.displayHeight);
      const ctx = c.getContext('2d')!;
      ctx.drawImage(image, 0, 0);
      image.close();
      out.push({
        width: c.width,
        height: c.height,
        data: Array.from(ctx.getImageData(0, 0, c.width, c.height).data),
      });
    }
    dec.close();
    return { out, count };
  });
  const [a, b] = frames.out.map((f) => readFrameNumber(f.data, f.width, f.height));
  return { first: a!, last: b!, count: frames.count };
}

/** Saves capture settings for the signed-in user of `page` (merged over the saved ones). */
export async function putSettings(page: Page, patch: Record<string, unknown>): Promise<void> {
  await page.evaluate(async (patch) => {
    const now = await (await fetch('/api/settings/capture')).json();
    const cur = now.settings ?? now;
    const csrf = decodeURIComponent(
      /(?:^|;\s*)clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ??
        localStorage.getItem('clipchat.csrf') ??
        '',
    );
    const r = await fetch('/api/settings/capture', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ ...cur, ...patch }),
    });
    if (!r.ok) throw new Error(`PUT settings: ${r.status} ${await r.text()}`);
  }, patch);
}

/** Player seconds in an origin caption such as "clip.mp4 · 0:02.003" (the last time in it). */
export function captionTime(text: string): number {
  const m = [...text.matchAll(/(\d+):(\d{2}(?:\.\d+)?)/g)].at(-1);
  if (!m) throw new Error(`no time in ${JSON.stringify(text)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}
