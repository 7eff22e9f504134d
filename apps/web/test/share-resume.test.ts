/**
 * A share cut half-way by a reload resumes from its offset, in real Chromium. Alice's
 * browser reaches the server through a local TCP relay that can slow what she sends
 * (a slow uplink), so the reload lands mid-upload; after it she opens the same file,
 * presses "Resume sharing", and only the rest is sent. The server's stored video is
 * byte-identical to her file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ensureFixtures } from '../../../packages/capture/test/helpers';
import {
  buildWeb,
  launchChromium,
  openFirstConversation,
  openVideo,
  signUp,
  startConversation,
  TestServer,
  type Person,
} from './harness';

/** Bytes a second the relay passes from the browser while slowed. */
const SLOW_BYTES_PER_S = 1024 * 1024;
const SLICE = 16 * 1024;

/** A TCP relay to `port`; while `slow.on`, browser → server bytes pass at {@link SLOW_BYTES_PER_S}. */
function relay(port: number, slow: { on: boolean }): Server {
  return createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.pipe(client);
    void (async () => {
      for await (const chunk of client as AsyncIterable<Buffer>) {
        for (let i = 0; i < chunk.length; i += SLICE) {
          if (slow.on) await new Promise((r) => setTimeout(r, (SLICE / SLOW_BYTES_PER_S) * 1000));
          if (upstream.destroyed) return;
          if (!upstream.write(chunk.subarray(i, i + SLICE))) await once(upstream, 'drain');
        }
      }
      upstream.end();
    })().catch(() => upstream.destroy());
  });
}

let server: TestServer;
let browser: Browser;
let proxy: Server;
let alice: Person;
let bob: Person;
let file: string;
const slow = { on: false };

beforeAll(async () => {
  file = (await ensureFixtures()).noiseLong;
  buildWeb();
  server = new TestServer();
  await server.start();
  proxy = relay(server.port, slow);
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const via = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  browser = await launchChromium();
  alice = await signUp(browser, via, 'alice');
  bob = await signUp(browser, server.url, 'bob');
  await startConversation(alice, 'bob');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  proxy?.close();
  await server?.dispose();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('resumable share', () => {
  it('resumes a share cut by a reload from the offset the server holds; the stored video is the same bytes', async () => {
    const source = readFileSync(file);
    const uploads = join(server.dataDir, 'uploads');
    /** Bytes of the one unfinished upload on the server's disk (0 before it exists). */
    const onDisk = () => {
      const ids = existsSync(uploads)
        ? readdirSync(uploads).filter((f) => !f.endsWith('.json'))
        : [];
      return ids.length === 1 ? statSync(join(uploads, ids[0]!)).size : 0;
    };

    await openVideo(alice, file);
    slow.on = true;
    await alice.page.getByRole('button', { name: 'Share this video' }).click();
    await alice.page.getByTestId('share-progress').waitFor();
    // A quarter is on the server's disk: reload, cutting the PATCH that carries the rest.
    await expect.poll(onDisk, { timeout: 30_000 }).toBeGreaterThanOrEqual(source.length / 4);
    await alice.page.reload();
    slow.on = false;
    const kept = onDisk();
    expect(kept).toBeLessThan(source.length);

    // After the reload: the same file opened again offers to resume, from what the server holds.
    const requests: { method: string; offset?: string }[] = [];
    alice.page.on('request', (r) => {
      if (r.url().includes('/api/uploads'))
        requests.push({ method: r.method(), offset: r.headers()['upload-offset'] });
    });
    await alice.page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
    await openFirstConversation(alice);
    await openVideo(alice, file);
    const resume = alice.page.getByRole('button', {
      name: `Resume sharing ${file.split('/').pop()}`,
    });
    await resume.waitFor({ timeout: 15_000 });
    const sent = Number(await resume.getAttribute('data-sent'));
    expect(sent).toBeGreaterThanOrEqual(kept);
    expect(sent).toBeLessThan(source.length);
    await resume.click();
    await alice.page.locator('[data-testid=share][data-phase=done]').waitFor({ timeout: 60_000 });
    // No new upload was created; the first PATCH after the reload starts at the held offset.
    expect(requests.filter((r) => r.method === 'POST')).toEqual([]);
    expect(requests.find((r) => r.method === 'PATCH')?.offset).toBe(String(sent));

    // Bob gets the video; the server's stored file is byte-identical to alice's.
    const card = bob.page.getByTestId('shared-video');
    await openFirstConversation(bob);
    await card.waitFor({ timeout: 15_000 });
    const id = (await card.getAttribute('data-media-id'))!;
    expect(id).toBe(sha(source));
    const stored = readFileSync(join(server.dataDir, 'media', id.slice(0, 2), id));
    expect(stored.length).toBe(source.length);
    expect(sha(stored)).toBe(sha(source));
    expect(readdirSync(uploads)).toEqual([]);
    // Done means forgotten: after another reload the same file offers a new share, not a resume.
    await alice.page.reload();
    await alice.page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
    await openFirstConversation(alice);
    await openVideo(alice, file);
    await alice.page.getByRole('button', { name: 'Share this video' }).waitFor();
    expect(
      await alice.page.evaluate(() =>
        Object.keys(localStorage).filter((k) => k.startsWith('tus::')),
      ),
    ).toEqual([]);
  }, 180_000);
});
