// Once per `vitest run`: says once when the real footage some tests need is missing (they
// skip without it), generates the synthetic test videos (cached by content of the script),
// and names the folder the web app is built into for this run's Chromium tests
// (apps/web/test/harness.ts builds it on first need; test processes inherit the name).
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ensureFixtures } from './fixtures.mjs';

const FOOTAGE = resolve(import.meta.dirname, '../../shared/media/big-buck-bunny-480p-30s.mp4');

export default async function setup(): Promise<() => void> {
  if (!existsSync(FOOTAGE))
    console.log(
      `Big Buck Bunny (480p, 30 s) is not at ${FOOTAGE}: the tests on real footage are skipped; put the file there to run them.`,
    );
  await ensureFixtures();
  const dist = join(tmpdir(), `clipchat-web-dist-run-${randomBytes(6).toString('hex')}`);
  process.env.CLIPCHAT_TEST_WEB_DIST = dist;
  return () => {
    for (const d of [dist, `${dist}.lock`, `${dist}.failed`])
      rmSync(d, { recursive: true, force: true });
  };
}
