/**
 * Every screen of Clipchat passes axe-core with no serious or critical violation, the
 * chat and the capture gestures work from the keyboard with a visible focus, and each
 * dialog keeps the keyboard: focus in when it opens, Tab around inside, Esc out, focus back
 * on what opened it. Real server, real Chromium, two people in a conversation, a
 * frame-numbered fixture video.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  ensureFixtures,
  FIXTURE_FACTS,
  readFrameNumber,
} from '../../../packages/capture/test/helpers';
import { expectAccessible, focused, tabTo } from './a11y';
import {
  blur,
  imagePixels,
  openVideo,
  startApp,
  stopApp,
  type Person,
  type TestServer,
} from './harness';

let server: TestServer;
let browser: Browser;
let fixtures: Awaited<ReturnType<typeof ensureFixtures>>;
let alice: Person;
let bob: Person;

/** The keyboard tests' video: another file than the one already open (24 fps). */
const FILM_FPS = FIXTURE_FACTS.h264film!.fps!;

beforeAll(async () => {
  fixtures = await ensureFixtures();
  ({ server, browser, a: alice, b: bob } = await startApp('alice', 'bob'));
}, 120_000);

afterAll(async () => {
  await stopApp({ server, browser });
});

// An axe run takes 2–8 s on a busy two-core machine, and some screens take three.
describe('axe-core finds no serious or critical violation', { timeout: 120_000 }, () => {
  it('on the sign-in screen', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    try {
      await page.goto(server.url);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await expectAccessible(page, 'sign-in');
      await page.getByRole('button', { name: 'New here? Create an account' }).click();
      await page.getByRole('button', { name: 'Create account' }).waitFor();
      await expectAccessible(page, 'sign-up');
      await page.emulateMedia({ colorScheme: 'dark' });
      await expectAccessible(page, 'sign-up, dark');
    } finally {
      await context.close();
    }
  });

  it('on the chat screen with messages both ways', async () => {
    await bob.page.getByTestId('conversation').first().click();
    await bob.page.getByTestId('composer').fill('hello alice');
    await bob.page.keyboard.press('Enter');
    await alice.page.getByTestId('composer').fill('hi bob');
    await alice.page.keyboard.press('Enter');
    for (const p of [alice, bob]) {
      await p.page.locator('[data-testid=messages] [data-testid=message]').nth(1).waitFor();
    }
    // Bob has read alice's message: her bubble shows the read ticks too.
    await alice.page.locator('[data-receipt=read]').first().waitFor();
    await expectAccessible(alice.page, 'chat');
  });

  it('on the capture screen with a video open', async () => {
    await openVideo(alice, fixtures.h264);
    await expectAccessible(alice.page, 'capture');
  });

  it('on the preview of a still', async () => {
    await blur(alice.page);
    await alice.page.keyboard.press('s');
    await alice.page.locator('[data-testid=preview][data-kind=still]').waitFor();
    await expectAccessible(alice.page, 'still preview');
  });

  it('on the sticker timeline and the preview of a sticker', async () => {
    const { page } = alice;
    await page.getByRole('button', { name: 'Sticker', exact: true }).click();
    await blur(page);
    await page.keyboard.press('i');
    for (let i = 0; i < 6; i++) await page.keyboard.press('.');
    await page.keyboard.press('o');
    await page.getByTestId('range').waitFor();
    await expectAccessible(page, 'sticker range');
    await blur(page);
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=preview][data-kind=sticker]').waitFor({ timeout: 30_000 });
    await expectAccessible(page, 'sticker preview');
  });

  it('on the library with a sticker in it', async () => {
    const { page } = alice;
    const preview = page.getByTestId('preview');
    await preview.getByRole('button', { name: 'Save to library' }).click();
    await preview.getByText('Saved to your stickers.').waitFor();
    await page.getByRole('button', { name: 'Sticker library' }).click();
    await page.getByTestId('library-item').first().waitFor();
    await expectAccessible(page, 'library');
    await page.getByRole('button', { name: 'Sticker library' }).click();
  });

  it('on the settings dialog', async () => {
    const { page } = alice;
    await page.getByTestId('open-settings').click();
    await page.getByTestId('settings').waitFor();
    await expectAccessible(page, 'settings');
    await page.keyboard.press('Escape');
    await page.getByTestId('settings').waitFor({ state: 'detached' });
  });

  it('in the dark colour scheme: chat, capture and a sticker preview', async () => {
    const { page } = alice;
    await page.emulateMedia({ colorScheme: 'dark' });
    try {
      await page.locator('[data-testid=preview][data-kind=sticker]').waitFor();
      await expectAccessible(page, 'dark: chat and capture');
    } finally {
      await page.emulateMedia({ colorScheme: 'light' });
    }
  });

  describe('on the phone layout (390×844)', () => {
    it('the conversation list', async () => {
      const { page } = bob;
      await page.setViewportSize({ width: 390, height: 844 });
      await page.getByRole('button', { name: 'Back to chats' }).click();
      await page.getByTestId('conversation').first().waitFor();
      await expectAccessible(page, 'phone: conversations');
    });

    it('a conversation', async () => {
      const { page } = bob;
      await page.getByTestId('conversation').first().click();
      await page.getByTestId('composer').waitFor();
      await expectAccessible(page, 'phone: chat');
    });

    it('the video tab with a still made', async () => {
      const { page } = bob;
      await page.getByRole('button', { name: 'Video', exact: true }).click();
      await openVideo(bob, fixtures.vp9);
      await blur(page);
      await page.keyboard.press('s');
      await page.locator('[data-testid=preview][data-kind=still]').waitFor();
      await expectAccessible(page, 'phone: video');
      await page.getByTestId('preview').getByRole('button', { name: 'Discard' }).click();
      await page.getByRole('button', { name: 'Chat', exact: true }).click();
      await page.setViewportSize({ width: 1400, height: 900 });
    });
  });
});

describe('the keyboard alone', { timeout: 120_000 }, () => {
  it('reaches the composer with a visible focus on every stop, and sends; bob hears it', async () => {
    const { page } = alice;
    // Start from the top of the page, as after a click on the title.
    await page.locator('h1').click();
    const path = await tabTo(page, (f) => f.testid === 'composer', 150);
    const unseen = path.filter((f) => !f.visible);
    expect(unseen, 'focus stops without a visible focus').toEqual([]);
    await page.keyboard.type('typed without a mouse');
    await page.keyboard.press('Enter');
    await bob.page
      .locator('[data-testid=messages] .text', { hasText: 'typed without a mouse' })
      .waitFor();
    // Bob's screen reader says it once, politely, with who wrote it.
    await expect
      .poll(() => bob.page.getByTestId('message-announcer').textContent())
      .toBe('alice: typed without a mouse');
    expect(await bob.page.getByTestId('message-announcer').getAttribute('aria-live')).toBe(
      'polite',
    );
  });

  it('steps frames with the player buttons and makes a still with Enter, then Space', async () => {
    const { page } = alice;
    await openVideo(alice, fixtures.h264film);
    await page.getByRole('button', { name: 'Still', exact: true }).click();
    await page.locator('h1').click();
    // The frame buttons have names and are on the Tab path; each press shows one frame on.
    const next = await tabTo(page, (f) => f.name === 'Next frame', 200);
    expect(next.at(-1)!.visible).toBe(true);
    for (let i = 0; i < 2; i++) await page.keyboard.press('Enter');
    // Back to the capture button (after the player, in the capture toolbar).
    const still = await tabTo(page, (f) => f.name.startsWith('Capture frame'), 20);
    expect(still.at(-1)!.visible).toBe(true);
    const status = page.getByTestId('capture-status');
    expect(await status.getAttribute('aria-live')).toBe('polite');
    await page.keyboard.press('Enter');
    const preview = page.locator('[data-testid=preview][data-kind=still]');
    await preview.waitFor();
    const px = await imagePixels(page, '[data-testid=preview] img');
    expect(readFrameNumber(px.data, px.width, px.height)).toBe(2);
    await expect.poll(() => status.textContent()).toMatch(/^Still ready: 320×240, /);
    await page.getByTestId('preview').getByRole('button', { name: 'Discard' }).click();
    await preview.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: /^Capture frame/ }).focus();
    await page.keyboard.press(' ');
    await preview.waitFor();
    await page.getByTestId('preview').getByRole('button', { name: 'Discard' }).click();
  });

  it('marks a sticker with Start and End, trims the end with the arrow keys, makes it', async () => {
    const { page } = alice;
    const sticker = page.getByRole('button', { name: 'Sticker', exact: true });
    await sticker.focus();
    await page.keyboard.press(' ');
    expect(await sticker.getAttribute('aria-pressed')).toBe('true');
    const start = await tabTo(page, (f) => f.name.startsWith('Start'), 5);
    expect(start.at(-1)!.visible).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByTestId('range').waitFor();
    const end = page.getByRole('slider', { name: 'Sticker end' });
    const before = Number(await end.getAttribute('aria-valuenow'));
    // The handles are on the Tab path: from End, Make sticker, then the start and end handles.
    await tabTo(page, (f) => f.name === 'Sticker end', 10);
    expect((await focused(page)).visible).toBe(true);
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft');
    await expect
      .poll(async () => Number(await end.getAttribute('aria-valuenow')))
      .toBeCloseTo(before - 3 / FILM_FPS, 6);
    await page.getByRole('button', { name: /^Make sticker/ }).focus();
    await page.keyboard.press('Enter');
    const status = page.getByTestId('capture-status');
    await page.locator('[data-testid=preview][data-kind=sticker]').waitFor({ timeout: 30_000 });
    await expect.poll(() => status.textContent()).toMatch(/^Sticker ready: \d+ frames, /);
  });
});

/** Where the focus is, said against the open modal dialog: `out: TAG` when not in it. */
function focusInDialog(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    const dialog = document.querySelector('dialog[open]');
    if (!el || !dialog?.contains(el)) return `out: ${el?.tagName ?? 'none'}`;
    // Its place in the dialog tells two controls of the same name apart.
    const at = [...dialog.querySelectorAll('*')].indexOf(el);
    const name =
      el.getAttribute('aria-label') ??
      (el as HTMLInputElement).labels?.[0]?.textContent ??
      el.textContent ??
      '';
    return `#${at} ${name.trim()}`;
  });
}

/**
 * Presses Tab in the open dialog until the first stop comes round again, checking after
 * every press that the focus is still in the dialog; returns the stops of one round.
 */
async function tabRound(page: Page, limit = 80): Promise<string[]> {
  const stops: string[] = [];
  for (let i = 1; i <= limit; i++) {
    await page.keyboard.press('Tab');
    const at = await focusInDialog(page);
    expect(at, `after Tab ×${i} (stops so far: ${stops.join(' | ')})`).toMatch(/^#/);
    if (at === stops[0]) return stops;
    stops.push(at);
  }
  throw new Error(`Tab ×${limit} never came back to the first stop: ${stops.join(' | ')}`);
}

/** The name part of a stop `tabRound` returns. */
const nameOf = (stop: string | undefined) => stop?.replace(/^#\d+ /, '');

/**
 * One dialog's keyboard contract from its open: focus starts in it (on `start`), Tab goes
 * round inside, from its `last` control on to its `first`, and Shift+Tab the other way
 * round, stop by stop.
 */
async function expectKeyboardKept(
  page: Page,
  { start, first, last }: { start: string; first: string; last: string },
): Promise<void> {
  expect(nameOf(await focusInDialog(page))).toBe(start);
  const round = await tabRound(page);
  const names = round.map(nameOf);
  const end = names.lastIndexOf(last);
  expect(end, `“${last}” among the stops ${names.join(' | ')}`).toBeGreaterThanOrEqual(0);
  expect(names[(end + 1) % names.length]).toBe(first);
  // The focus is on the round's first stop again: Shift+Tab walks the round backwards.
  for (let k = 1; k <= round.length; k++) {
    await page.keyboard.press('Shift+Tab');
    expect(await focusInDialog(page), `after Shift+Tab ×${k}`).toBe(
      round[(round.length - k) % round.length],
    );
  }
}

/** Whether the element `opener` points at has the focus. */
const hasFocus = (opener: Locator) => opener.evaluate((el) => el === document.activeElement);

describe('dialogs keep the keyboard', { timeout: 120_000 }, () => {
  it('settings: focus on its title, Tab stays inside, Esc closes, focus back on its button', async () => {
    const { page } = alice;
    const opener = page.getByTestId('open-settings');
    await opener.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('settings').waitFor();
    await expectKeyboardKept(page, { start: 'Capture settings', first: 'Close', last: 'Save' });
    // Keys pressed in the dialog are not the page's capture keys: no still from an S here.
    const stills = await page.locator('[data-testid=preview]').count();
    await page.keyboard.press('s');
    await page.waitForTimeout(300);
    expect(await page.locator('[data-testid=preview]').count()).toBe(stills);
    await page.keyboard.press('Escape');
    await page.getByTestId('settings').waitFor({ state: 'detached' });
    expect(await hasFocus(opener)).toBe(true);
  });

  it('the full-size viewer: focus on Close, Tab stays on it, Esc closes, focus back on the picture', async () => {
    const { page } = alice;
    // The sticker made from the keyboard above, sent.
    await page.getByTestId('preview').getByRole('button', { name: 'Send' }).click();
    const opener = page
      .locator('[data-testid=messages] [data-kind=sticker] [data-testid=open-viewer]')
      .last();
    await opener.waitFor({ timeout: 30_000 });
    await opener.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('viewer').waitFor();
    await expectKeyboardKept(page, { start: 'Close', first: 'Close', last: 'Close' });
    await expectAccessible(page, 'viewer');
    await page.keyboard.press('Escape');
    await page.getByTestId('viewer').waitFor({ state: 'detached' });
    expect(await hasFocus(opener)).toBe(true);
  });

  it('the sticker library: focus on its search, Esc closes it, focus back on its button', async () => {
    const { page } = alice;
    const opener = page.getByRole('button', { name: 'Sticker library' });
    await opener.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('library-item').first().waitFor();
    expect((await focused(page)).name).toBe('Search stickers by tag');
    // Tab goes on into the library, to the first sticker (not a modal: no trap here).
    await page.keyboard.press('Tab');
    expect(await hasFocus(page.locator('[data-testid=library-item] .tile-send').first())).toBe(
      true,
    );
    await page.keyboard.press('Escape');
    await page.getByTestId('library').waitFor({ state: 'detached' });
    expect(await hasFocus(opener)).toBe(true);
    expect(await opener.getAttribute('aria-pressed')).toBe('false');
  });
});
