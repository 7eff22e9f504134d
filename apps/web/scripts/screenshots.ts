/**
 * Takes the README screenshots of the real app (docs/screenshots/*.png): two people
 * chatting, one capturing from Big Buck Bunny. Run: `npx tsx apps/web/scripts/screenshots.ts`.
 * PNGs are palette-quantised with sharp to stay small.
 */
import { mkdirSync } from 'node:fs';
import sharp from 'sharp';
import {
  blur,
  buildWeb,
  launchChromium,
  openFirstConversation,
  openVideo,
  seek,
  signUp,
  startConversation,
  TestServer,
} from '../test/harness';

const OUT = new URL('../../../docs/screenshots/', import.meta.url).pathname;
const BBB = new URL('../../../../shared/media/big-buck-bunny-480p-30s.mp4', import.meta.url)
  .pathname;

async function save(png: Buffer, name: string): Promise<void> {
  const out = await sharp(png)
    .png({ palette: true, colors: 128, compressionLevel: 9, effort: 10 })
    .toBuffer();
  await sharp(out).toFile(`${OUT}${name}`);
  console.log(`${name}: ${(out.length / 1024).toFixed(0)} KiB`);
}

mkdirSync(OUT, { recursive: true });
buildWeb();
const server = new TestServer();
await server.start();
const browser = await launchChromium();
try {
  const alice = await signUp(browser, server.url, 'alice');
  const bob = await signUp(browser, server.url, 'bob');
  await alice.page.setViewportSize({ width: 1280, height: 860 });
  await startConversation(alice, 'bob');
  await openFirstConversation(bob);
  const say = async (p: typeof alice, text: string) => {
    await p.page.getByTestId('composer').fill(text);
    await p.page.getByTestId('composer').press('Enter');
    await p.page.waitForTimeout(150);
  };
  await say(bob, 'Did you finish the bunny movie?');
  await say(alice, 'Watching it now — the butterfly scene is the best');
  await say(bob, 'Send me that moment!');

  const { page } = alice;
  await openVideo(alice, BBB);
  await seek(alice, 9.2);
  await page.locator('.stage').dblclick();
  await page.getByTestId('preview').getByRole('button', { name: 'Send' }).click();
  await page.getByTestId('preview').waitFor({ state: 'detached' });
  await say(bob, 'Ha, perfect. Now as a sticker?');

  await page.getByRole('button', { name: 'Sticker', exact: true }).click();
  await blur(page);
  await seek(alice, 20.0);
  await page.keyboard.press('i');
  await seek(alice, 22.4);
  await page.keyboard.press('o');
  await page.keyboard.press('Enter');
  await page.getByTestId('preview').waitFor({ timeout: 30_000 });
  await page.getByTestId('preview').getByRole('button', { name: 'Send' }).click();
  await page.getByTestId('preview').waitFor({ state: 'detached' });
  await say(bob, 'Saving that one to my stickers 😄');

  // Main view: a sticker being made, with its preview and the live estimate.
  await seek(alice, 24.0);
  await page.keyboard.press('i');
  await seek(alice, 26.0);
  await page.keyboard.press('o');
  await page.waitForTimeout(900);
  await page.keyboard.press('Enter');
  await page.getByTestId('preview').waitFor({ timeout: 30_000 });
  await page.waitForTimeout(600);
  await page.locator('aside.video').evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await save(await page.screenshot(), 'chat-and-capture.png');

  await page.getByTestId('open-settings').click();
  await page.waitForTimeout(200);
  await save(await page.screenshot(), 'capture-settings.png');
  await page.getByTestId('settings').getByRole('button', { name: 'Close' }).first().click();

  await bob.page.setViewportSize({ width: 390, height: 760 });
  await bob.page.getByRole('button', { name: 'Sticker library' }).click();
  await bob.page
    .locator('[data-kind=sticker]')
    .last()
    .getByRole('button', { name: 'Save to my stickers' })
    .click();
  await bob.page.waitForTimeout(800);
  await save(await bob.page.screenshot(), 'phone-chat.png');
} finally {
  await browser.close();
  await server.dispose();
}
