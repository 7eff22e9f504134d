/**
 * "A conversation that feels alive", measured on the screen (`npm run bench:alive-screen`):
 * the latency from one person's action in real Chromium to the change on the other
 * person's screen, for typing, read receipts and presence. bench/alive.ts measures the
 * same events socket to socket; the difference is the two web apps (input handling,
 * rendering) and the browser's own socket.
 *
 * - typing: rita's keydown in the composer → "rita is typing…" in sam's header.
 * - read: sam's click that opens the conversation → rita's tick turns "read".
 * - offline: sam's tab closes → rita's header says "last seen …".
 * - online: sam opens the app in a new tab (navigation starts) → rita's header says "online"
 *   (this includes loading the page and signing its socket in; the server announces the
 *   user at the upgrade, before the page's own `open` event, so that is no start point).
 *
 * Both clocks are this machine's (page time is `performance.timeOrigin + performance.now()`,
 * node time is `Date.now()`), so the two pages' times compare directly.
 *
 * usage: npx tsx bench/alive-screen.ts [--rounds 9] [--setups sqlite,postgres]
 * Needs /usr/bin/chromium; the PostgreSQL setup needs PostgreSQL and Redis (as bench/alive.ts).
 */
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import {
  buildWeb,
  DIST,
  launchChromium,
  signUp,
  startConversation,
  type Person,
} from '../apps/web/test/harness';
import { median, p90, startNodes } from './lib/nodes';
import { fixed, table } from './lib/table';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const ROUNDS = Number(arg('rounds', '9'));
const SETUPS = arg('setups', 'sqlite,postgres').split(',');
/** The web app sends a typing frame at most this often per conversation (alive.ts). */
const TYPING_INTERVAL_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Page-side recorders, as strings (tsx would otherwise wrap serialized functions in helpers
 * that do not exist in the page). `__mark(name, sel, text)` records the first moment after
 * now at which an element matching `sel` (whose text matches `text`, when given) exists.
 */
const RECORDERS = `
  window.__now = () => performance.timeOrigin + performance.now();
  window.__marks = {};
  window.__mark = (name, sel, text, inner) => {
    delete window.__marks[name];
    const re = text ? new RegExp(text) : null;
    const look = () => {
      if (window.__marks[name] !== undefined) return;
      for (const el of document.querySelectorAll(sel)) {
        if ((!re || re.test(el.textContent || '')) && (!inner || el.querySelector(inner))) {
          window.__marks[name] = window.__now();
          obs.disconnect();
          return;
        }
      }
    };
    const obs = new MutationObserver(look);
    obs.observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
    look();
  };
  window.__on = (name, type) => {
    delete window.__marks[name];
    const h = (e) => {
      window.__marks[name] = performance.timeOrigin + e.timeStamp;
      document.removeEventListener(type, h, true);
    };
    document.addEventListener(type, h, true);
  };
`;

/** Records in `page` when an element matching `sel` (with text matching `text`, holding `inner`) first exists. */
async function mark(page: Page, name: string, sel: string, text = '', inner = ''): Promise<void> {
  const a = [name, sel, text, inner].map((x) => JSON.stringify(x)).join(', ');
  await page.evaluate(`window.__mark(${a})`);
}
async function on(page: Page, name: string, type: string): Promise<void> {
  await page.evaluate(`window.__on(${JSON.stringify(name)}, ${JSON.stringify(type)})`);
}
async function waitMark(page: Page, name: string): Promise<number> {
  // A function, not a string: the app's CSP forbids eval, which a string predicate needs.
  const h = await page.waitForFunction(
    (n) => (window as unknown as { __marks: Record<string, number> }).__marks[n],
    name,
    { timeout: 15_000, polling: 50 },
  );
  return (await h.jsonValue()) as number;
}

const person = (browser: Browser, base: string, name: string): Promise<Person> =>
  signUp(browser, base, name, 'correct horse', RECORDERS);

const convo = (p: Person, title: string) =>
  p.page
    .getByTestId('conversation')
    .filter({ has: p.page.locator('.conv-title', { hasText: new RegExp(`^${title}$`) }) });

async function open(p: Person, title: string): Promise<void> {
  await convo(p, title).click();
  await p.page.locator('.conv.active .conv-title', { hasText: new RegExp(`^${title}$`) }).waitFor();
}

/** rita (on `urlA`) and sam (on `urlB`): ROUNDS of each event, in ms. */
async function measure(browser: Browser, urlA: string, urlB: string) {
  const tag = randomBytes(2).toString('hex');
  const rita = await person(browser, urlA, `rita${tag}`);
  const sam = await person(browser, urlB, `sam${tag}`);
  await person(browser, urlA, `tom${tag}`); // sam's other conversation, to be elsewhere
  await startConversation(rita, sam.name);
  await startConversation(sam, `tom${tag}`);
  await open(sam, rita.name);
  const out = {
    typing: [] as number[],
    read: [] as number[],
    offline: [] as number[],
    online: [] as number[],
  };

  // Typing: one key, then send (which drops the indicator at once), then wait out the
  // client's own 3 s spacing of typing frames.
  for (let i = 0; i < ROUNDS; i++) {
    await mark(sam.page, 'typing', '[data-testid=chat-status][data-typing=true]');
    await on(rita.page, 'key', 'keydown');
    await rita.page.getByTestId('composer').click();
    await rita.page.keyboard.type('h');
    const seen = await waitMark(sam.page, 'typing');
    const at = await waitMark(rita.page, 'key');
    out.typing.push(seen - at);
    await rita.page.keyboard.type(`i ${i}`);
    await rita.page.keyboard.press('Enter');
    await sam.page.locator('[data-testid=message] .text', { hasText: `hi ${i}` }).waitFor();
    await sleep(TYPING_INTERVAL_MS + 200);
  }

  // Read: sam is in another conversation, rita's message reaches him unread (✓✓), he opens it.
  for (let i = 0; i < ROUNDS; i++) {
    await open(sam, `tom${tag}`);
    const text = `read me ${i}`;
    await rita.page.getByTestId('composer').fill(text);
    await rita.page.getByTestId('composer').press('Enter');
    const tick = rita.page
      .locator('[data-testid=message][data-state=sent]', {
        has: rita.page.locator('.text', { hasText: text }),
      })
      .getByTestId('receipt');
    await tick.and(rita.page.locator('[data-receipt=delivered]')).waitFor();
    await mark(
      rita.page,
      'read',
      '[data-testid=message][data-state=sent]',
      text,
      '[data-receipt=read]',
    );
    await on(sam.page, 'click', 'click');
    await convo(sam, rita.name).click();
    const seen = await waitMark(rita.page, 'read');
    const at = await waitMark(sam.page, 'click');
    out.read.push(seen - at);
  }

  // Presence: sam's tab closes (offline), then a new tab of his opens (online).
  const samUrl = sam.page.url();
  const ctx = sam.page.context();
  let page = sam.page;
  for (let i = 0; i < ROUNDS; i++) {
    await rita.page.locator('[data-testid=chat-status].online').waitFor();
    await mark(rita.page, 'offline', '[data-testid=chat-status]', '^last seen');
    const closedAt = Date.now();
    await page.close();
    out.offline.push((await waitMark(rita.page, 'offline')) - closedAt);
    await mark(rita.page, 'online', '[data-testid=chat-status].online', '^online$');
    page = await ctx.newPage();
    const openedAt = Date.now();
    await page.goto(samUrl);
    const seen = await waitMark(rita.page, 'online');
    out.online.push(seen - openedAt);
    await page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
  }
  await rita.page.context().close();
  await ctx.close();
  return out;
}

console.log(`clipchat alive-screen bench: ${ROUNDS} rounds of each event, Chromium\n`);
buildWeb();
const browser = await launchChromium();
const rows: string[][] = [];
const add = (setup: string, r: Record<string, number[]>) => {
  for (const [event, xs] of Object.entries(r))
    rows.push([setup, event, fixed(median(xs), 1), fixed(p90(xs), 1), String(xs.length)]);
};
try {
  for (const [setup, backend] of [
    ['SQLite, one node', 'sqlite'],
    ['PostgreSQL + Redis, two nodes', 'postgres'],
  ] as const) {
    if (!SETUPS.includes(backend)) continue;
    const nodes = await startNodes(backend, 2, DIST);
    try {
      add(setup, await measure(browser, nodes.urls[0]!, nodes.urls.at(-1)!));
    } finally {
      await nodes.close();
    }
  }
} finally {
  await browser.close();
  rmSync(DIST, { recursive: true, force: true });
}
console.log("Latency from one person's action to the other's screen (ms, Chromium)\n");
console.log(table(['setup', 'event', 'median', 'p90', 'n'], rows));
console.log(JSON.stringify({ screen: rows }));
process.exit(0);
