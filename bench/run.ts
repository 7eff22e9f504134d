/**
 * Clipchat's sticker benchmark (`npm run bench`, `npm run bench -- --quick`): Clipchat's
 * GIF, WebP and WebM stickers against gifski at the same budget, ffmpeg palettegen +
 * paletteuse, gifenc and sharp's GIF writer, measured side by side in one run; a budget
 * sweep across content classes; and the whole-process time of `clipchat clip` against
 * ffmpeg-to-PNG plus one gifski run. See docs/benchmarks.md for how quality is measured.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { referenceFrames, score, stickerFrames, type Request, type Score } from './lib/measure';
import { synthetic, type ClipName } from './lib/media';
import { BBB, WORK } from './lib/proc';
import {
  clipchat,
  ffmpegPalette,
  gifenc,
  gifskiFit,
  sharpGif,
  writePngs,
  type Made,
} from './lib/tools';
import { fixed, kib, signed, table } from './lib/table';
import { timeCli } from './lib/cli-time';
import { corpus, corpusReport, measureRequest, type CorpusRow } from './lib/corpus';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const NO_SWEEP = argv.includes('--no-sweep');
const NO_CLI = argv.includes('--no-cli');
/**
 * Only the fitting corpus (`--corpus`), or everything but it (`--no-corpus`); `--runs N`
 * interleaved runs per request (default 5).
 */
const ONLY_CORPUS = argv.includes('--corpus');
const NO_CORPUS = argv.includes('--no-corpus');
const RUNS = Number(argv[argv.indexOf('--runs') + 1] ?? 5) || 5;
const ONLY = argv.includes('--only')
  ? argv[argv.indexOf('--only') + 1]!.split(',').map(Number)
  : undefined;
const KiB = 1024;
const MiB = 1024 * 1024;

interface Row {
  req: Request;
  made: Made;
  score?: Score;
  gifski?: { score?: Score; made: Made; fits: boolean };
}

const out: string[] = [];
const say = (s = '') => {
  out.push(s);
  process.stdout.write(`${s}\n`);
};

async function measure(
  req: Request,
  made: Made,
  ref: Awaited<ReturnType<typeof referenceFrames>>,
): Promise<Score | undefined> {
  if (!made.ok) return undefined;
  return score(ref, await stickerFrames(made.file, made.format, ref, req.fps));
}

async function requests(): Promise<Request[]> {
  const ca = await synthetic('cellauto');
  const gr = await synthetic('gradient');
  const all: Request[] = [
    {
      id: 'BBB 20–23 s, 12 fps, 320 px @ 256 KiB',
      kind: 'film',
      src: BBB,
      from: 20,
      to: 23,
      fps: 12,
      width: 320,
      maxBytes: 256 * KiB,
    },
    {
      id: 'BBB 8–12 s, 15 fps, 480 px @ 1 MiB',
      kind: 'film',
      src: BBB,
      from: 8,
      to: 12,
      fps: 15,
      width: 480,
      maxBytes: MiB,
    },
    {
      id: 'cellular automaton 1–4 s, 12 fps, 320 px @ 256 KiB',
      kind: 'animation',
      src: ca.path,
      from: 1,
      to: 4,
      fps: 12,
      width: 320,
      maxBytes: 256 * KiB,
    },
    {
      id: 'noisy gradient 1–4 s, 12 fps, 320 px @ 256 KiB',
      kind: 'noise',
      src: gr.path,
      from: 1,
      to: 4,
      fps: 12,
      width: 320,
      maxBytes: 256 * KiB,
    },
  ];
  return QUICK ? [all[0]!, all[2]!] : all;
}

async function compare(): Promise<{ rows: Row[]; gifskiQ: number | undefined }> {
  const rows: Row[] = [];
  let gifskiQ: number | undefined;
  for (const [i, req] of (await requests()).entries()) {
    const dir = join(WORK, `r${i}`);
    await mkdir(dir, { recursive: true });
    process.stderr.write(`request ${i + 1}: ${req.id}\n`);
    const ref = await referenceFrames(req);
    const pngs = await writePngs(ref, join(dir, 'png'));
    const g = await gifskiFit(req, pngs, join(dir, 'gifski.gif'));
    if (i === 0) gifskiQ = g.bytes <= req.maxBytes ? g.quality : undefined;
    const gScore = await measure(req, g, ref);
    const gFits = g.bytes <= req.maxBytes && !g.note.startsWith('no quality');
    const gifski = {
      made: { ...g, note: `${g.note}; search ${g.searchSeconds.toFixed(2)} s` },
      score: gScore,
      fits: gFits,
    };
    const made: Made[] = [
      await clipchat(req, 'gif', join(dir, 'clipchat.gif')),
      gifski.made,
      await ffmpegPalette(req, ref, join(dir, 'ffmpeg.gif')),
      await gifenc(req, ref, join(dir, 'gifenc.gif')),
      await sharpGif(req, ref, join(dir, 'sharp.gif')),
      await clipchat(req, 'webp', join(dir, 'clipchat.webp')),
      await clipchat(req, 'webm', join(dir, 'clipchat.webm')),
    ];
    for (const m of made) {
      process.stderr.write(`  ${m.tool}: ${m.bytes} B, ${m.seconds.toFixed(2)} s\n`);
      rows.push({
        req,
        made: m,
        score: m === gifski.made ? gScore : await measure(req, m, ref),
        gifski,
      });
    }
  }
  return { rows, gifskiQ };
}

function printCompare(rows: Row[]): void {
  say('## Requests × tools');
  say();
  say(
    "Clipchat tools run the whole pipeline (decode + scale + encode + fit); the others encode the reference frames (their time is encoding only). gifski's time is one run at the quality its search found; the search cost is in the note.",
  );
  say();
  let cur = '';
  const body: string[][] = [];
  for (const r of rows) {
    const g = r.gifski;
    const within = r.made.ok && r.made.bytes <= r.req.maxBytes;
    const dS = g?.fits && r.score && g.score ? r.score.ssim - g.score.ssim : undefined;
    const tR = g?.fits && r.made.ok ? r.made.seconds / g.made.seconds : undefined;
    body.push([
      r.req.id === cur ? '' : r.req.id,
      r.made.tool,
      r.made.ok ? kib(r.made.bytes) : 'failed',
      within ? 'yes' : 'NO',
      fixed(r.score?.ssim, 4),
      fixed(r.score?.psnr, 2),
      r.made.seconds.toFixed(2),
      r.made.tool === 'gifski' ? (g?.fits ? 'anchor' : 'does not fit') : signed(dS, 4),
      tR === undefined ? '—' : `${tR.toFixed(2)}×`,
      r.made.note,
    ]);
    cur = r.req.id;
  }
  say(
    table(
      [
        'request',
        'tool',
        'bytes',
        'within budget',
        'SSIM',
        'PSNR dB',
        'seconds',
        'ΔSSIM vs gifski',
        'time / gifski',
        'note',
      ],
      body,
    ),
  );
  say();
}

async function sweep(): Promise<Row[]> {
  const budgets = QUICK ? [64 * KiB, 1 * MiB] : [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB];
  const classes: { name: ClipName | 'film'; from: number }[] = QUICK
    ? [
        { name: 'film', from: 24 },
        { name: 'noise', from: 1 },
        { name: 'testsrc', from: 1 },
      ]
    : [
        { name: 'film', from: 24 },
        { name: 'mandelbrot', from: 1 },
        { name: 'noise', from: 1 },
        { name: 'testsrc', from: 1 },
        { name: 'pan', from: 1 },
        { name: 'fades', from: 1.5 },
      ];
  const rows: Row[] = [];
  for (const c of classes) {
    const src = c.name === 'film' ? { path: BBB, kind: 'film' } : await synthetic(c.name);
    const base = {
      kind: src.kind,
      src: src.path,
      from: c.from,
      to: c.from + 3,
      fps: 15,
      width: 480,
    };
    const ref = await referenceFrames({ ...base, id: '', maxBytes: 0 });
    for (const maxBytes of budgets) {
      const req: Request = {
        ...base,
        id: `${src.kind} (${String(c.name)}) @ ${kib(maxBytes)}`,
        maxBytes,
      };
      process.stderr.write(`sweep: ${req.id}\n`);
      for (const f of ['gif', 'webp', 'webm'] as const) {
        const m = await clipchat(req, f, join(WORK, `sweep.${f}`));
        rows.push({ req, made: m, score: await measure(req, m, ref) });
      }
    }
  }
  return rows;
}

function printSweep(rows: Row[]): void {
  say('## Budget sweep (Clipchat, 3 s at 15 fps, 480 px asked)');
  say();
  const body = rows.map((r) => [
    r.req.id,
    r.made.tool.replace('clipchat-', ''),
    r.made.ok ? kib(r.made.bytes) : 'failed',
    r.made.ok && r.made.bytes <= r.req.maxBytes ? 'yes' : 'NO',
    fixed(r.score?.ssim, 4),
    fixed(r.score?.psnr, 2),
    r.made.seconds.toFixed(2),
    r.made.note,
  ]);
  say(
    table(
      ['request', 'format', 'bytes', 'within budget', 'SSIM', 'PSNR dB', 'seconds', 'adaptations'],
      body,
    ),
  );
  say();
}

async function main(): Promise<void> {
  await mkdir(WORK, { recursive: true });
  const t0 = performance.now();
  say(`# Clipchat sticker benchmark${QUICK ? ' (quick)' : ''}`);
  say();
  if (!NO_CORPUS) {
    const reqs = await corpus(QUICK);
    const rows: CorpusRow[] = [];
    for (const [i, r] of reqs.entries()) {
      if (ONLY && !ONLY.includes(i)) continue;
      process.stderr.write(`corpus ${i}: ${r.id}\n`);
      const row = await measureRequest(r, i, QUICK ? 3 : RUNS);
      process.stderr.write(
        `  clipchat ${row.ours.bytes} B ${row.ours.score.ssim.toFixed(4)} ${row.ours.seconds.toFixed(2)} s; gifski Q=${row.gifski.quality} ${row.gifski.bytes} B ${row.gifski.score.ssim.toFixed(4)} ${row.gifski.seconds.toFixed(2)} s; ratio ${row.ratio.toFixed(2)}\n`,
      );
      rows.push(row);
    }
    say('## Fitting corpus: `clipchat clip` vs ffmpeg-to-PNG + one gifski run');
    say();
    say(
      `Whole processes, GIF, ${QUICK ? 3 : RUNS} interleaved runs per request, medians; gifski at the quality its search found to fit (its search is not timed). "fill" is bytes / budget.`,
    );
    say();
    for (const l of corpusReport(rows)) say(l);
    say();
    if (ONLY_CORPUS) {
      await writeFile(join(WORK, 'results-corpus.md'), `${out.join('\n')}\n`);
      return;
    }
  }
  const { rows, gifskiQ } = await compare();
  printCompare(rows);
  const swept = NO_SWEEP ? [] : await sweep();
  if (swept.length) printSweep(swept);

  say('## Goals');
  say();
  const ours = [...rows, ...swept].filter((r) => r.made.tool.startsWith('clipchat'));
  const within = ours.filter((r) => r.made.ok && r.made.bytes <= r.req.maxBytes).length;
  say(
    `1. Within budget: ${within}/${ours.length} Clipchat stickers (${((100 * within) / Math.max(1, ours.length)).toFixed(0)}%).`,
  );
  const vs = rows.filter((r) => r.made.tool === 'clipchat-gif' && r.gifski?.fits);
  say(
    `2. SSIM vs gifski where gifski fits: ${vs.map((r) => `${r.req.id}: ${signed(r.score && r.gifski?.score ? r.score.ssim - r.gifski.score.ssim : undefined, 4)}`).join('; ') || 'gifski fits none'}.`,
  );
  const noFit = rows.filter((r) => r.made.tool === 'clipchat-gif' && r.gifski && !r.gifski.fits);
  if (noFit.length)
    say(
      `   Where gifski cannot fit: ${noFit.map((r) => `${r.req.id}: Clipchat GIF ${r.made.ok && r.made.bytes <= r.req.maxBytes ? 'fits' : 'FAILS'}`).join('; ')}.`,
    );
  if (!NO_CLI && gifskiQ !== undefined) {
    const c = await timeCli(gifskiQ, QUICK ? 3 : 5);
    say(
      `3. Whole process, BBB 20–23 s, 12 fps, 320 px, 256 KiB (median of ${c.runs} interleaved runs): \`clipchat clip\` ${c.clipchat === undefined ? 'n/a' : `${c.clipchat.toFixed(2)} s`}` +
        ` vs ffmpeg-to-PNG + gifski Q=${gifskiQ} ${c.gifski.toFixed(2)} s → ratio ${c.clipchat === undefined ? 'n/a' : (c.clipchat / c.gifski).toFixed(2)}${c.note ? ` (${c.note})` : ''}.`,
    );
  }
  say();
  say(`Total benchmark time ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
  await writeFile(join(WORK, QUICK ? 'results-quick.md' : 'results.md'), `${out.join('\n')}\n`);
}

await main();
