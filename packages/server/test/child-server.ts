/**
 * A server in its own process, for crash tests: `node --import tsx child-server.ts DATA_DIR`.
 * Prints `{"url": …}` once listening. Storage from CLIPCHAT_DATABASE_URL / CLIPCHAT_REDIS_URL
 * when set, else SQLite in DATA_DIR.
 */
import { backendsFromEnv, createServer } from '../src/index';

const { store, bus } = await backendsFromEnv();
const server = await createServer({
  dataDir: process.argv[2]!,
  store,
  bus,
  logger: false,
  rateLimits: false,
  // A node just started is busy loading: push-back (overload.test.ts) stays out of this test.
  overload: { maxLagMs: 0, maxQueuedMs: 0 },
});
process.stdout.write(JSON.stringify({ url: await server.listen({ port: 0 }) }) + '\n');
