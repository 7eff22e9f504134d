// Once per `vitest run`: generates the synthetic test videos (cached by content of the
// script) and names the folder the web app is built into for this run's Chromium tests
// (apps/web/test/harness.ts builds it on first need; test processes inherit the name).
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ensureFixtures } from './fixtures.mjs';

export default async function setup(): Promise<() => void> {
  await ensureFixtures();
  const dist = join(tmpdir(), `clipchat-web-dist-run-${randomBytes(6).toString('hex')}`);
  process.env.CLIPCHAT_TEST_WEB_DIST = dist;
  return () => {
    for (const d of [dist, `${dist}.lock`, `${dist}.failed`])
      rmSync(d, { recursive: true, force: true });
  };
}
