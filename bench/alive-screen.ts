/**
 * `npx tsx bench/alive-screen.ts`: how long from one person's action to the other person's
 * screen, in real Chromium against a real `clipchat serve` (SQLite), for the three signs of
 * life of a conversation:
 * - typing: rita types a key → "rita is typing…" in sam's header;
 * - read receipt: sam's page sends its `read` frame → rita's ✓✓ turns to read;
 * - presence: sam's page closes → rita's header says "last seen …"; sam's page opens → "online".
 * Times are taken in the pages (Date.now() before the action, a MutationObserver at the
 * change), the same clock for both pages. Median and p90 of `--rounds` (default 9).
 *
 * usage: npx tsx bench/alive-screen.ts [--rounds 9]
 */
import { buildWeb, launchChromium, openFirstConversation, signUp, TestServer, type Person } from '../apps/web/test/harness';

const arg = (name: string, def: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1]! : def; };
const ROUNDS = Number(arg('rounds', '9'));

const quantile = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]!; };

/** Installs, in `p`'s page, a recorder of when `selector` first matches after `arm()`. */
async function watchFor(p: Person, selector: string): Promise<{ arm(): Promise<void>; at(): Promise<number> }> {
  const key = `__seen_${Math.random().toString(36).slice(2)}`;
  return {
    arm: () => p.page.evaluate(([sel, k]) => {
      const w = window as unknown as Record<string, number | null>;
      w[k!] = null;
      const check = () => { if (w[k!] === null && document.querySelector(sel!)) { w[k!] = Date.now(); obs.disconnect(); } };
      const obs = new MutationObserver(check);
      obs.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
      check();
    }, [selector, key]),
    at: async () => {
      await p.page.waitForFunction((k) => (window as unknown as Record<string, number | null>)[k] !== null, key, { timeout: 20_000 });
      return p.page.evaluate((k) => (window as unknown as Record<string, number>)[k]!, key);
    },
  };
}

async function say(p: Person, text: string): Promise<void> {
  await p.page.getByTestId('composer').fill(text);
  await p.page.getByTestId('composer').press('Enter');
}

buildWeb();
const server = new TestServer();
await server.start();
const browser = await launchChromium();
const results: Record<string, number[]> = { typing: [], 'read receipt': [], 'presence: offline': [], 'presence: online': [] };
try {
  const rita = await signUp(browser, server.url, 'rita');
  const sam = await signUp(browser, server.url, 'sam');
  // A direct conversation, made over REST from rita's page.
  await rita.page.evaluate(async () => {
    const csrf = decodeURIComponent(/clipchat_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '');
    const r = await fetch('/api/conversations', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ members: ['sam'] }) });
    if (!r.ok) throw new Error(await r.text());
  });
  for (const p of [rita, sam]) { await p.page.reload(); await openFirstConversation(p); }
  // sam's page: when its `read` frames leave (page clock).
  const recordReads = () => sam.page.evaluate(() => {
    const w = window as unknown as { readSent?: number[] };
    w.readSent = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
      if (typeof data === 'string' && data.includes('"type":"read"')) w.readSent!.push(Date.now());
      return send.call(this, data);
    };
  });
  await recordReads();

  for (let r = 0; r < ROUNDS; r++) {
    // Typing: the first keystroke of a new message.
    const typing = await watchFor(sam, '[data-testid=chat-status][data-typing=true]');
    await sam.page.waitForFunction(() => !document.querySelector('[data-testid=chat-status][data-typing=true]'), undefined, { timeout: 20_000 });
    await typing.arm();
    const t0 = await rita.page.evaluate(() => Date.now());
    await rita.page.getByTestId('composer').press('a');
    results.typing!.push((await typing.at()) - t0);
    await rita.page.getByTestId('composer').fill('');

    // Read receipt: rita sends; sam's open page reads it; rita's tick turns to read.
    await sam.page.evaluate(() => { (window as unknown as { readSent: number[] }).readSent = []; });
    const text = `round ${r} ${Date.now()}`;
    const readTick = await watchFor(rita, '[data-testid=message][data-state=sent] [data-receipt=read]');
    await rita.page.evaluate(() => { document.querySelectorAll('[data-receipt=read]').forEach((e) => e.setAttribute('data-receipt', 'seen-before')); });
    await readTick.arm();
    await say(rita, text);
    const seenAt = await readTick.at();
    const sentAt = await sam.page.evaluate(() => (window as unknown as { readSent: number[] }).readSent[0] ?? NaN);
    results['read receipt']!.push(seenAt - sentAt);

    // Presence: sam's page goes away, then comes back.
    const offline = await watchFor(rita, '[data-testid=chat-status]:not(.online)');
    await rita.page.getByTestId('chat-status').filter({ hasText: 'online' }).waitFor({ timeout: 20_000 });
    await offline.arm();
    const tClose = await rita.page.evaluate(() => Date.now());
    await sam.page.close();
    results['presence: offline']!.push((await offline.at()) - tClose);
    const online = await watchFor(rita, '[data-testid=chat-status].online');
    await online.arm();
    const tOpen = await rita.page.evaluate(() => Date.now());
    sam.page = await sam.context.newPage();
    await sam.page.goto(server.url);
    results['presence: online']!.push((await online.at()) - tOpen);
    await openFirstConversation(sam);
    await recordReads();
  }
} finally {
  await browser.close();
  await server.stop();
}
console.log(`\nFrom one person's action to the other's screen, Chromium, SQLite, ${ROUNDS} rounds (ms)\n`);
console.log('| event | median | p90 | n |\n| --- | ---: | ---: | ---: |');
for (const [k, xs] of Object.entries(results)) console.log(`| ${k} | ${quantile(xs, 0.5).toFixed(0)} | ${quantile(xs, 0.9).toFixed(0)} | ${xs.length} |`);
console.log(JSON.stringify({ bench: 'alive-screen', results }));
process.exit(0);
