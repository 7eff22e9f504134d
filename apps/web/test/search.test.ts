/**
 * Search in real Chromium against a real server: "/" and Ctrl+K reach the box, results
 * show sender, conversation and the matched word marked, a result far older than what is
 * loaded opens with the history around it (and the gap to the newest fills on demand), a
 * stale answer never replaces a newer one, and library stickers are found by tag.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  blur,
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

/** Posts texts over REST from `page` into its first conversation, a few at a time (seq order does not matter here). */
async function post(page: Page, texts: string[]): Promise<void> {
  await page.evaluate(async (texts) => {
    const csrf = decodeURIComponent(/clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '');
    const list = await (await fetch('/api/conversations')).json();
    const id = (list.conversations ?? list)[0].id;
    const one = async (text: string, i: number) => {
      const r = await fetch(`/api/conversations/${id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ clientId: `t-${Date.now()}-${i}`, kind: 'text', text }),
      });
      if (!r.ok) throw new Error(await r.text());
    };
    for (let i = 0; i < texts.length; i += 8)
      await Promise.all(texts.slice(i, i + 8).map((t, j) => one(t, i + j)));
  }, texts);
}

const shownSeqs = (p: Person) =>
  p.page
    .locator('[data-testid=messages] [data-testid=message][data-seq]')
    .evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.seq)));

beforeAll(async () => {
  ({ server, browser, a: rita, b: sam } = await startApp('rita', 'sam'));
  // seq 1 is the needle; 130 newer ones push it far out of the latest page (50).
  await post(rita.page, ['the zebra crossing is at noon, not at Café Kranz']);
  await post(
    rita.page,
    Array.from({ length: 130 }, (_, i) => `filler number ${i + 1}`),
  );
  await sam.page.reload();
  await sam.page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
  await openFirstConversation(sam);
  await sam.page.locator('[data-testid=message][data-seq="131"]').waitFor();
}, 180_000);

afterAll(async () => {
  await stopApp({ server, browser });
});

describe('search', () => {
  it('finds an old message not loaded and opens it with the history around it', async () => {
    expect((await shownSeqs(sam)).length).toBe(50);
    expect(await shownSeqs(sam)).not.toContain(1);
    await blur(sam.page);
    await sam.page.keyboard.press('/');
    const box = sam.page.getByTestId('search');
    await expect
      .poll(() => sam.page.evaluate(() => document.activeElement?.getAttribute('data-testid')))
      .toBe('search');
    await sam.page.keyboard.type('ZEBRA caf');
    const result = sam.page.getByTestId('search-result');
    await expect.poll(() => result.count(), { timeout: 10_000 }).toBe(1);
    expect(await result.locator('b').textContent()).toBe('rita');
    expect(await result.textContent()).toContain('in rita');
    expect(await result.locator('mark').allTextContents()).toEqual(['zebra', 'Café']);
    expect(await result.getAttribute('data-seq')).toBe('1');

    // Enter opens it: the page around seq 1 is loaded, the message has focus, the newest stay.
    await box.press('Enter');
    await expect
      .poll(
        () => sam.page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.seq),
        { timeout: 10_000 },
      )
      .toBe('1');
    await expect.poll(() => sam.page.getByTestId('search-results').count()).toBe(0);
    const seqs = await shownSeqs(sam);
    expect(seqs.slice(0, 3)).toEqual([1, 2, 3]);
    expect(seqs.at(-1)).toBe(131);
    const inView = () =>
      sam.page.locator('[data-testid=message][data-seq="1"]').evaluate((el) => {
        const r = el.getBoundingClientRect(),
          list = el.closest('[data-testid=messages]')!.getBoundingClientRect();
        return r.bottom > list.top && r.top < list.bottom;
      });
    await expect.poll(inView, { timeout: 10_000 }).toBe(true);

    // Between the page around it and the newest: a gap that fills page by page, without holes.
    const gap = sam.page.getByTestId('gap');
    await expect.poll(() => gap.count()).toBe(1);
    while (await gap.count()) {
      const before = (await shownSeqs(sam)).length;
      await gap.getByRole('button').click();
      await expect
        .poll(async () => (await shownSeqs(sam)).length, { timeout: 10_000 })
        .toBeGreaterThan(before);
    }
    expect(await shownSeqs(sam)).toEqual(Array.from({ length: 131 }, (_, i) => i + 1));
  });

  it('Ctrl+K focuses the box, and an answer to older words never replaces a newer one', async () => {
    // Hold the answer for "filler" until after "noon" was answered.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let heldAsked = false;
    await sam.page.route('**/api/search?*', async (route) => {
      if (new URL(route.request().url()).searchParams.get('q') === 'filler') {
        heldAsked = true;
        await held;
      }
      await route.continue().catch(() => {}); // the page may have cancelled it meanwhile
    });
    await blur(sam.page);
    await sam.page.keyboard.press('Control+k');
    await expect
      .poll(() => sam.page.evaluate(() => document.activeElement?.getAttribute('data-testid')))
      .toBe('search');
    const box = sam.page.getByTestId('search');
    await box.fill('filler');
    await expect.poll(() => heldAsked, { timeout: 10_000 }).toBe(true);
    await box.fill('noon');
    const result = sam.page.getByTestId('search-result');
    await expect
      .poll(() => result.allTextContents(), { timeout: 10_000 })
      .toEqual([expect.stringContaining('zebra crossing')]);
    release();
    // The held "filler" answer (50 results) must not show up now.
    await sam.page.waitForTimeout(500);
    expect(await result.count()).toBe(1);
    expect(await result.locator('mark').allTextContents()).toEqual(['noon']);
    await sam.page.unroute('**/api/search?*');
    await box.press('Escape');
  });

  it('finds a still of my library by its tag and sends it', async () => {
    // A still of Sam's library, tagged.
    await sam.page.evaluate(async () => {
      const csrf = decodeURIComponent(/clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '');
      const c = new OffscreenCanvas(16, 16);
      const g = c.getContext('2d')!;
      g.fillStyle = '#3a7';
      g.fillRect(0, 0, 16, 16);
      const png = await c.convertToBlob({ type: 'image/png' });
      const media = await (
        await fetch('/api/media', {
          method: 'POST',
          headers: { 'content-type': 'image/png', 'x-csrf-token': csrf },
          body: png,
        })
      ).json();
      const r = await fetch('/api/stickers', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ mediaId: media.id, name: 'green square', tags: ['kitten', 'calm'] }),
      });
      if (!r.ok) throw new Error(await r.text());
    });
    await sam.page.reload();
    await sam.page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
    await sam.page
      .locator('.chat-title')
      .waitFor()
      .catch(() => openFirstConversation(sam));
    const box = sam.page.getByTestId('search');
    await box.fill('kitt');
    const st = sam.page.getByTestId('search-sticker');
    await expect.poll(() => st.count(), { timeout: 10_000 }).toBe(1);
    expect(await st.textContent()).toContain('green square');
    await st.click();
    await expect
      .poll(
        () =>
          rita.page
            .locator('[data-testid=messages] [data-testid=message][data-kind=still]')
            .count(),
        { timeout: 10_000 },
      )
      .toBe(1);
  });
});
