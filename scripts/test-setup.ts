// Generates the synthetic test videos once per run (cached by content of the script).
import { ensureFixtures } from './fixtures.mjs';

export default async function setup(): Promise<void> {
  await ensureFixtures();
}
