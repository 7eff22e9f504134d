/**
 * One Clipchat server for the shared-video benchmark: caps raised so a 1 GiB video and
 * several uploads fit. Prints `{url}` on stdout when listening; stops on SIGTERM.
 *
 * usage: tsx bench/video-node.ts --data DIR
 * env: CLIPCHAT_DATABASE_URL selects PostgreSQL.
 */
import { backendsFromEnv, createServer } from '../packages/server/src/index';

const i = process.argv.indexOf('--data');
const dataDir = process.argv[i + 1]!;
const { store, bus } = await backendsFromEnv();
const server = await createServer({
  dataDir,
  store,
  bus,
  logger: { level: 'warn' },
  rateLimits: false,
  media: { uploadsInFlightPerUser: 8 },
  video: {
    maxBytes: 4 * 1024 ** 3,
    quotaBytes: 1024 ** 4,
    pendingUploadsPerUser: 8,
    uploadsInFlightPerUser: 8,
  },
  http: { requestTimeoutMs: 0 },
});
const url = await server.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(JSON.stringify({ url }) + '\n');
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
