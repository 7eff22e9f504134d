/**
 * Notifications in real Chromium: permission is asked only from the bell, a message that
 * arrives while Sam's tab is hidden shows a desktop
 * notification with sender and preview ("Still" for a still), the tab title and favicon
 * carry the unread count, clicking the notification opens the conversation, and a muted
 * conversation neither notifies nor counts. Notifications are the browser's own; an init
 * script only records each one constructed (and permission requests). Headless Chromium
 * never hides a tab (another tab in front, a minimised window: the page stays
 * "visible"), so the same script lets the test set what `document.visibilityState`
 * says, and fires `visibilitychange` as the browser would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startApp, stopApp, type Person, type TestServer } from './harness';

let server: TestServer;
let browser: Browser;
let rita: Person;
let sam: Person;

type Note = { title: string; body: string; tag: string };
const notes = () => sam.page.evaluate(() => (window as unknown as { __notes: Note[] }).__notes);
const asked = () => sam.page.evaluate(() => (window as unknown as { __asked: number }).__asked);
const hidden = () => sam.page.evaluate(() => document.visibilityState);
const hide = (h: boolean) =>
  sam.page.evaluate((h) => (window as unknown as { __hide(h: boolean): void }).__hide(h), h);

async function say(text: string): Promise<void> {
  await rita.page.getByTestId('composer').fill(text);
  await rita.page.getByTestId('composer').press('Enter');
  await rita.page
    .locator('[data-testid=message][data-state=sent] .text', { hasText: text })
    .waitFor();
}

beforeAll(async () => {
  ({ server, browser, a: rita, b: sam } = await startApp('rita', 'sam'));
  await sam.context.addInitScript(() => {
    const w = window as unknown as {
      __notes: unknown[];
      __asked: number;
      __last: Notification | null;
    };
    w.__notes = [];
    w.__asked = 0;
    w.__last = null;
    const Real = window.Notification;
    class Recorded extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        w.__notes.push({ title, body: options?.body ?? '', tag: options?.tag ?? '' });
        w.__last = this;
      }
    }
    Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
    Object.defineProperty(Recorded, 'requestPermission', {
      value: (...a: []) => {
        w.__asked++;
        return Real.requestPermission(...a);
      },
    });
    window.Notification = Recorded;
    let hide = false;
    Object.defineProperty(Document.prototype, 'visibilityState', {
      configurable: true,
      get: () => (hide ? 'hidden' : 'visible'),
    });
    Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hide });
    (window as unknown as { __hide(h: boolean): void }).__hide = (h: boolean) => {
      hide = h;
      document.dispatchEvent(new Event('visibilitychange'));
    };
  });
  await sam.page.reload();
  await sam.page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
}, 180_000);

afterAll(async () => {
  await stopApp({ server, browser });
});

describe('notifications', () => {
  it('asks permission from the bell only, then notifies while hidden, counts in the title, opens on click', async () => {
    const bell = sam.page.getByTestId('bell');
    await expect.poll(() => bell.getAttribute('aria-label')).toBe('Turn on notifications');
    expect(await asked()).toBe(0);
    // The click asks (Playwright answers no prompt); the person allowing it is the grant.
    await bell.click();
    await expect.poll(asked).toBe(1);
    await sam.context.grantPermissions(['notifications'], { origin: server.url });
    await expect
      .poll(() => bell.getAttribute('aria-label'), { timeout: 10_000 })
      .toBe('Notifications are on');
    expect(await asked()).toBe(1);

    // Sam has another conversation open, then looks at another tab.
    await sam.page.getByRole('button', { name: 'New conversation' }).click();
    await sam.page.getByLabel('Usernames').fill('rita');
    await sam.page.getByLabel('Group name').fill('Notes');
    await sam.page.getByRole('button', { name: 'Start' }).click();
    await sam.page.locator('.chat-title').filter({ hasText: 'Notes' }).waitFor();
    await hide(true);
    expect(await hidden()).toBe('hidden');

    await say('popcorn at nine');
    await expect
      .poll(notes, { timeout: 10_000 })
      .toEqual([{ title: 'rita', body: 'popcorn at nine', tag: expect.any(String) }]);
    await expect.poll(() => sam.page.title()).toBe('(1) Clipchat');
    expect(await sam.page.locator('link[rel=icon]').getAttribute('data-unread')).toBe('1');

    // A still says "Still".
    await rita.page.evaluate(async () => {
      const csrf = decodeURIComponent(/clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '');
      const c = new OffscreenCanvas(8, 8);
      c.getContext('2d')!.fillRect(0, 0, 8, 8);
      const media = await (
        await fetch('/api/media', {
          method: 'POST',
          headers: { 'content-type': 'image/png', 'x-csrf-token': csrf },
          body: await c.convertToBlob({ type: 'image/png' }),
        })
      ).json();
      const list = await (await fetch('/api/conversations')).json();
      const direct = list.conversations.find((c: { kind: string }) => c.kind === 'direct');
      const r = await fetch(`/api/conversations/${direct.id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({
          clientId: 'still-1',
          kind: 'still',
          mediaId: media.id,
          source: { video: 'clip.mp4', at: 1 },
        }),
      });
      if (!r.ok) throw new Error(await r.text());
    });
    await expect
      .poll(async () => (await notes()).map((n) => n.body), { timeout: 10_000 })
      .toEqual(['popcorn at nine', 'Still']);
    await expect.poll(() => sam.page.title()).toBe('(2) Clipchat');
    expect(await sam.page.locator('link[rel=icon]').getAttribute('data-unread')).toBe('2');

    // Clicking the notification opens the conversation; back in front, it is read.
    await sam.page.evaluate(() =>
      (window as unknown as { __last: Notification }).__last.dispatchEvent(new Event('click')),
    );
    await sam.page.locator('.chat-title').filter({ hasText: 'rita' }).waitFor();
    await hide(false);
    await expect.poll(() => sam.page.title(), { timeout: 10_000 }).toBe('Clipchat');
    expect(await sam.page.locator('link[rel=icon]').getAttribute('data-unread')).toBe('0');
    // Visible: a message is read as it arrives, no notification.
    await say('you there?');
    await sam.page.locator('[data-testid=message] .text', { hasText: 'you there?' }).waitFor();
    expect((await notes()).length).toBe(2);
    expect(await sam.page.title()).toBe('Clipchat');
  });

  it('a muted conversation neither notifies nor counts, until unmuted', async () => {
    const mute = sam.page.getByTestId('mute');
    await mute.click();
    await expect.poll(() => mute.getAttribute('aria-pressed')).toBe('true');
    const had = (await notes()).length;
    await hide(true);
    await say('muted news');
    // It arrived (the list shows it), yet no notification and no count.
    await sam.page.getByTestId('conversation').filter({ hasText: 'muted news' }).waitFor();
    expect((await notes()).length).toBe(had);
    expect(await sam.page.title()).toBe('Clipchat');
    // Unmuted: the unread one counts again, and the next one notifies.
    await sam.page.getByTestId('mute').evaluate((b) => (b as HTMLButtonElement).click());
    await expect.poll(() => sam.page.title()).toBe('(1) Clipchat');
    await say('loud news');
    await expect
      .poll(async () => (await notes()).map((n) => n.body).slice(had), { timeout: 10_000 })
      .toEqual(['loud news']);
    await hide(false);
    await expect.poll(() => sam.page.title(), { timeout: 10_000 }).toBe('Clipchat');
  });
});
