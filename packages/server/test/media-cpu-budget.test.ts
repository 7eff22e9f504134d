/**
 * The decode budget is CPU time, not wall time: a niced decoder that other work holds off
 * the CPU is not refused for the time it waits (here it is frozen outright, with SIGSTOP,
 * for longer than the whole budget), while one that really works too long still is
 * (media-hostile.test.ts, "kills a decode at the time limit").
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { api, register, start } from './helpers';
import { backends } from './backends';
import * as H from './hostile-media';

/** Pid of this process's sharp decoder child, once one is running. */
function decoderPid(): number | null {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (
        ppid === process.pid &&
        readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('decoder.child.mjs')
      )
        return Number(d);
    } catch {
      /* gone */
    }
  }
  return null;
}

describe('decode budget counts CPU time (SQLite)', () => {
  it('decodes a 30 MP WebP whose decoder was kept off the CPU for longer than the budget', async () => {
    const heavy = await H.heavyWebp(256, 256, 457);
    const budgetMs = 5000;
    const s = await start(backends[0]!, { media: { decodeTimeoutMs: budgetMs } });
    let frozen: number | null = null;
    try {
      const u = await register(s.url);
      const t = performance.now();
      const pending = api(s.url, 'POST', '/api/media', {
        token: u.token,
        body: heavy,
        headers: { 'content-type': 'application/octet-stream' },
      });
      while (frozen === null && performance.now() - t < 20_000) {
        frozen = decoderPid();
        if (frozen === null) await new Promise((r) => setTimeout(r, 10));
      }
      expect(frozen, 'a decoder child started').not.toBeNull();
      process.kill(frozen!, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, budgetMs + 1000));
      try {
        process.kill(frozen!, 'SIGCONT');
      } catch {
        /* killed meanwhile: the answer below says why */
      }
      const r = await pending;
      const wallMs = performance.now() - t;
      console.log(
        `frozen decode: ${r.status} after ${(wallMs / 1000).toFixed(1)} s wall (CPU budget ${budgetMs / 1000} s)`,
      );
      // It waited longer than the budget in wall time, and was decoded and stored all the same.
      expect(wallMs).toBeGreaterThan(budgetMs + 1000);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toMatchObject({ width: 256, height: 256, frames: 457 });
    } finally {
      if (frozen !== null) {
        try {
          process.kill(frozen, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
      await s.close();
    }
  }, 60_000);
});
