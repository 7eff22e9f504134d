// Generates the synthetic test videos once per run (cached by content of the script),
// and says once when the real footage some tests need is missing (they skip without it).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureFixtures } from './fixtures.mjs';

const FOOTAGE = resolve(import.meta.dirname, '../../shared/media/big-buck-bunny-480p-30s.mp4');

export default async function setup(): Promise<void> {
  if (!existsSync(FOOTAGE))
    console.log(
      `Big Buck Bunny (480p, 30 s) is not at ${FOOTAGE}: the tests on real footage are skipped; put the file there to run them.`,
    );
  await ensureFixtures();
}
