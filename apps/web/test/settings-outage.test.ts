/**
 * Settings that follow the user, and the errors a person must be told about: a file that
 * is not a video, and a server that goes away while they type (the message waits in the
 * outbox and is delivered once, when the server is back). Then delivery through a
 * WebSocket the test sits in the middle of: a live message that never arrives, the
 * server's `resync`, and an outbox resent in order once the session is ready; and a resync
 * of more than one sync page, which the app follows page by page to the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, WebSocketRoute } from 'playwright-core';
import { existsSync } from 'node:fs';
import { BIG_BUCK_BUNNY, ensureFixtures } from '../../../packages/capture/test/helpers';
import {
  blur,
  openFirstConversation,
  openVideo,
  seek,
  startApp,
  stopApp,
  type TestServer,
  type Person,
} from './harness';

let server: TestServer;
let browser: Browser;
let fixtures: Awaited<ReturnType<typeof ensureFixtures>>;
let alice: Person;
let bob: Person;

type Frame = { type: string; [k: string]: unknown };
/**
 * Puts a person's WebSocket (`/ws`) through the test: records every frame both ways
 * (`in`: to the page), and can drop a live message, delay `hello`, swallow a `send` and
 * cut the connection, or refuse connections as if the server were unreachable.
 */
class Tap {
  log: { socket: number; dir: 'in' | 'out'; frame: Frame }[] = [];
  /** The page side of the newest socket (to push frames at the page). */
  route: WebSocketRoute | null = null;
  sockets = 0;
  /** Texts whose first live `message` frame is dropped. */
  readonly drop = new Set<string>();
  /** Texts whose first `send` never reaches the server; the socket is then cut. */
  readonly swallow = new Set<string>();
  helloDelayMs = 0;
  down = false;

  /** One tap per person: a second route on the same context would never see a socket. */
  private static readonly taps = new Map<string, Tap>();

  static async on(p: Person): Promise<Tap> {
    const held = Tap.taps.get(p.name);
    if (held) return held;
    const tap = new Tap();
    Tap.taps.set(p.name, tap);
    await p.context.routeWebSocket(/\/ws$/, (ws) => tap.handle(ws));
    return tap;
  }

  frames(dir: 'in' | 'out', type: string, socket?: number): Frame[] {
    return this.log
      .filter(
        (e) =>
          e.dir === dir && e.frame.type === type && (socket === undefined || e.socket === socket),
      )
      .map((e) => e.frame);
  }

  private handle(ws: WebSocketRoute): void {
    if (this.down) {
      void ws.close({ code: 4000, reason: 'unreachable' });
      return;
    }
    const socket = ++this.sockets;
    this.route = ws;
    const server = ws.connectToServer();
    server.onMessage((raw) => {
      const frame = JSON.parse(String(raw)) as Frame;
      if (
        frame.type === 'message' &&
        this.drop.delete(String((frame.message as { text?: string }).text))
      )
        return;
      const forward = () => {
        this.log.push({ socket, dir: 'in', frame });
        ws.send(raw);
      };
      if (frame.type === 'hello' && this.helloDelayMs) setTimeout(forward, this.helloDelayMs);
      else forward();
    });
    ws.onMessage((raw) => {
      const frame = JSON.parse(String(raw)) as Frame;
      this.log.push({ socket, dir: 'out', frame });
      if (frame.type === 'send' && this.swallow.delete(String(frame.text))) {
        void server.close();
        void ws.close({ code: 4000, reason: 'cut' });
        return;
      }
      server.send(raw);
    });
  }
}

beforeAll(async () => {
  fixtures = await ensureFixtures();
  ({ server, browser, a: alice, b: bob } = await startApp('alice', 'bob'));
}, 120_000);

afterAll(async () => {
  await stopApp({ server, browser });
});

describe('settings and errors', () => {
  it('counts unread messages and pages back through history', async () => {
    // Sixty messages from alice while bob looks elsewhere.
    await alice.page.evaluate(async () => {
      const csrf = decodeURIComponent(/clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '');
      const list = await (await fetch('/api/conversations')).json();
      const id = (list.conversations ?? list)[0].id;
      for (let i = 1; i <= 60; i++) {
        const r = await fetch(`/api/conversations/${id}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
          body: JSON.stringify({ clientId: `history-${i}`, kind: 'text', text: `history ${i}` }),
        });
        if (!r.ok) throw new Error(await r.text());
      }
    });
    await bob.page.reload();
    await expect
      .poll(() => bob.page.getByTestId('unread').textContent(), { timeout: 10_000 })
      .toBe('60');
    await openFirstConversation(bob);
    await expect.poll(() => bob.page.getByTestId('unread').count()).toBe(0);
    const texts = bob.page.locator('[data-testid=messages] .text');
    await expect.poll(() => texts.last().textContent()).toBe('history 60');
    expect(await texts.count()).toBeLessThan(60);
    await bob.page.getByTestId('messages').evaluate((el) => {
      el.scrollTop = 0;
      el.dispatchEvent(new Event('scroll'));
    });
    await expect.poll(() => texts.count(), { timeout: 10_000 }).toBe(60);
    expect(await texts.first().textContent()).toBe('history 1');
  });

  it('validates settings at the field, keeps them across a reload, and uses them for the next capture', async () => {
    const { page } = alice;
    await page.getByTestId('open-settings').click();
    const panel = page.getByTestId('settings');
    await panel.getByLabel('Largest side').fill('10');
    await panel.getByRole('button', { name: 'Save' }).click();
    if (process.env.CLIPCHAT_E2E_SHOTS) await page.screenshot({ path: '/tmp/e2e-settings.png' });
    await expect
      .poll(() => panel.getByTestId('error-maxSide').textContent())
      .toBe('Largest side must be 64–1920 px, got 10');

    await panel.getByLabel('Largest side').fill('320');
    await panel.getByLabel('Still format').selectOption('jpeg');
    await panel.getByRole('button', { name: 'Save' }).click();
    await panel.getByText('Saved.', { exact: false }).waitFor();

    await page.reload();
    await page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
    await page.getByTestId('open-settings').click();
    expect(await page.getByTestId('settings').getByLabel('Still format').inputValue()).toBe('jpeg');
    expect(await page.getByTestId('settings').getByLabel('Largest side').inputValue()).toBe('320');
    await page.getByTestId('settings').getByRole('button', { name: 'Close' }).first().click();

    await openVideo(alice, fixtures.vp9);
    await page.locator('.stage').dblclick();
    const preview = page.getByTestId('preview');
    await preview.waitFor();
    expect(await preview.getAttribute('data-mime')).toBe('image/jpeg');
    await preview.getByRole('button', { name: 'Discard' }).click();

    // A rectangle dragged on the video crops the next capture to it.
    const box = (await page.locator('.stage').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.7, { steps: 5 });
    await page.mouse.up();
    const crop = /Crop (\d+)×(\d+)/.exec(String(await page.locator('.crop-note').textContent()))!;
    expect(Number(crop[1])).toBeLessThan(320);
    await page.keyboard.press('s');
    await preview.waitFor();
    await expect
      .poll(() => preview.locator('.facts').textContent())
      .toContain(`${crop[1]}×${crop[2]}`);

    // An upload the server refuses is said in the page; the capture stays, ready to retry.
    await page.route('**/api/media', (route) =>
      route.fulfill({
        status: 415,
        contentType: 'application/json',
        body: JSON.stringify({
          error: { code: 'ERR_UNSUPPORTED_MEDIA', message: 'not an image this server accepts' },
        }),
      }),
    );
    await preview.getByRole('button', { name: 'Send' }).click();
    const failed = page.locator('[data-testid=message][data-state=failed]');
    await expect
      .poll(() => failed.textContent())
      .toContain('Upload refused: not an image this server accepts');
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('Upload refused');
    await page.unroute('**/api/media');
    await failed.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => failed.count(), { timeout: 10_000 }).toBe(0);
    await expect
      .poll(() => page.locator('[data-testid=message][data-kind=still][data-state=sent]').count())
      .toBe(1);
    await page.getByRole('button', { name: 'Clear crop' }).click();

    // WebM (WebCodecs VP9) and animated WebP stickers, each under a tight budget.
    for (const [format, mime, budget] of [
      ['webm', 'video/webm', 40_000],
      ['webp', 'image/webp', 60_000],
    ] as const) {
      await page.getByTestId('open-settings').click();
      const panel = page.getByTestId('settings');
      await panel.getByLabel('Sticker format').selectOption(format);
      await panel.getByLabel('Sticker size limit').fill(String(budget));
      await panel.getByRole('button', { name: 'Save' }).click();
      await panel.getByText('Saved.', { exact: false }).waitFor();
      await panel.getByRole('button', { name: 'Close' }).first().click();
      await page.getByRole('button', { name: 'Sticker', exact: true }).click();
      await blur(page);
      await seek(alice, 0.5);
      await page.keyboard.press('i');
      await seek(alice, 1.5);
      await page.keyboard.press('o');
      await page.keyboard.press('Enter');
      await page
        .locator(`[data-testid=preview][data-mime="${mime}"], [data-testid=capture-error]`)
        .first()
        .waitFor({ timeout: 15_000 })
        .catch(async (e) => {
          if (process.env.CLIPCHAT_E2E_SHOTS)
            await page.screenshot({ path: '/tmp/e2e-sticker.png' });
          throw e;
        });
      if (await page.getByTestId('capture-error').count())
        throw new Error(String(await page.getByTestId('capture-error').textContent()));
      expect(Number(await preview.getAttribute('data-bytes'))).toBeLessThanOrEqual(budget);
      await preview.getByRole('button', { name: 'Discard' }).click();
    }

    // A long sticker shows its progress and stops on Cancel, leaving nothing behind.
    if (existsSync(BIG_BUCK_BUNNY)) {
      await openVideo(alice, BIG_BUCK_BUNNY);
      await blur(page);
      await seek(alice, 2);
      await page.keyboard.press('i');
      await seek(alice, 7.9);
      await page.keyboard.press('o');
      await page.keyboard.press('Enter');
      const job = page.getByTestId('job');
      await job.waitFor();
      expect(await job.locator('progress').count()).toBe(1);
      await job.getByRole('button', { name: 'Cancel' }).click();
      await job.waitFor({ state: 'detached' });
      await page.waitForTimeout(300);
      expect(await page.getByTestId('preview').count()).toBe(0);
      expect(await page.getByTestId('capture-error').count()).toBe(0);
    }
  });

  it('says clearly when a file is not a video, and delivers what was typed while the server was down', async () => {
    const { page } = alice;
    await page.getByTestId('video-input').setInputFiles(fixtures.text);
    await expect
      .poll(() => page.getByTestId('capture-error').textContent())
      .toMatch(/not a playable video/i);

    await openFirstConversation(alice);
    await openFirstConversation(bob);
    await server.stop();
    await page.getByTestId('connection').filter({ hasText: 'Offline' }).waitFor();
    await page.getByTestId('composer').fill('typed while the server was away');
    await page.getByTestId('composer').press('Enter');
    const pending = page.locator('[data-testid=message][data-state=sending]');
    await pending.waitFor();
    expect(await page.getByTestId('composer').inputValue()).toBe('');

    await server.start();
    const bobsCopy = bob.page.locator('[data-testid=message]', {
      hasText: 'typed while the server was away',
    });
    await expect.poll(() => bobsCopy.count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => pending.count(), { timeout: 10_000 }).toBe(0);
    await expect
      .poll(() =>
        page
          .locator('[data-testid=message][data-state=sent]', {
            hasText: 'typed while the server was away',
          })
          .count(),
      )
      .toBe(1);
    // Reconnects and resends never make a second copy.
    await bob.page.reload();
    await openFirstConversation(bob);
    await expect.poll(() => bobsCopy.count()).toBe(1);
  });

  it('recovers a live message it missed on resync, and resends its outbox in order once the session is ready', async () => {
    // Both sockets through the test from now on.
    const bobTap = await Tap.on(bob);
    const aliceTap = await Tap.on(alice);
    for (const p of [alice, bob]) {
      await p.page.reload();
      await p.page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
      await openFirstConversation(p);
    }
    const texts = (p: Person) =>
      p.page
        .locator('[data-testid=messages] [data-testid=message][data-state=sent] .text')
        .allTextContents();
    const count = (p: Person, text: string) =>
      p.page.locator('[data-testid=message]', { hasText: text }).count();

    // Bob's copy of the first message is lost in transit; the second arrives live.
    bobTap.drop.add('lost on the way 1');
    await alice.page.getByTestId('composer').fill('lost on the way 1');
    await alice.page.getByTestId('composer').press('Enter');
    await alice.page.getByTestId('composer').fill('arrived live 2');
    await alice.page.getByTestId('composer').press('Enter');
    await expect.poll(() => count(bob, 'arrived live 2')).toBe(1);
    expect(await count(bob, 'lost on the way 1')).toBe(0);
    // The server says live delivery was interrupted: bob syncs from before the gap.
    bobTap.route!.send(JSON.stringify({ type: 'resync' }));
    await expect
      .poll(async () => (await texts(bob)).slice(-2))
      .toEqual(['lost on the way 1', 'arrived live 2']);
    expect(await count(bob, 'lost on the way 1')).toBe(1);
    const sync = bobTap.frames('out', 'sync').at(-1)!;
    const [convId, since] = Object.entries(sync.since as Record<string, number>)[0]!;
    const lost = (await bob.page
      .locator('[data-testid=message]', { hasText: 'lost on the way 1' })
      .getAttribute('data-seq'))!;
    expect(since).toBe(Number(lost) - 1);

    // Alice loses the server; a still (its upload cannot start) and then a text wait in her outbox.
    const { page } = alice;
    aliceTap.down = true;
    await page.route('**/api/media', (route) => route.abort());
    await aliceTap.route!.close({ code: 4000, reason: 'gone' });
    await page.getByTestId('connection').filter({ hasText: 'Offline' }).waitFor();
    await openVideo(alice, fixtures.vp9);
    await blur(page);
    await page.keyboard.press('s');
    await page.getByTestId('preview').getByRole('button', { name: 'Send' }).click();
    await page.locator('[data-testid=message][data-state=sending][data-kind=still]').waitFor();
    await page.getByTestId('composer').fill('queued after the still');
    await page.getByTestId('composer').press('Enter');
    await page.locator('[data-testid=message][data-state=sending][data-kind=text]').waitFor();

    // Back, with a slow `hello`: nothing is sent before it, and the still goes first.
    const before = aliceTap.sockets;
    aliceTap.helloDelayMs = 300;
    aliceTap.down = false;
    await page.unroute('**/api/media');
    await expect.poll(() => count(bob, 'queued after the still'), { timeout: 15_000 }).toBe(1);
    const kinds = await bob.page
      .locator('[data-testid=messages] [data-testid=message]')
      .evaluateAll((els) => els.slice(-2).map((e) => e.getAttribute('data-kind')));
    expect(kinds).toEqual(['still', 'text']);
    const back = aliceTap.log.filter((e) => e.socket > before);
    const hello = back.findIndex((e) => e.frame.type === 'hello');
    const firstOut = back.findIndex((e) => e.dir === 'out');
    expect(hello).toBeGreaterThanOrEqual(0);
    expect(firstOut).toBeGreaterThan(hello);
    expect(
      back.filter((e) => e.dir === 'out' && e.frame.type === 'send').map((e) => e.frame.kind),
    ).toEqual(['still', 'text']);
    await expect
      .poll(() => page.locator('[data-testid=message][data-state=sending]').count())
      .toBe(0);

    // A send that never reached the server is resent on the next socket with the same clientId, once.
    aliceTap.helloDelayMs = 0;
    aliceTap.swallow.add('sent into a cut connection');
    await page.getByTestId('composer').fill('sent into a cut connection');
    await page.getByTestId('composer').press('Enter');
    await expect.poll(() => count(bob, 'sent into a cut connection'), { timeout: 10_000 }).toBe(1);
    const sends = aliceTap.log.filter(
      (e) => e.dir === 'out' && e.frame.text === 'sent into a cut connection',
    );
    expect(sends.length).toBe(2);
    expect(sends[1]!.socket).toBeGreaterThan(sends[0]!.socket);
    expect(sends[1]!.frame.clientId).toBe(sends[0]!.frame.clientId);
    expect(sends[0]!.frame.conversationId).toBe(convId);
    await expect.poll(() => count(alice, 'sent into a cut connection')).toBe(1);
    expect(await count(bob, 'sent into a cut connection')).toBe(1);
  });
  it('follows sync pages: a resync of 1.2 MB of missed messages arrives whole, each once', async () => {
    const bobTap = await Tap.on(bob);
    await bob.page.reload();
    await bob.page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
    await openFirstConversation(bob);
    // 150 messages of 8000 characters: over two pages of 512 KiB. Bob misses each one live.
    const N = 150;
    const text = (i: number) => `paged ${i} `.padEnd(8000, 'x');
    for (let i = 1; i <= N; i++) bobTap.drop.add(text(i));
    await alice.page.evaluate(
      async (texts) => {
        const csrf = decodeURIComponent(/clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '');
        const list = await (await fetch('/api/conversations')).json();
        const id = (list.conversations ?? list)[0].id;
        for (const [i, text] of texts.entries()) {
          const r = await fetch(`/api/conversations/${id}/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
            body: JSON.stringify({ clientId: `paged-${i}`, kind: 'text', text }),
          });
          if (!r.ok) throw new Error(await r.text());
        }
      },
      Array.from({ length: N }, (_, i) => text(i + 1)),
    );
    await expect.poll(() => bobTap.drop.size, { timeout: 20_000 }).toBe(0);
    const paged = bob.page.locator('[data-testid=messages] [data-testid=message]', {
      hasText: 'paged ',
    });
    expect(await paged.count()).toBe(0);

    const logBefore = bobTap.log.length;
    bobTap.route!.send(JSON.stringify({ type: 'resync' }));
    await expect.poll(() => paged.count(), { timeout: 60_000 }).toBe(N);
    // Every message once, in seq order, none missing.
    const seqs = await paged.evaluateAll((els) =>
      els.map((e) => Number(e.getAttribute('data-seq'))),
    );
    expect(new Set(seqs).size).toBe(N);
    expect(seqs.at(-1)! - seqs[0]!).toBe(N - 1);
    const shown = await paged.locator('.text').allTextContents();
    expect(shown[0]!.startsWith('paged 1 ')).toBe(true);
    expect(shown.at(-1)!.startsWith(`paged ${N} `)).toBe(true);
    // It took several pages, each asked from where the one before ended.
    const after = bobTap.log.slice(logBefore);
    const synced = after
      .filter((e) => e.dir === 'in' && e.frame.type === 'synced')
      .map((e) => e.frame as Frame & { until: Record<string, number>; more: boolean });
    const syncs = after
      .filter((e) => e.dir === 'out' && e.frame.type === 'sync')
      .map((e) => e.frame as Frame & { since: Record<string, number> });
    expect(synced.length).toBeGreaterThanOrEqual(3);
    expect(synced.slice(0, -1).every((f) => f.more)).toBe(true);
    expect(synced.at(-1)!.more).toBe(false);
    expect(syncs.length).toBe(synced.length);
    const convId = Object.keys(syncs[0]!.since)[0]!;
    for (let k = 1; k < syncs.length; k++)
      expect(syncs[k]!.since[convId]).toBe(synced[k - 1]!.until[convId]);
    expect(synced.at(-1)!.until[convId]).toBe(seqs.at(-1));
  }, 180_000); // 150 posts of 8000 characters and a rendered replay: slow on a busy machine
});
