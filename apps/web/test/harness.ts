/**
 * End-to-end harness: builds the web app once, runs the real Clipchat server on a free
 * port with a temporary data folder, and drives Debian's Chromium with playwright-core.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type ClipchatServer } from '@clipchat/server';

const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * Where the app is built. Under `vitest run`, scripts/test-setup.ts names one folder for the
 * whole run (CLIPCHAT_TEST_WEB_DIST): the first test file that needs the app builds it there
 * (a `.lock` folder, made atomically, says who) and the others wait for it, so the ~20 test
 * files that drive Chromium pay for one build, not one each. Elsewhere (a bench, a single
 * process) the build goes to a folder of this process's own, so runs in parallel and a
 * developer's `apps/web/dist` never see each other's half-written build.
 */
const SHARED_DIST = process.env.CLIPCHAT_TEST_WEB_DIST;
export const DIST = SHARED_DIST ?? mkdtempSync(join(tmpdir(), 'clipchat-web-dist-'));
if (!SHARED_DIST) process.on('exit', () => rmSync(DIST, { recursive: true, force: true }));

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let built = false;
/** Builds apps/web into {@link DIST} (once per process, or once per test run when shared). */
export function buildWeb(): void {
  if (built) return;
  if (SHARED_DIST) waitForSharedBuild(SHARED_DIST);
  else viteBuild(DIST);
  built = true;
}

function viteBuild(outDir: string): void {
  const vite = join(
    dirname(createRequire(import.meta.url).resolve('vite/package.json')),
    'bin',
    'vite.js',
  );
  const r = spawnSync(
    process.execPath,
    [vite, 'build', '--logLevel', 'warn', '--outDir', outDir, '--emptyOutDir'],
    { cwd: WEB_DIR, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
}

/** Builds the run's shared folder if no other test process has started to, else waits for it. */
function waitForSharedBuild(dir: string): void {
  const done = join(dir, '.built');
  const failed = `${dir}.failed`;
  let mine = false;
  try {
    mkdirSync(`${dir}.lock`);
    mine = true;
  } catch {
    // Another test process builds it.
  }
  if (mine) {
    try {
      viteBuild(dir);
      writeFileSync(done, '');
    } catch (err) {
      writeFileSync(failed, String(err));
      throw err;
    }
    return;
  }
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 300_000;
  while (!existsSync(done)) {
    if (existsSync(failed)) throw new Error(readFileSync(failed, 'utf8'));
    if (Date.now() > deadline) throw new Error(`no web build appeared in ${dir} within 300 s`);
    Atomics.wait(nap, 0, 0, 100);
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** A real server with its own data folder; `restart()` keeps the data and the port. */
export class TestServer {
  server: ClipchatServer | null = null;
  url = '';
  port = 0;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'clipchat-web-'));

  async start(): Promise<string> {
    this.server = await createServer({
      dataDir: this.dataDir,
      webRoot: DIST,
      logger: process.env.CLIPCHAT_E2E_LOG ? { level: 'warn' } : false,
      rateLimits: false,
      // Push-back reads the event loop's lateness, which tests share with Chromium's driver
      // and bursts of setup: off here as rate limits are (server overload.test.ts tests it).
      overload: { maxLagMs: 0, maxQueuedMs: 0 },
    });
    this.url = await this.server.listen({ port: this.port, host: '127.0.0.1' });
    this.port = Number(new URL(this.url).port);
    return this.url;
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }

  /** Stops the server and removes its data and this process's build. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
    if (!SHARED_DIST) {
      rmSync(DIST, { recursive: true, force: true });
      built = false;
    }
  }
}

/** A signed-up user in their own browser context. */
export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
}

export async function signUp(
  browser: Browser,
  base: string,
  name: string,
  password = 'correct horse',
  /** Script run in each of the person's pages before the app's own (a bench's recorders). */
  initScript?: string,
): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(15_000);
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${name}] page error:`, e.message));
  await page.goto(base);
  await page.getByRole('button', { name: 'New here? Create an account' }).click();
  await page.fill('input[name=username]', name);
  await page.fill('input[name=password]', password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
  return { name, context, page };
}

/**
 * What every end-to-end file starts with: the app built and served by a real server, and
 * Chromium; then `a` and `b` signed up, `a` in a direct conversation with `b`.
 */
export async function startApp(
  a: string,
  b: string,
): Promise<{ server: TestServer; browser: Browser; a: Person; b: Person }> {
  buildWeb();
  const server = new TestServer();
  await server.start();
  const browser = await launchChromium();
  const pa = await signUp(browser, server.url, a);
  const pb = await signUp(browser, server.url, b);
  await startConversation(pa, b);
  return { server, browser, a: pa, b: pb };
}

/** Closes what `startApp` started (either may be missing when start-up failed). */
export async function stopApp(app: { server?: TestServer; browser?: Browser }): Promise<void> {
  await app.browser?.close();
  await app.server?.dispose();
}

/** Starts (or opens) a direct conversation with `other`. */
export async function startConversation(p: Person, other: string): Promise<void> {
  await p.page.getByRole('button', { name: 'New conversation' }).click();
  await p.page.getByLabel('Usernames').fill(other);
  await p.page.getByRole('button', { name: 'Start' }).click();
  await p.page.locator('.chat-title').filter({ hasText: other }).waitFor();
}

/** Opens the first conversation in the list. */
export async function openFirstConversation(p: Person): Promise<void> {
  await p.page.getByTestId('conversation').first().click();
  await p.page.locator('.chat-title').waitFor();
}

/** Opens a local video in the player and waits until capture is ready. */
export async function openVideo(p: Person, path: string): Promise<void> {
  const before = await p.page.evaluate(
    () => document.querySelector<HTMLVideoElement>('video.player-video')?.currentSrc ?? '',
  );
  await p.page.getByTestId('video-input').setInputFiles(path);
  await p.page.locator('.stage-note').waitFor({ state: 'detached' });
  // The player has the new file's first frame (not the previous file's last one).
  await p.page.waitForFunction((before) => {
    const v = document.querySelector<HTMLVideoElement>('video.player-video');
    return !!v && v.currentSrc !== before && v.readyState >= 2;
  }, before);
  await engineReady(p);
}

/**
 * Waits until the capture engine has read the open video (the player says which engine).
 * The player may show its first frame before the engine has finished reading the file, and
 * `.stage-note` may not have appeared yet when a test starts waiting for it to go.
 */
export async function engineReady(p: Person, timeout = 20_000): Promise<void> {
  await p.page.locator('section.player[data-engine]').waitFor({ timeout });
}

/** Seeks the player to player time `t` (through the seek bar, as a user would). */
export async function seek(p: Person, t: number): Promise<void> {
  await p.page.evaluate(async (t) => {
    const seekBar = document.querySelector<HTMLInputElement>('input.seek')!;
    seekBar.value = String(t);
    seekBar.dispatchEvent(new Event('input', { bubbles: true }));
    const v = document.querySelector<HTMLVideoElement>('video.player-video')!;
    if (v.seeking) await new Promise((r) => v.addEventListener('seeked', r, { once: true }));
  }, t);
}

/**
 * Decodes the media of the last message in the page with Chromium's own decoders and
 * returns its RGBA pixels (first frame for animations).
 */
export async function lastMediaPixels(
  page: Page,
): Promise<{ width: number; height: number; data: number[]; frames: number; mime: string }> {
  return page.evaluate(async () => {
    const media = [
      ...document.querySelectorAll<HTMLElement>('[data-testid=messages] [data-testid=media]'),
    ].at(-1)!;
    const img = media.querySelector('img')!;
    const blob = await (await fetch(img.src)).blob();
    const bmp = await createImageBitmap(blob);
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext('2d')!;
    ctx.drawImage(bmp, 0, 0);
    const data = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    return {
      width: bmp.width,
      height: bmp.height,
      data: Array.from(data),
      frames: Number(media.dataset.frames),
      mime: String(media.dataset.mime),
    };
  });
}

/** Decodes the image matched by `selector` (last match) with Chromium and returns its RGBA pixels. */
export async function imagePixels(
  page: Page,
  selector: string,
): Promise<{ width: number; height: number; data: number[] }> {
  return page.evaluate(async (selector) => {
    const img = [...document.querySelectorAll<HTMLImageElement>(selector)].at(-1)!;
    const bmp = await createImageBitmap(await (await fetch(img.src)).blob());
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext('2d')!;
    ctx.drawImage(bmp, 0, 0);
    return {
      width: bmp.width,
      height: bmp.height,
      data: Array.from(ctx.getImageData(0, 0, bmp.width, bmp.height).data),
    };
  }, selector);
}

/** Moves keyboard focus off any control, as after clicking on the page background. */
export async function blur(page: Page): Promise<void> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}
