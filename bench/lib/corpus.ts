/**
 * The fitting corpus: GIF requests across content classes, sizes and budgets, each timed
 * as whole processes — `clipchat clip` against ffmpeg-to-PNG plus one gifski run at the
 * quality gifski's search found to fit — interleaved run by run, with medians compared,
 * and scored (SSIM, PSNR) against the same reference frames. Part of the corpus is held
 * out: fitting was tuned on the `tuned` requests only.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { referenceFrames, score, stickerFrames, type Request, type Score } from './measure';
import { synthetic, type ClipName } from './media';
import { BBB, FFMPEG, GIFSKI, ROOT, WORK, median, run } from './proc';
import { gifskiFit, writePngs } from './tools';

const KiB = 1024;
const MiB = 1024 * 1024;

export interface CorpusRequest extends Request {
  /** Fitting was tuned on this request (else it is held out). */
  tuned: boolean;
}

interface Spec {
  clip: ClipName | 'film';
  from: number;
  secs: number;
  fps: number;
  width: number;
  maxBytes: number;
  tuned: boolean;
}

const SPECS: Spec[] = [
  // Tuned on.
  { clip: 'film', from: 20, secs: 3, fps: 12, width: 320, maxBytes: 256 * KiB, tuned: true },
  { clip: 'film', from: 8, secs: 4, fps: 15, width: 480, maxBytes: MiB, tuned: true },
  { clip: 'mandelbrot', from: 1, secs: 3, fps: 12, width: 320, maxBytes: 256 * KiB, tuned: true },
  { clip: 'mandelbrot', from: 1, secs: 3, fps: 12, width: 240, maxBytes: 512 * KiB, tuned: true },
  { clip: 'cellauto', from: 1, secs: 3, fps: 12, width: 320, maxBytes: 256 * KiB, tuned: true },
  { clip: 'gradient', from: 1, secs: 3, fps: 12, width: 320, maxBytes: 256 * KiB, tuned: true },
  { clip: 'life', from: 1, secs: 3, fps: 12, width: 320, maxBytes: 256 * KiB, tuned: true },
  { clip: 'screen', from: 1, secs: 3, fps: 12, width: 320, maxBytes: 256 * KiB, tuned: true },
  // Held out.
  { clip: 'film', from: 2, secs: 3, fps: 12, width: 480, maxBytes: 2 * MiB, tuned: false },
  { clip: 'cartoon', from: 1, secs: 3, fps: 12, width: 480, maxBytes: 128 * KiB, tuned: false },
  { clip: 'screen', from: 2, secs: 4, fps: 10, width: 480, maxBytes: 512 * KiB, tuned: false },
  { clip: 'life', from: 2, secs: 3, fps: 15, width: 480, maxBytes: MiB, tuned: false },
  { clip: 'dark', from: 1, secs: 3, fps: 12, width: 320, maxBytes: 256 * KiB, tuned: false },
  { clip: 'pan', from: 1, secs: 3, fps: 15, width: 320, maxBytes: 512 * KiB, tuned: false },
  { clip: 'noise', from: 1, secs: 3, fps: 10, width: 240, maxBytes: 2 * MiB, tuned: false },
  { clip: 'mandelbrot', from: 2, secs: 4, fps: 10, width: 480, maxBytes: 2 * MiB, tuned: false },
];

const size = (n: number) => (n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`);

export async function corpus(quick: boolean): Promise<CorpusRequest[]> {
  const out: CorpusRequest[] = [];
  for (const s of quick ? SPECS.filter((_, i) => i === 0 || i === 6 || i === 9) : SPECS) {
    const src = s.clip === 'film' ? { path: BBB, kind: 'film' } : await synthetic(s.clip);
    const name = s.clip === 'film' ? 'BBB' : String(s.clip);
    out.push({
      id: `${name} ${s.from}–${s.from + s.secs} s, ${s.fps} fps, ${s.width} px @ ${size(s.maxBytes)}`,
      kind: src.kind,
      src: src.path,
      from: s.from,
      to: s.from + s.secs,
      fps: s.fps,
      width: s.width,
      maxBytes: s.maxBytes,
      tuned: s.tuned,
    });
  }
  return out;
}

export interface CorpusRow {
  req: CorpusRequest;
  ours: {
    bytes: number;
    score: Score;
    seconds: number;
    adapted: Record<string, { from: unknown; to: unknown }>;
  };
  gifski: { bytes: number; score: Score; seconds: number; quality: number; fits: boolean };
  /** ours / (ffmpeg + gifski), medians of the interleaved runs. */
  ratio: number;
  runs: number;
}

/** One request: gifski's search for the quality that fits, then interleaved whole-process runs. */
export async function measureRequest(
  req: CorpusRequest,
  i: number,
  runs: number,
): Promise<CorpusRow> {
  const dir = join(WORK, `corpus${i}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'png'), { recursive: true });
  const ref = await referenceFrames(req);
  const pngs = await writePngs(ref, join(dir, 'refpng'));
  const g = await gifskiFit(req, pngs, join(dir, 'gifski-search.gif'));
  const fits = g.bytes <= req.maxBytes && !g.note.startsWith('no quality');
  const gScore = await score(ref, await stickerFrames(g.file, 'gif', ref, req.fps));

  const out = join(dir, 'clipchat.gif');
  const ours: number[] = [];
  const theirs: number[] = [];
  let json = '';
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    const c = await run(process.execPath, [
      join(ROOT, 'apps', 'cli', 'bin', 'clipchat.mjs'),
      'clip',
      req.src,
      '--from',
      String(req.from),
      '--to',
      String(req.to),
      '--fps',
      String(req.fps),
      '--width',
      String(req.width),
      '--max-bytes',
      String(req.maxBytes),
      '-o',
      out,
      '--json',
    ]);
    if (c.code !== 0)
      throw new Error(`clipchat clip failed on ${req.id}: ${c.stderr.trim().split('\n').at(-1)}`);
    ours.push(performance.now() - t0);
    json = c.stdout.toString();
    await rm(join(dir, 'png'), { recursive: true, force: true });
    await mkdir(join(dir, 'png'));
    const t1 = performance.now();
    const f = await run(FFMPEG, [
      '-v',
      'error',
      '-ss',
      String(req.from),
      '-t',
      String(req.to - req.from),
      '-i',
      req.src,
      '-vf',
      `fps=${req.fps},scale=${req.width}:-2:flags=lanczos`,
      join(dir, 'png', 'f%04d.png'),
    ]);
    const list = (await readdir(join(dir, 'png'))).sort().map((n) => join(dir, 'png', n));
    const gg = await run(GIFSKI, [
      '--quiet',
      '--fps',
      String(req.fps),
      '--quality',
      String(g.quality),
      '-o',
      join(dir, 'gifski.gif'),
      ...list,
    ]);
    if (f.code !== 0 || gg.code !== 0)
      throw new Error(`ffmpeg/gifski failed: ${f.stderr}${gg.stderr}`);
    theirs.push(performance.now() - t1);
  }
  const report = JSON.parse(json.trim().split('\n').at(-1)!) as {
    adapted?: Record<string, { from: unknown; to: unknown }>;
  };
  const bytes = (await stat(out)).size;
  const ourScore = await score(ref, await stickerFrames(out, 'gif', ref, req.fps));
  return {
    req,
    ours: { bytes, score: ourScore, seconds: median(ours) / 1000, adapted: report.adapted ?? {} },
    gifski: {
      bytes: g.bytes,
      score: gScore,
      seconds: median(theirs) / 1000,
      quality: g.quality,
      fits,
    },
    ratio: median(ours) / median(theirs),
    runs,
  };
}

/** The corpus table and the goals, as markdown lines. */
export function corpusReport(rows: readonly CorpusRow[]): string[] {
  const kib = (n: number) => `${(n / KiB).toFixed(1)} KiB`;
  const lines: string[] = [];
  const head = [
    'request',
    'set',
    'Clipchat bytes',
    'fill',
    'SSIM',
    'PSNR',
    's',
    'gifski Q',
    'gifski bytes',
    'SSIM',
    'PSNR',
    's (ffmpeg+gifski)',
    'time ratio',
    'ΔSSIM',
    'Clipchat adaptations',
  ];
  const body = rows.map((r) => {
    const a =
      Object.entries(r.ours.adapted)
        .map(([k, v]) => `${k} ${String(v.to)}`)
        .join(', ') || 'as asked';
    return [
      r.req.id,
      r.req.tuned ? 'tuned' : 'held out',
      kib(r.ours.bytes),
      `${((100 * r.ours.bytes) / r.req.maxBytes).toFixed(1)} %`,
      r.ours.score.ssim.toFixed(4),
      r.ours.score.psnr.toFixed(2),
      r.ours.seconds.toFixed(2),
      r.gifski.fits ? String(r.gifski.quality) : `none (Q=${r.gifski.quality})`,
      kib(r.gifski.bytes),
      r.gifski.score.ssim.toFixed(4),
      r.gifski.score.psnr.toFixed(2),
      r.gifski.seconds.toFixed(2),
      `${r.ratio.toFixed(2)}×`,
      r.gifski.fits
        ? `${r.ours.score.ssim >= r.gifski.score.ssim ? '+' : ''}${(r.ours.score.ssim - r.gifski.score.ssim).toFixed(4)}`
        : '—',
      a,
    ];
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(w[i]!)).join(' | ')} |`;
  lines.push(line(head), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...body.map(line));
  lines.push('');
  const runs = rows[0]?.runs ?? 0;
  const slow = rows.filter((r) => r.ratio > 1);
  const film = rows.find(
    (r) => r.req.src === BBB && r.req.width === 320 && r.req.maxBytes === 256 * KiB,
  );
  lines.push(
    `1. Time ≤ ffmpeg + one gifski run (medians of ${runs} interleaved runs): ${rows.length - slow.length}/${rows.length} requests` +
      (slow.length
        ? `; slower on ${slow.map((r) => `${r.req.id} (${r.ratio.toFixed(2)}×)`).join('; ')}`
        : '') +
      (film ? `. Film 320 px @ 256 KiB: ${film.ratio.toFixed(2)}× (goal ≤ 0.6×).` : '.'),
  );
  const vs = rows.filter((r) => r.gifski.fits);
  const behind = vs.filter((r) => r.ours.score.ssim < r.gifski.score.ssim);
  lines.push(
    `2. SSIM ≥ gifski's where gifski fits: ${vs.length - behind.length}/${vs.length}` +
      (behind.length
        ? `; behind on ${behind.map((r) => `${r.req.id} (${(r.ours.score.ssim - r.gifski.score.ssim).toFixed(4)})`).join('; ')}`
        : '') +
      '.',
  );
  const lowered = rows.filter((r) => r.ours.adapted.quality);
  const short = lowered.filter((r) => r.ours.bytes < 0.95 * r.req.maxBytes);
  lines.push(
    `3. Fill of stickers whose quality was lowered: ${lowered.map((r) => `${((100 * r.ours.bytes) / r.req.maxBytes).toFixed(1)} %`).join(', ') || 'none lowered'}` +
      ` (${lowered.length - short.length}/${lowered.length} ≥ 95 %).`,
  );
  const over = rows.filter((r) => r.ours.bytes > r.req.maxBytes);
  lines.push(`4. Within budget: ${rows.length - over.length}/${rows.length}.`);
  return lines;
}
