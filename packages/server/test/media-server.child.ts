/**
 * A SQLite server in its own process, so tests can read its CPU and memory (with its
 * decoder children) from /proc: `node --import tsx media-server.child.ts DATA_DIR [MEDIA_JSON]`.
 * Prints `{"url": …}` once listening; MEDIA_JSON overrides media limits.
 */
import { createServer } from '../src/index';

const media = process.argv[3] ? (JSON.parse(process.argv[3]) as Record<string, number>) : {};
const server = await createServer({
  dataDir: process.argv[2]!,
  logger: false,
  rateLimits: false,
  media,
});
process.stdout.write(JSON.stringify({ url: await server.listen({ port: 0 }) }) + '\n');
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
