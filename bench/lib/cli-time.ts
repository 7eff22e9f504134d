/**
 * Goal 3: whole-process time of `clipchat clip` (a fresh process: start, decode, encode,
 * fit, write) against ffmpeg writing PNGs plus one gifski run at the quality that fits,
 * interleaved run by run, medians compared.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BBB, FFMPEG, GIFSKI, ROOT, WORK, median, run } from './proc';

export async function timeCli(
  gifskiQ: number,
  runs: number,
): Promise<{ clipchat?: number; gifski: number; runs: number; note?: string }> {
  const ours: number[] = [];
  const theirs: number[] = [];
  const dir = join(WORK, 'cli');
  const out = join(dir, 'clip.gif');
  let note: string | undefined;
  for (let i = 0; i < runs; i++) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'png'), { recursive: true });
    const t0 = performance.now();
    const c = await run(process.execPath, [
      join(ROOT, 'apps', 'cli', 'bin', 'clipchat.mjs'),
      'clip',
      BBB,
      '--from',
      '20',
      '--to',
      '23',
      '--fps',
      '12',
      '--width',
      '320',
      '--max-bytes',
      '256KiB',
      '-o',
      out,
    ]);
    if (c.code === 0) ours.push(performance.now() - t0);
    else note = `clipchat clip failed: ${c.stderr.trim().split('\n').at(-1)}`;
    const t1 = performance.now();
    const f = await run(FFMPEG, [
      '-v',
      'error',
      '-ss',
      '20',
      '-t',
      '3',
      '-i',
      BBB,
      '-vf',
      'fps=12,scale=320:-2:flags=lanczos',
      join(dir, 'png', 'f%04d.png'),
    ]);
    const pngs = (await readdir(join(dir, 'png'))).sort().map((n) => join(dir, 'png', n));
    const g = await run(GIFSKI, [
      '--quiet',
      '--fps',
      '12',
      '--quality',
      String(gifskiQ),
      '-o',
      join(dir, 'gifski.gif'),
      ...pngs,
    ]);
    if (f.code !== 0 || g.code !== 0)
      throw new Error(`ffmpeg/gifski failed: ${f.stderr}${g.stderr}`);
    theirs.push(performance.now() - t1);
  }
  return {
    clipchat: ours.length ? median(ours) / 1000 : undefined,
    gifski: median(theirs) / 1000,
    runs,
    note,
  };
}
