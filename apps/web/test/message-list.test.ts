/**
 * The message list and composer in real Chromium, two people against a real server:
 * day separators (messages moved to other days in the server's own SQLite file), links
 * made clickable only for http/https with the text never parsed as HTML, the full-size
 * viewer of a still (Esc or a click outside closes it, focus goes back), an image pasted
 * from the clipboard sent as a still, and the character counter near the 8 000 limit.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { MAX_TEXT_LENGTH } from '@clipchat/protocol';
import {
  imagePixels,
  openFirstConversation,
  startApp,
  stopApp,
  type Person,
  type TestServer,
} from './harness';

let server: TestServer;
let browser: Browser;
let rita: Person;
let sam: Person;

const sent = (p: Person) =>
  p.page.locator('[data-testid=messages] [data-testid=message][data-state=sent]');
const msg = (p: Person, text: string) =>
  sent(p).filter({ has: p.page.locator('.text', { hasText: text }) });
const connected = (p: Person) =>
  p.page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();

async function say(p: Person, text: string): Promise<void> {
  const box = p.page.getByTestId('composer');
  await box.fill(text);
  await expect.poll(() => box.inputValue()).toBe(text);
  await box.press('Enter');
  await msg(p, text.slice(0, 40)).first().waitFor();
}

async function reload(p: Person): Promise<void> {
  await p.page.reload();
  await connected(p);
  await p.page
    .locator('.chat-title')
    .waitFor()
    .catch(() => openFirstConversation(p));
}

/** Posts a text over REST from `page`; the stored message's id. */
async function post(page: Page, clientId: string, text: string): Promise<string> {
  return page.evaluate(
    async ({ clientId, text }) => {
      const csrf = decodeURIComponent(/clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '');
      const list = await (await fetch('/api/conversations')).json();
      const id = (list.conversations ?? list)[0].id;
      const r = await fetch(`/api/conversations/${id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ clientId, kind: 'text', text }),
      });
      if (!r.ok) throw new Error(await r.text());
      return (await r.json()).message.id as string;
    },
    { clientId, text },
  );
}

/** Uploads `bytes` and sends them as a `kind` message over REST from `page`. */
async function postMedia(
  page: Page,
  kind: 'still' | 'sticker',
  clientId: string,
  bytes: Buffer,
): Promise<void> {
  await page.evaluate(
    async ({ kind, clientId, bytes }) => {
      const csrf = decodeURIComponent(/clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '');
      const up = await fetch('/api/media', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'x-csrf-token': csrf },
        body: new Uint8Array(bytes),
      });
      if (!up.ok) throw new Error(await up.text());
      const media = await up.json();
      const list = await (await fetch('/api/conversations')).json();
      const id = (list.conversations ?? list)[0].id;
      const r = await fetch(`/api/conversations/${id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ clientId, kind, mediaId: media.id }),
      });
      if (!r.ok) throw new Error(await r.text());
    },
    { kind, clientId, bytes: [...bytes] },
  );
}

/** A two-frame animated GIF, `w`×`h`: green, then magenta. */
async function twoFrameGif(w: number, h: number): Promise<Buffer> {
  const frame = (r: number, g: number, b: number) =>
    sharp({ create: { width: w, height: h, channels: 4, background: { r, g, b, alpha: 1 } } })
      .raw()
      .toBuffer();
  const strip = Buffer.concat([await frame(0, 200, 0), await frame(200, 0, 200)]);
  return sharp(strip, { raw: { width: w, height: h * 2, channels: 4, pageHeight: h } as never })
    .gif({ loop: 0, delay: [100, 100] })
    .toBuffer();
}

/** A 64×48 PNG drawn in the page: left half red, right half blue. */
async function pngInPage(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const c = new OffscreenCanvas(64, 48);
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = '#ff0000';
    ctx.fillRect(0, 0, 32, 48);
    ctx.fillStyle = '#0000ff';
    ctx.fillRect(32, 0, 32, 48);
    const blob = await c.convertToBlob({ type: 'image/png' });
    await navigator.clipboard.write([new ClipboardItem({ 'image/png': blob })]);
  });
}

beforeAll(async () => {
  ({ server, browser, a: rita, b: sam } = await startApp('rita', 'sam'));
  for (const p of [rita, sam])
    await p.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await openFirstConversation(sam);
}, 120_000);

afterAll(async () => {
  if (process.env.CLIPCHAT_E2E_SHOTS) {
    await rita?.page.screenshot({ path: '/tmp/e2e-rita.png' }).catch(() => {});
    await sam?.page.screenshot({ path: '/tmp/e2e-sam.png' }).catch(() => {});
  }
  await stopApp({ server, browser });
});

describe('message list', () => {
  it('makes only http/https addresses links, opening a new tab without a handle back, and never renders HTML', async () => {
    const text =
      'see https://example.org/a?b=1. or (http://x.test/p) but not javascript:alert(1) data:text/html,<b>x</b> <img src=x onerror=alert(1)> <a href="https://evil.test">a</a>';
    await say(rita, text);
    for (const p of [rita, sam]) {
      const m = msg(p, 'see https://example.org');
      await m.waitFor();
      const t = m.locator('.text');
      // Every character is shown as typed, and the only elements made are the links (the
      // typed <a> tag is text; the https address inside it is a link of its own).
      expect(await t.textContent()).toBe(text);
      expect(await t.evaluate((e) => [...e.querySelectorAll('*')].map((c) => c.tagName))).toEqual([
        'A',
        'A',
        'A',
      ]);
      const links = await t.locator('a').evaluateAll((as) =>
        as.map((a) => ({
          href: a.getAttribute('href'),
          text: a.textContent,
          target: a.getAttribute('target'),
          rel: a.getAttribute('rel'),
        })),
      );
      expect(links).toEqual([
        {
          href: 'https://example.org/a?b=1',
          text: 'https://example.org/a?b=1',
          target: '_blank',
          rel: 'noopener noreferrer',
        },
        {
          href: 'http://x.test/p',
          text: 'http://x.test/p',
          target: '_blank',
          rel: 'noopener noreferrer',
        },
        {
          href: 'https://evil.test/',
          text: 'https://evil.test',
          target: '_blank',
          rel: 'noopener noreferrer',
        },
      ]);
    }
  });

  it('separates days: the date, then Yesterday, then Today, each before the first message of its day', async () => {
    const now = new Date();
    const noon = (daysAgo: number) =>
      new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysAgo, 12).getTime();
    const old = await post(rita.page, 'days-1', 'three days ago');
    const older = await post(rita.page, 'days-2', 'also three days ago');
    const yesterday = await post(rita.page, 'days-3', 'yesterday');
    await post(rita.page, 'days-4', 'today');
    // Move the first three to other days in the server's own database (stopped meanwhile).
    await server.stop();
    const db = new Database(join(server.dataDir, 'clipchat.db'));
    const move = db.prepare('UPDATE messages SET created_at = ? WHERE id = ?');
    move.run(noon(3), old);
    move.run(noon(3) + 60_000, older);
    move.run(noon(1), yesterday);
    db.close();
    await server.start();
    await reload(sam);
    await msg(sam, 'today').waitFor();
    // Separators and messages in the order shown (messages by their text).
    const order = await sam.page
      .locator('[data-testid=messages]')
      .evaluate((ol) =>
        [...ol.children].flatMap((li) =>
          li.getAttribute('data-testid') === 'day-separator'
            ? [`| ${li.textContent}`]
            : li.getAttribute('data-testid') === 'message'
              ? [li.querySelector('.text')?.textContent ?? '']
              : [],
        ),
      );
    // From the separator before the first moved message on (earlier tests' messages are today's).
    order.splice(0, order.indexOf('three days ago') - 1);
    const at = (t: string) => order.indexOf(t);
    const labels = order.filter((o) => o.startsWith('| '));
    expect(labels.length).toBe(3);
    const dateLabel = labels[0]!;
    expect(dateLabel).not.toMatch(/Today|Yesterday/);
    expect(dateLabel).toContain(String(new Date(noon(3)).getDate()));
    expect(labels.slice(1)).toEqual(['| Yesterday', '| Today']);
    // Each label comes right before the first message of its day, and nowhere else.
    expect(order[at('three days ago') - 1]).toBe(dateLabel);
    expect(at('also three days ago')).toBe(at('three days ago') + 1);
    expect(order[at('yesterday') - 1]).toBe('| Yesterday');
    expect(order.indexOf('| Today')).toBeGreaterThan(at('yesterday'));
    expect(order.indexOf('| Today')).toBeLessThan(at('today'));
    await reload(rita);
  });

  it('sends an image pasted into the composer as a still (text pastes as text), which opens full size', async () => {
    const box = rita.page.getByTestId('composer');
    await box.focus();
    await pngInPage(rita.page);
    await rita.page.keyboard.press('Control+V');
    const still = sam.page
      .locator('[data-testid=messages] [data-testid=message][data-kind=still]')
      .last();
    await still.locator('[data-testid=media] img').waitFor();
    expect(await box.inputValue()).toBe('');
    const px = await imagePixels(
      sam.page,
      '[data-testid=messages] [data-kind=still] [data-testid=media] img',
    );
    expect([px.width, px.height]).toEqual([64, 48]);
    const rgb = (x: number, y: number) =>
      px.data.slice((y * px.width + x) * 4, (y * px.width + x) * 4 + 3);
    expect(rgb(5, 20)).toEqual([255, 0, 0]);
    expect(rgb(60, 20)).toEqual([0, 0, 255]);
    // Her own still is sent (acked), not left pending.
    await rita.page
      .locator('[data-testid=messages] [data-testid=message][data-kind=still][data-state=sent]')
      .last()
      .waitFor();
    // A paste of text is not taken: it lands in the box.
    await rita.page.evaluate(() => navigator.clipboard.writeText('pasted words'));
    await box.focus();
    await rita.page.keyboard.press('Control+V');
    await expect.poll(() => box.inputValue()).toBe('pasted words');
    await box.fill('');

    // Sam opens the still full size; Esc or a click outside closes it and focus returns.
    const { page } = sam;
    const open = page
      .locator('[data-testid=messages] [data-kind=still] [data-testid=open-viewer]')
      .last();
    await open.click();
    const viewer = page.getByRole('dialog', { name: /full size/ });
    await viewer.waitFor();
    const img = viewer.locator('img.viewer-media');
    await expect
      .poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth))
      .toBe(64);
    // At its own size (64×48 fits the window).
    expect(
      await img.evaluate((i) => [
        Math.round(i.getBoundingClientRect().width),
        Math.round(i.getBoundingClientRect().height),
      ]),
    ).toEqual([64, 48]);
    // Modal: the rest of the page is inert while it is open.
    expect(await viewer.evaluate((d: HTMLDialogElement) => d.open && d.matches(':modal'))).toBe(
      true,
    );
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });
    await expect.poll(() => open.evaluate((b) => document.activeElement === b)).toBe(true);

    // From the keyboard, and closed by a click outside the picture.
    await page.keyboard.press('Enter');
    await viewer.waitFor();
    await page.mouse.click(8, 450);
    await viewer.waitFor({ state: 'detached' });
    await expect.poll(() => open.evaluate((b) => document.activeElement === b)).toBe(true);

    // A click on the picture itself keeps it open; the close button closes it.
    await open.click();
    await img.click();
    expect(await viewer.isVisible()).toBe(true);
    await viewer.getByRole('button', { name: 'Close' }).click();
    await viewer.waitFor({ state: 'detached' });
    await expect.poll(() => open.evaluate((b) => document.activeElement === b)).toBe(true);
  });

  it('opens a sticker full size, and a still larger than the window fits it', async () => {
    const { page } = sam;
    await postMedia(rita.page, 'sticker', 'viewer-sticker', await twoFrameGif(120, 90));
    const open = page
      .locator('[data-testid=messages] [data-kind=sticker] [data-testid=open-viewer]')
      .last();
    await open.locator('[data-testid=media][data-frames="2"]').waitFor();
    await open.click();
    const viewer = page.getByRole('dialog', { name: /full size/ });
    const img = viewer.locator('img.viewer-media');
    await expect
      .poll(() =>
        img.evaluate((i: HTMLImageElement) => i.complete && [i.naturalWidth, i.naturalHeight]),
      )
      .toEqual([120, 90]);
    expect(await img.evaluate((i) => Math.round(i.getBoundingClientRect().width))).toBe(120);
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });
    await expect.poll(() => open.evaluate((b) => document.activeElement === b)).toBe(true);

    // 2400×300: shown inline at most 280 px wide, in the viewer as wide as the window allows.
    const wide = await sharp({
      create: { width: 2400, height: 300, channels: 3, background: { r: 250, g: 200, b: 0 } },
    })
      .png()
      .toBuffer();
    await postMedia(rita.page, 'still', 'viewer-wide', wide);
    const openWide = page
      .locator('[data-testid=messages] [data-kind=still] [data-testid=open-viewer]')
      .last();
    await openWide.locator('img[width="280"]').waitFor();
    await openWide.click();
    await expect
      .poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth))
      .toBe(2400);
    const [width, inner] = await img.evaluate((i) => [i.getBoundingClientRect().width, innerWidth]);
    expect(width).toBeGreaterThan(inner * 0.9);
    expect(width).toBeLessThanOrEqual(inner);
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });
  });

  it('counts characters from 7 500 and refuses to send past 8 000, saying so', async () => {
    const { page } = rita;
    const box = page.getByTestId('composer');
    const counter = page.getByTestId('text-counter');
    const sendBtn = page.locator('.composer').getByRole('button', { name: 'Send' });
    const before = await sent(rita).count();
    await box.fill('a'.repeat(7499));
    await expect.poll(() => box.inputValue().then((v) => v.length)).toBe(7499);
    expect(await counter.count()).toBe(0);
    await box.fill('a'.repeat(7500));
    await expect.poll(() => counter.textContent()).toBe('7,500 / 8,000');
    expect(await sendBtn.isEnabled()).toBe(true);
    await box.fill(`${'b'.repeat(MAX_TEXT_LENGTH)}c`);
    await expect.poll(() => counter.textContent()).toBe('8,001 / 8,000: 1 too many to send');
    expect(await sendBtn.isDisabled()).toBe(true);
    // Enter does not send it either; the text stays to be shortened.
    await box.press('Enter');
    expect((await box.inputValue()).length).toBe(MAX_TEXT_LENGTH + 1);
    // One character fewer is exactly the limit: it sends, and is the only new message (the
    // 8 001-character one was never queued, else it would be refused or sent before it).
    await box.press('Backspace');
    await expect.poll(() => counter.textContent()).toBe('8,000 / 8,000');
    await box.press('Enter');
    const long = sent(rita).filter({ has: page.locator('.text', { hasText: 'bbbbbbbbbb' }) });
    await long.waitFor();
    expect(await long.locator('.text').textContent()).toBe('b'.repeat(MAX_TEXT_LENGTH));
    await expect.poll(() => counter.count()).toBe(0);
    expect(await sent(rita).count()).toBe(before + 1);
    expect(
      await page
        .locator('[data-testid=messages] [data-testid=message]:not([data-state=sent])')
        .count(),
    ).toBe(0);
  });
});
