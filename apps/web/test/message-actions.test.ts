/**
 * Replies, reactions, edits and deletes in real Chromium, two people against a real
 * server: each is seen live by the other and again after the other reloads, and changes
 * made while the other's socket is down arrive by `sync` once it is back. The menu is
 * driven from the keyboard where a person could; buttons are found by their labels.
 * Frames that do not fit the protocol are ignored without breaking the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { openFirstConversation, startApp, stopApp, type Person, type TestServer } from './harness';

let server: TestServer;
let browser: Browser;
let rita: Person;
let sam: Person;
/** Sam's socket through the test (once asked for; the page is reloaded to route it). */
let samTap: Tap | null = null;
async function samsTap(): Promise<Tap> {
  if (!samTap) {
    samTap = await Tap.on(sam);
    await reload(sam);
  }
  return samTap;
}

type Frame = { type: string; [k: string]: unknown };

/**
 * A person's `/ws` through the test: logs frames to the page, can cut it and keep it down, can push
 * frames at the page.
 */
class Tap {
  log: { socket: number; dir: 'in' | 'out'; frame: Frame }[] = [];
  route: WebSocketRoute | null = null;
  server: WebSocketRoute | null = null;
  sockets = 0;
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
    this.route = ws;
    const server = ws.connectToServer();
    this.server = server;
    server.onMessage((raw) => {
      this.log.push({ socket, dir: 'in', frame: JSON.parse(String(raw)) as Frame });
      ws.send(raw);
    });
    ws.onMessage((raw) => {
      this.log.push({ socket, dir: 'out', frame: JSON.parse(String(raw)) as Frame });
      server.send(raw);
    });
  }
  async cut(): Promise<void> {
    this.down = true;
    await this.server?.close();
    await this.route?.close({ code: 4000, reason: 'cut' });
  }
}

const sent = (p: Person) =>
  p.page.locator('[data-testid=messages] [data-testid=message][data-state=sent]');
const msg = (p: Person, text: string) =>
  sent(p).filter({ has: p.page.locator('.text', { hasText: text }) });
const connected = (p: Person) =>
  p.page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();

async function say(p: Person, text: string): Promise<void> {
  await p.page.getByTestId('composer').fill(text);
  await p.page.getByTestId('composer').press('Enter');
  await msg(p, text.split('\n')[0]!).waitFor();
}

/** Opens a message's actions menu from the keyboard and picks `item`. */
async function menu(p: Person, text: string, item: string): Promise<void> {
  const m = msg(p, text);
  await m.getByRole('button', { name: 'Message actions' }).focus();
  await p.page.keyboard.press('Enter');
  const items = p.page.getByRole('menu', { name: 'Message actions' }).getByRole('menuitem');
  await items.first().waitFor();
  const names = await items.allTextContents();
  const at = names.indexOf(item);
  if (at < 0) throw new Error(`no menu item ${item}; the menu has ${names.join(', ')}`);
  for (let i = 0; i < at; i++) await p.page.keyboard.press('ArrowDown');
  await expect.poll(() => p.page.evaluate(() => document.activeElement?.textContent)).toBe(item);
  await p.page.keyboard.press('Enter');
}

async function reload(p: Person): Promise<void> {
  await p.page.reload();
  await connected(p);
  await p.page
    .locator('.chat-title')
    .waitFor()
    .catch(() => openFirstConversation(p));
}

/** Texts (or "message deleted") of the sent messages, in the order shown. */
const shown = (p: Person) =>
  sent(p).evaluateAll((els) => els.map((e) => e.querySelector('.text')?.textContent ?? ''));

/** Posts `n` messages over REST from `page` (filler to scroll past). */
async function postMany(page: Page, prefix: string, n: number): Promise<void> {
  await page.evaluate(
    async ({ prefix, n }) => {
      const csrf = decodeURIComponent(/clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '');
      const list = await (await fetch('/api/conversations')).json();
      const id = (list.conversations ?? list)[0].id;
      for (let i = 1; i <= n; i++) {
        const r = await fetch(`/api/conversations/${id}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
          body: JSON.stringify({
            clientId: `${prefix}-${i}`,
            kind: 'text',
            text: `${prefix} ${i}`,
          }),
        });
        if (!r.ok) throw new Error(await r.text());
      }
    },
    { prefix, n },
  );
}

beforeAll(async () => {
  ({ server, browser, a: rita, b: sam } = await startApp('rita', 'sam'));
  await openFirstConversation(sam);
}, 120_000);

afterAll(async () => {
  if (process.env.CLIPCHAT_E2E_SHOTS) {
    await rita?.page.screenshot({ path: '/tmp/e2e-rita.png' }).catch(() => {});
    await sam?.page.screenshot({ path: '/tmp/e2e-sam.png' }).catch(() => {});
  }
  await stopApp({ server, browser });
});

describe('replies, reactions, edits, deletes', () => {
  it('replies to a message from the menu: the quote shows sender and first line, and leads to the original', async () => {
    await say(rita, 'the plan\nsecond line stays out of the quote');
    await msg(sam, 'the plan').waitFor();
    await postMany(rita.page, 'filler', 30);
    await expect.poll(() => msg(sam, 'filler 30').count(), { timeout: 10_000 }).toBe(1);

    // Sam answers from the keyboard; the composer shows what is quoted, with a cancel.
    await menu(sam, 'the plan', 'Reply');
    const preview = sam.page.getByTestId('reply-preview');
    await expect.poll(() => preview.textContent()).toContain('rita');
    expect(await preview.textContent()).toContain('the plan');
    expect(await preview.textContent()).not.toContain('second line');
    await expect
      .poll(() => sam.page.evaluate(() => document.activeElement?.getAttribute('data-testid')))
      .toBe('composer');
    expect(await sam.page.getByTestId('composer').inputValue()).toBe('');
    await sam.page.keyboard.type('sounds good');
    await sam.page.keyboard.press('Enter');
    await expect.poll(() => preview.count()).toBe(0);

    for (const p of [sam, rita]) {
      const quote = msg(p, 'sounds good').getByTestId('quote');
      await expect.poll(() => quote.textContent(), { timeout: 10_000 }).toContain('the plan');
      expect(await quote.textContent()).toContain('rita');
      expect(await quote.textContent()).not.toContain('second line');
    }

    // Clicking the quote brings the original into view and highlights it.
    const original = msg(rita, 'the plan');
    const inView = () =>
      original.evaluate((el) => {
        const box = el.closest('[data-testid=messages]')!.getBoundingClientRect(),
          r = el.getBoundingClientRect();
        return r.bottom > box.top && r.top < box.bottom;
      });
    expect(await inView()).toBe(false);
    await msg(rita, 'sounds good')
      .getByRole('button', { name: /Show the original message/ })
      .click();
    await expect.poll(() => original.getAttribute('class')).toContain('highlight');
    await expect.poll(inView).toBe(true);
    await expect
      .poll(() => original.getAttribute('class'), { timeout: 5000 })
      .not.toContain('highlight');

    // A reply started and cancelled sends a plain message.
    await menu(rita, 'sounds good', 'Reply');
    await rita.page.getByRole('button', { name: 'Cancel reply' }).click();
    await say(rita, 'not an answer');
    expect(await msg(rita, 'not an answer').getByTestId('quote').count()).toBe(0);

    // After a reload the quote is still there.
    await reload(sam);
    await expect
      .poll(() => msg(sam, 'sounds good').getByTestId('quote').textContent())
      .toContain('the plan');
  });

  it('swiping a message to the right on a touch screen starts a reply', async () => {
    await say(rita, 'swipe me');
    const target = msg(sam, 'swipe me');
    await expect.poll(() => target.count(), { timeout: 10_000 }).toBe(1);
    await target.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const at = (x: number) =>
        new Touch({ identifier: 1, target: el, clientX: x, clientY: r.top + r.height / 2 });
      const fire = (type: string, x: number) =>
        el.dispatchEvent(
          new TouchEvent(type, {
            bubbles: true,
            cancelable: true,
            touches: type === 'touchend' ? [] : [at(x)],
            changedTouches: [at(x)],
          }),
        );
      fire('touchstart', r.left + 10);
      for (let x = 20; x <= 110; x += 15) fire('touchmove', r.left + x);
    });
    // Preact re-renders between the moves and the end.
    await sam.page.waitForTimeout(50);
    await target.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const t = new Touch({ identifier: 1, target: el, clientX: r.left + 110, clientY: r.top + 5 });
      el.dispatchEvent(
        new TouchEvent('touchend', {
          bubbles: true,
          cancelable: true,
          touches: [],
          changedTouches: [t],
        }),
      );
    });
    await expect
      .poll(() => sam.page.getByTestId('reply-preview').textContent())
      .toContain('swipe me');
    await sam.page.getByTestId('composer').press('Escape');
    await expect.poll(() => sam.page.getByTestId('reply-preview').count()).toBe(0);
  });

  it('reacts from the picker and toggles by a click; counts and who reacted show on both sides', async () => {
    const chip = (p: Person, emoji: string) =>
      msg(p, 'the plan').locator(`[data-testid=reaction][data-emoji="${emoji}"]`);
    // Sam picks 👍 from the small set, with the keyboard.
    await msg(sam, 'the plan').getByRole('button', { name: 'Add a reaction' }).click();
    const picker = sam.page.getByRole('dialog', { name: 'Pick a reaction' });
    await picker.waitFor();
    await expect
      .poll(() => sam.page.evaluate(() => document.activeElement?.getAttribute('aria-label')))
      .toBe('React with 👍');
    await sam.page.keyboard.press('Enter');
    await expect.poll(() => chip(rita, '👍').textContent(), { timeout: 10_000 }).toContain('1');
    expect(await chip(rita, '👍').getAttribute('title')).toContain('sam');
    expect(await chip(rita, '👍').getAttribute('aria-pressed')).toBe('false');
    expect(await chip(sam, '👍').getAttribute('aria-pressed')).toBe('true');

    // Rita adds hers by clicking the chip: two, both named.
    await chip(rita, '👍').click();
    await expect.poll(() => chip(sam, '👍').textContent(), { timeout: 10_000 }).toContain('2');
    expect(await chip(sam, '👍').getAttribute('title')).toMatch(/sam, rita/);
    await expect.poll(() => chip(rita, '👍').getAttribute('aria-pressed')).toBe('true');

    // Any single emoji; something else is refused in the picker.
    await msg(rita, 'the plan').getByRole('button', { name: 'Add a reaction' }).click();
    await rita.page.getByLabel('Any emoji').fill('ab');
    await rita.page.getByLabel('Any emoji').press('Enter');
    await expect
      .poll(() => rita.page.getByTestId('reaction-picker').getByRole('alert').textContent())
      .toContain('one emoji');
    await rita.page.getByLabel('Any emoji').fill('🦄');
    await rita.page.getByLabel('Any emoji').press('Enter');
    await expect.poll(() => chip(sam, '🦄').textContent(), { timeout: 10_000 }).toContain('1');
    expect(await msg(sam, 'the plan').locator('[data-testid=reaction]').count()).toBe(2);

    // Sam takes his 👍 back.
    await chip(sam, '👍').click();
    await expect.poll(() => chip(rita, '👍').textContent(), { timeout: 10_000 }).toContain('1');
    expect(await chip(rita, '👍').getAttribute('title')).not.toContain('sam');

    // After a reload: the same.
    await reload(sam);
    await expect.poll(() => chip(sam, '👍').textContent()).toContain('1');
    expect(await chip(sam, '👍').getAttribute('aria-pressed')).toBe('false');
    expect(await chip(sam, '🦄').getAttribute('title')).toContain('rita');
  });

  it('edits my own text message; the other sees the new text and "edited"', async () => {
    await say(rita, 'meet at 5');
    await msg(sam, 'meet at 5').waitFor();
    const order = await shown(sam);
    // Sam may not edit or delete rita's message.
    await msg(sam, 'meet at 5').getByRole('button', { name: 'Message actions' }).click();
    expect(await sam.page.getByRole('menu').getByRole('menuitem').allTextContents()).toEqual([
      'Reply',
      'React…',
    ]);
    await sam.page.keyboard.press('Escape');
    await expect.poll(() => sam.page.getByRole('menu').count()).toBe(0);

    await menu(rita, 'meet at 5', 'Edit');
    const box = rita.page.getByTestId('composer');
    await expect.poll(() => box.inputValue()).toBe('meet at 5');
    await rita.page.getByTestId('edit-preview').waitFor();
    await box.fill('meet at 6');
    await box.press('Enter');
    await expect.poll(() => rita.page.getByTestId('edit-preview').count()).toBe(0);
    await expect.poll(() => box.inputValue()).toBe('');

    for (const p of [sam, rita]) {
      await expect.poll(() => msg(p, 'meet at 6').count(), { timeout: 10_000 }).toBe(1);
      expect(await msg(p, 'meet at 6').getAttribute('data-edited')).toBe('true');
      expect(await msg(p, 'meet at 6').locator('.meta').textContent()).toContain('edited');
      expect(await msg(p, 'meet at 5').count()).toBe(0);
    }
    // In place: the same position in the list.
    expect(await shown(sam)).toEqual(order.map((t) => (t === 'meet at 5' ? 'meet at 6' : t)));

    await reload(sam);
    await expect.poll(() => msg(sam, 'meet at 6').getAttribute('data-edited')).toBe('true');
  });

  it('deletes my own message for everyone after a confirm; a tombstone stays in its place', async () => {
    await say(rita, 'oops, wrong chat');
    await say(sam, 'what was that?');
    await msg(rita, 'what was that?').waitFor();
    await menu(sam, 'oops, wrong chat', 'Reply');
    await expect
      .poll(() => sam.page.evaluate(() => document.activeElement?.getAttribute('data-testid')))
      .toBe('composer');
    await sam.page.keyboard.type('answering the oops');
    await sam.page.keyboard.press('Enter');
    await msg(rita, 'answering the oops').waitFor();
    const seq = await msg(sam, 'oops, wrong chat').getAttribute('data-seq');
    const before = await shown(sam);

    // Cancel first (the keyboard starts on Cancel): nothing happens, focus goes back to the menu button.
    await menu(rita, 'oops, wrong chat', 'Delete for everyone');
    const confirm = rita.page.getByRole('alertdialog', {
      name: 'Delete this message for everyone?',
    });
    await confirm.waitFor();
    await expect
      .poll(() => rita.page.evaluate(() => document.activeElement?.textContent))
      .toBe('Cancel');
    await rita.page.keyboard.press('Enter');
    await expect.poll(() => confirm.count()).toBe(0);
    await expect
      .poll(() => rita.page.evaluate(() => document.activeElement?.getAttribute('aria-label')))
      .toBe('Message actions');
    expect(await msg(rita, 'oops, wrong chat').count()).toBe(1);

    await menu(rita, 'oops, wrong chat', 'Delete for everyone');
    await confirm.getByRole('button', { name: 'Delete' }).click();
    for (const p of [sam, rita]) {
      const tomb = sent(p).and(p.page.locator(`[data-seq="${seq}"]`));
      await expect.poll(() => tomb.getAttribute('data-deleted'), { timeout: 10_000 }).toBe('true');
      expect(await tomb.locator('.text').textContent()).toBe('message deleted');
      expect(await tomb.getByRole('button', { name: 'Message actions' }).count()).toBe(0);
      expect(await msg(p, 'oops, wrong chat').count()).toBe(0);
      // The reply now quotes a deleted message.
      expect(await msg(p, 'answering the oops').getByTestId('quote').textContent()).toContain(
        'message deleted',
      );
    }
    expect(await shown(sam)).toEqual(
      before.map((t) => (t === 'oops, wrong chat' ? 'message deleted' : t)),
    );

    await reload(sam);
    const tomb = sent(sam).and(sam.page.locator(`[data-seq="${seq}"]`));
    await expect.poll(() => tomb.getAttribute('data-deleted')).toBe('true');
    expect(await shown(sam)).toEqual(
      before.map((t) => (t === 'oops, wrong chat' ? 'message deleted' : t)),
    );
  });

  it('applies changes made while my socket was down once it is back, by sync, in place', async () => {
    const tap = await samsTap();
    await say(rita, 'changed while sam is away');
    await say(rita, 'deleted while sam is away');
    await msg(sam, 'deleted while sam is away').waitFor();
    const before = await shown(sam);

    await tap.cut();
    await sam.page.getByTestId('connection').filter({ hasText: 'Offline' }).waitFor();
    await menu(rita, 'changed while sam is away', 'Edit');
    // The composer takes the message's text once edit mode has rendered; typing before that is overwritten.
    await expect
      .poll(() => rita.page.getByTestId('composer').inputValue())
      .toBe('changed while sam is away');
    await rita.page.getByTestId('composer').fill('changed while sam was away');
    await rita.page.getByTestId('composer').press('Enter');
    await msg(rita, 'changed while sam was away').waitFor();
    await msg(rita, 'changed while sam was away')
      .getByRole('button', { name: 'Add a reaction' })
      .click();
    await rita.page.getByRole('button', { name: 'React with 😂' }).click();
    await menu(rita, 'deleted while sam is away', 'Delete for everyone');
    await rita.page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => msg(rita, 'deleted while sam is away').count()).toBe(0);
    // Nothing reached sam meanwhile.
    expect(await msg(sam, 'changed while sam is away').count()).toBe(1);

    const socketsBefore = tap.sockets;
    tap.down = false;
    await connected(sam);
    await expect
      .poll(() => msg(sam, 'changed while sam was away').count(), { timeout: 15_000 })
      .toBe(1);
    await expect
      .poll(() => msg(sam, 'changed while sam was away').locator('[data-emoji="😂"]').count())
      .toBe(1);
    await expect.poll(() => msg(sam, 'deleted while sam is away').count()).toBe(0);
    expect(await shown(sam)).toEqual(
      before.map((t) =>
        t === 'changed while sam is away'
          ? 'changed while sam was away'
          : t === 'deleted while sam is away'
            ? 'message deleted'
            : t,
      ),
    );
    // Sam's sync asked for the changes after the change number he held (the last
    // `synced.revs` before the cut), and they came as `update` frames answering it.
    const sync = tap.log.find(
      (e) => e.socket > socketsBefore && e.dir === 'out' && e.frame.type === 'sync',
    )!.frame;
    const cid = Object.keys(sync.since as Record<string, number>)[0]!;
    const heldRevs = tap.log
      .filter((e) => e.socket <= socketsBefore && e.dir === 'in' && e.frame.type === 'synced')
      .map((e) => (e.frame.revs as Record<string, number>)[cid])
      .filter((r) => r !== undefined);
    const asked = (sync.changes as Record<string, number> | undefined)?.[cid];
    expect(typeof asked).toBe('number');
    if (heldRevs.length) expect(asked).toBe(Math.max(...heldRevs));
    const back = tap.log
      .filter((e) => e.socket > socketsBefore && e.dir === 'in')
      .map((e) => e.frame);
    const updates = back
      .filter((f) => f.type === 'update')
      .map((f) => f.message as { text: string | null; deletedAt: number | null });
    expect(updates.some((m) => m.text === 'changed while sam was away')).toBe(true);
    expect(updates.some((m) => m.deletedAt !== null)).toBe(true);
    expect(back.findIndex((f) => f.type === 'synced')).toBeGreaterThan(
      back.findIndex((f) => f.type === 'update'),
    );
  });

  it('logs and ignores frames that do not fit the protocol, and goes on working', async () => {
    const tap = await samsTap();
    // Whatever the test before left, sam's socket is let through again.
    if (tap.down) {
      tap.down = false;
      await connected(sam);
    }
    const warnings: string[] = [];
    sam.page.on('console', (m) => {
      if (m.type() === 'warning') warnings.push(m.text());
    });
    const errors: string[] = [];
    sam.page.on('pageerror', (e) => errors.push(e.message));
    await say(rita, 'target of junk');
    await expect.poll(() => msg(sam, 'target of junk').count(), { timeout: 10_000 }).toBe(1);
    const held = tap.log
      .filter((e) => e.dir === 'in' && e.frame.type === 'message')
      .map((e) => e.frame.message as Record<string, unknown>)
      .find((m) => m.text === 'target of junk')!;
    const route = tap.route!;
    route.send('not json');
    route.send(JSON.stringify({ type: 'teleport' }));
    route.send(JSON.stringify({ type: 'update', message: { id: held.id, text: 'forged' } }));
    route.send(
      JSON.stringify({
        type: 'update',
        message: { ...held, text: 'forged', rev: Number(held.rev) + 100, reactions: 'lots' },
      }),
    );
    route.send(
      JSON.stringify({
        type: 'message',
        message: { ...held, id: 'new', seq: 'one', text: 'forged' },
      }),
    );
    await expect
      .poll(() => warnings.filter((w) => w.includes('does not fit the protocol')).length)
      .toBe(5);
    expect(errors).toEqual([]);
    expect(await msg(sam, 'forged').count()).toBe(0);
    expect(await msg(sam, 'target of junk').count()).toBe(1);
    // A frame that fits is applied: the same forged update with its fields right.
    route.send(
      JSON.stringify({
        type: 'update',
        message: { ...held, text: 'fits the schema', rev: Number(held.rev) + 100 },
      }),
    );
    await expect.poll(() => msg(sam, 'fits the schema').count()).toBe(1);
    // The page goes on: live messages still arrive.
    await say(rita, 'after the junk');
    await expect.poll(() => msg(sam, 'after the junk').count(), { timeout: 10_000 }).toBe(1);
  });
});
