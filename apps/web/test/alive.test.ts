/**
 * A conversation that feels alive, in real Chromium against a real server: rita sees sam
 * typing (and stop), sees him online or when he was last, sees her messages go ✓ → ✓✓ →
 * ✓✓ read (in a group: read by everyone, with who read it on the tick), and sam's page
 * says plainly when its connection is gone — within about 2 s, also when the socket
 * just stops answering — and that queued messages wait for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocketRoute } from 'playwright-core';
import {
  openFirstConversation,
  signUp,
  startApp,
  startConversation,
  stopApp,
  type Person,
  type TestServer,
} from './harness';
import type { Browser } from 'playwright-core';

let server: TestServer;
let browser: Browser;
let rita: Person;
let sam: Person;
let tom: Person;
let samTap: Tap;

/**
 * Sam's `/ws` through the test: passes frames both ways; `silence()` stops the current socket dead
 * without closing it.
 */
class Tap {
  sockets = 0;
  /** Sockets whose frames are dropped both ways (a network that vanished). */
  readonly silenced = new Set<number>();
  current = 0;
  /** New sockets are refused (no network at all). */
  down = false;
  static async on(p: Person): Promise<Tap> {
    const tap = new Tap();
    await p.context.routeWebSocket(/\/ws$/, (ws) => tap.handle(ws));
    return tap;
  }
  private handle(ws: WebSocketRoute): void {
    if (this.down) {
      void ws.close({ code: 4000, reason: 'unreachable' });
      return;
    }
    const socket = ++this.sockets;
    this.current = socket;
    const server = ws.connectToServer();
    server.onMessage((raw) => {
      if (!this.silenced.has(socket)) ws.send(raw);
    });
    ws.onMessage((raw) => {
      if (!this.silenced.has(socket)) server.send(raw);
    });
  }
  silence(): void {
    this.silenced.add(this.current);
  }
}

const status = (p: Person) => p.page.getByTestId('chat-status');
const badge = (p: Person) => p.page.getByTestId('connection');
const bubble = (p: Person, text: string) =>
  p.page.locator('[data-testid=messages] [data-testid=message][data-state=sent]', {
    has: p.page.locator('.text', { hasText: text }),
  });
const receipt = (p: Person, text: string) => bubble(p, text).getByTestId('receipt');
const connected = (p: Person) => badge(p).filter({ hasText: 'Connected' }).waitFor();

async function say(p: Person, text: string): Promise<void> {
  await p.page.getByTestId('composer').fill(text);
  await p.page.getByTestId('composer').press('Enter');
  await bubble(p, text).waitFor();
}

const exact = (title: string) => new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
/** The conversation titled exactly `title` in the list. */
const conv = (p: Person, title: string) =>
  p.page
    .getByTestId('conversation')
    .filter({ has: p.page.locator('.conv-title', { hasText: exact(title) }) });
/** Opens the conversation titled `title` in the list. */
async function open(p: Person, title: string): Promise<void> {
  await conv(p, title).click();
  await p.page.locator('.conv.active .conv-title', { hasText: exact(title) }).waitFor();
  await p.page.locator('.chat-title').waitFor();
}

/** Records in the page when "… typing" last appeared and disappeared in the header (page clock). */
async function watchTyping(p: Person): Promise<void> {
  await p.page.evaluate(() => {
    const w = window as unknown as { typingOn?: number; typingOff?: number };
    let was = false;
    const look = () => {
      const now = !!document.querySelector('[data-testid=chat-status][data-typing=true]');
      if (now && !was) w.typingOn = Date.now();
      if (!now && was) w.typingOff = Date.now();
      was = now;
    };
    new MutationObserver(look).observe(document.body, {
      childList: true,
      characterData: true,
      subtree: true,
      attributes: true,
    });
    look();
  });
}
const typingTimes = (p: Person) =>
  p.page.evaluate(() => {
    const w = window as unknown as { typingOn?: number; typingOff?: number };
    return { on: w.typingOn ?? null, off: w.typingOff ?? null };
  });

/** The time (ms, page clock = this machine's clock) at which the badge first said `text` after now. */
async function watchBadge(p: Person, text: string): Promise<void> {
  await p.page.evaluate((text) => {
    const w = window as unknown as { badgeAt?: number };
    w.badgeAt = undefined;
    const el = document.querySelector('[data-testid=connection]')!;
    const seen = () => {
      if (w.badgeAt === undefined && el.textContent === text) {
        w.badgeAt = Date.now();
        obs.disconnect();
      }
    };
    const obs = new MutationObserver(seen);
    obs.observe(el, { childList: true, characterData: true, subtree: true });
    // The badge element may be replaced on re-render: watch the header too.
    new MutationObserver(() => {
      const now = document.querySelector('[data-testid=connection]');
      if (now?.textContent === text && w.badgeAt === undefined) w.badgeAt = Date.now();
    }).observe(document.querySelector('.topbar')!, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  }, text);
}
const badgeAt = (p: Person) =>
  p.page.evaluate(() => (window as unknown as { badgeAt?: number }).badgeAt ?? null);

beforeAll(async () => {
  ({ server, browser, a: rita, b: sam } = await startApp('rita', 'sam'));
  tom = await signUp(browser, server.url, 'tom');
  samTap = await Tap.on(sam);
  await sam.page.reload();
  await connected(sam);
  await openFirstConversation(sam);
}, 120_000);

afterAll(async () => {
  if (process.env.CLIPCHAT_E2E_SHOTS) {
    await rita?.page.screenshot({ path: '/tmp/e2e-alive-rita.png' }).catch(() => {});
    await sam?.page.screenshot({ path: '/tmp/e2e-alive-sam.png' }).catch(() => {});
  }
  await stopApp({ server, browser });
});

describe('typing, presence, receipts, connection', () => {
  it('shows "rita is typing…" to sam, drops it 5 s after the last frame, and at once when her message arrives', async () => {
    await watchTyping(sam);
    await rita.page.getByTestId('composer').click();
    await rita.page.keyboard.type('hel');
    await status(sam).filter({ hasText: 'rita is typing…' }).waitFor();
    expect(await status(rita).textContent()).not.toContain('typing'); // never my own
    // Nothing more is typed: gone TYPING_SHOW_MS (5 s) after the frame arrived, not before.
    await expect
      .poll(() => status(sam).getAttribute('data-typing'), { timeout: 15_000 })
      .toBeNull();
    const t = await typingTimes(sam);
    const shownFor = t.off! - t.on!;
    console.log(`typing shown for ${shownFor} ms`);
    expect(shownFor).toBeGreaterThanOrEqual(4500); // the render of its start may lag the frame a little

    // Typing again (3 s after the first frame, so a new one goes out), then sending: gone as the message shows.
    await rita.page.keyboard.type('lo there');
    await status(sam).filter({ hasText: 'rita is typing…' }).waitFor();
    await rita.page.keyboard.press('Enter');
    await bubble(sam, 'hello there').waitFor();
    expect(await status(sam).getAttribute('data-typing')).toBeNull();
    expect(await status(sam).textContent()).toBe('online');
  });

  it('the header says online, then "last seen" when sam closes his page, and online when he is back', async () => {
    await expect.poll(() => status(rita).textContent(), { timeout: 10_000 }).toBe('online');
    const url = sam.page.url();
    await sam.page.goto('about:blank');
    await expect
      .poll(() => status(rita).textContent(), { timeout: 10_000 })
      .toMatch(/^last seen \d{1,2}:\d{2}/);
    // The list read after a reload says the same.
    await rita.page.reload();
    await connected(rita);
    await rita.page
      .locator('.chat-title')
      .waitFor()
      .catch(() => openFirstConversation(rita));
    expect(await status(rita).textContent()).toMatch(/^last seen \d{1,2}:\d{2}/);
    await sam.page.goto(url);
    await connected(sam);
    await expect.poll(() => status(rita).textContent(), { timeout: 10_000 }).toBe('online');
  });

  it('my messages go ✓ sent (no device of sam has it), ✓✓ delivered (his page got it), ✓✓ read (he opened it)', async () => {
    // Sam keeps another conversation open, so rita's messages reach him without being read.
    await startConversation(sam, 'tom');
    const url = sam.page.url();
    await sam.page.goto('about:blank');
    await expect.poll(() => status(rita).textContent(), { timeout: 10_000 }).toMatch(/^last seen/);
    await say(rita, 'are you there?');
    expect(await receipt(rita, 'are you there?').getAttribute('data-receipt')).toBe('sent');
    expect(await receipt(rita, 'are you there?').getAttribute('title')).toBe('Sent');
    expect(await receipt(rita, 'are you there?').textContent()).toBe(' ✓');

    await sam.page.goto(url);
    await connected(sam);
    await sam.page.locator('.chat-title').filter({ hasText: 'tom' }).waitFor();
    await expect
      .poll(() => receipt(rita, 'are you there?').getAttribute('data-receipt'), { timeout: 10_000 })
      .toBe('delivered');
    expect(await receipt(rita, 'are you there?').textContent()).toBe(' ✓✓');
    // Delivered, not read: sam's list still counts it unread.
    expect(await conv(sam, 'rita').getByTestId('unread').textContent()).toBe('1');
    // The older message, read before, stays read.
    expect(await receipt(rita, 'hello there').getAttribute('data-receipt')).toBe('read');

    await open(sam, 'rita');
    await expect
      .poll(() => receipt(rita, 'are you there?').getAttribute('data-receipt'), { timeout: 10_000 })
      .toBe('read');
    expect(await receipt(rita, 'are you there?').getAttribute('title')).toBe('Read');
    // And after rita reloads, from the list alone.
    await rita.page.reload();
    await connected(rita);
    await rita.page
      .locator('.chat-title')
      .waitFor()
      .catch(() => openFirstConversation(rita));
    await expect
      .poll(() => receipt(rita, 'are you there?').getAttribute('data-receipt'), { timeout: 10_000 })
      .toBe('read');
  });

  it('in a group: "3 members, n online", names of who types, read only when everyone read, and who read it on the tick', async () => {
    await rita.page.getByRole('button', { name: 'New conversation' }).click();
    await rita.page.getByLabel('Usernames').fill('sam, tom');
    await rita.page.getByRole('button', { name: 'Start' }).click();
    await rita.page.locator('.conv.active .conv-title', { hasText: exact('sam, tom') }).waitFor();
    await expect
      .poll(() => status(rita).textContent(), { timeout: 10_000 })
      .toBe('3 members, 2 online');
    // Tom keeps his conversation with sam open: the group's messages reach him unread.
    await open(tom, 'sam');
    await say(rita, 'film night?');
    const tick = receipt(rita, 'film night?');
    await expect
      .poll(() => tick.getAttribute('data-receipt'), { timeout: 10_000 })
      .toBe('delivered');

    await expect.poll(() => conv(sam, 'rita, tom').count(), { timeout: 10_000 }).toBe(1);
    await open(sam, 'rita, tom');
    await bubble(sam, 'film night?').waitFor();
    await expect
      .poll(() => tick.getAttribute('title'), { timeout: 10_000 })
      .toBe('Read by sam · Delivered to tom');
    expect(await tick.getAttribute('data-receipt')).toBe('delivered'); // not everyone read it

    // Tom opens it: read by everyone; a click on the tick (or a long press) says who.
    await open(tom, 'rita, sam');
    await bubble(tom, 'film night?').waitFor();
    await expect.poll(() => tick.getAttribute('data-receipt'), { timeout: 10_000 }).toBe('read');
    expect(await tick.getAttribute('title')).toBe('Read by sam, tom');
    await tick.click();
    expect(await tick.getByTestId('receipt-detail').textContent()).toBe('Read by sam, tom');
    await tick.click();
    expect(await tick.getByTestId('receipt-detail').count()).toBe(0);
    // A long press on a touch screen shows it too, and lifting the finger keeps it open.
    await tick.dispatchEvent('touchstart');
    await tick.getByTestId('receipt-detail').waitFor();
    await tick.dispatchEvent('touchend');
    await tick.dispatchEvent('click');
    expect(await tick.getByTestId('receipt-detail').textContent()).toBe('Read by sam, tom');

    // Both type: rita sees their names.
    await sam.page.getByTestId('composer').click();
    await sam.page.keyboard.type('yes');
    await tom.page.getByTestId('composer').click();
    await tom.page.keyboard.type('sure');
    await expect
      .poll(() => status(rita).textContent(), { timeout: 10_000 })
      .toMatch(/^(sam and tom|tom and sam) are typing…$/);
    for (const p of [sam, tom]) {
      await p.page.getByTestId('composer').fill('');
    }
  });

  it('says "Reconnecting…" within about 2 s when the socket stops answering; queued messages wait for the connection', async () => {
    await open(sam, 'rita');
    await open(rita, 'sam');
    await connected(sam);
    await watchBadge(sam, 'Reconnecting…');
    const cutAt = Date.now();
    samTap.silence();
    await badge(sam).filter({ hasText: 'Reconnecting…' }).waitFor();
    const took = (await badgeAt(sam))! - cutAt;
    console.log(`socket silenced → "Reconnecting…" in ${took} ms`);
    // 2 s by design (ping every 750 ms, 1 s for its pong); 1 s more for timers late on a loaded machine.
    expect(took).toBeLessThan(3000);

    await sam.page.getByTestId('composer').fill('sent while cut off');
    await sam.page.getByTestId('composer').press('Enter');
    const pending = sam.page.locator('[data-testid=message][data-state=sending]', {
      hasText: 'sent while cut off',
    });
    await pending.getByText('Waiting for connection').waitFor();
    // The silent socket is given up and a new one opened: the message goes out once.
    await connected(sam);
    await bubble(rita, 'sent while cut off').waitFor();
    await expect.poll(() => pending.count(), { timeout: 10_000 }).toBe(0);
    expect(await bubble(sam, 'sent while cut off').count()).toBe(1);
    expect(samTap.sockets).toBeGreaterThanOrEqual(2);
  });

  it('says "Offline" at once when the browser loses the network, and sends what waited when it is back', async () => {
    await connected(sam);
    await watchBadge(sam, 'Offline');
    const at = Date.now();
    // No network: the open socket hears nothing more and new ones cannot connect.
    samTap.down = true;
    samTap.silence();
    await sam.context.setOffline(true);
    await badge(sam).filter({ hasText: 'Offline' }).waitFor();
    const took = (await badgeAt(sam))! - at;
    console.log(`network offline → "Offline" in ${took} ms`);
    expect(took).toBeLessThan(2000);
    await sam.page.getByTestId('composer').fill('typed on the train');
    await sam.page.getByTestId('composer').press('Enter');
    const pending = sam.page.locator('[data-testid=message][data-state=sending]', {
      hasText: 'typed on the train',
    });
    await pending.getByText('Waiting for connection').waitFor();
    samTap.down = false;
    await sam.context.setOffline(false);
    await connected(sam);
    await bubble(rita, 'typed on the train').waitFor();
    await expect.poll(() => pending.count(), { timeout: 10_000 }).toBe(0);
  });
});
