// A decoder process of the DecodePool (pool.ts): decodes one upload at a time with sharp
// and says whether every frame decoded. It runs apart from the server so a long decode
// never holds the server's libuv threads (which scrypt logins need) and can be killed.
// Plain JavaScript so it starts under plain `node`, whatever loader runs the server.
import sharp from 'sharp';

// One thread and no cache: the pool's size is the decode concurrency, and its CPU time
// limit only holds when a decode cannot fan out over more cores than one.
sharp.concurrency(1);
sharp.cache(false);

process.on('message', async (m) => {
  // The budget is CPU time, not wall time: a niced decoder starved by the server's own work
  // (or a busy machine) waits without being refused; one that really works too long is
  // stopped. sharp decodes on a libuv thread, so this thread is free to watch. The native
  // decode cannot be interrupted: the pool kills this process on `spent` and starts another.
  const start = process.cpuUsage();
  const watch = setInterval(() => {
    const u = process.cpuUsage(start);
    if ((u.user + u.system) / 1000 > m.cpuMs) {
      clearInterval(watch);
      process.send({ id: m.id, ok: false, spent: true });
    }
  }, 20);
  try {
    const bytes = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    await sharp(bytes, {
      animated: m.animated,
      failOn: 'truncated',
      limitInputPixels: m.limitInputPixels,
      sequentialRead: true,
    }).stats();
    process.send({ id: m.id, ok: true });
  } catch (e) {
    process.send({ id: m.id, ok: false, message: String((e && e.message) || e).split('\n')[0] });
  } finally {
    clearInterval(watch);
  }
});
process.on('disconnect', () => process.exit(0));
