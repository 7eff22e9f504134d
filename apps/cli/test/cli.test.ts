/**
 * The `clipchat` command as a user runs it: real processes on generated clips and on
 * Big Buck Bunny, outputs decoded by ffprobe/ffmpeg/sharp, and every bad input refused
 * with one line and no output file left behind.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureFixtures,
  frameIndexAt,
  NO_FOOTAGE,
  probeFrameTimes,
  readFrameNumber,
  type FixtureName,
} from '../../../packages/capture/test/helpers';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'apps/cli/bin/clipchat.mjs');
const BBB = '../shared/media/big-buck-bunny-480p-30s.mp4';
let fx: Record<FixtureName, string>;
const out = mkdtempSync(join(tmpdir(), 'clipchat-cli-'));
beforeAll(async () => {
  fx = await ensureFixtures();
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function clipchat(args: string[], onSpawn?: (pid: number) => void): Promise<Run> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CLIPCHAT_DEBUG: '' },
    });
    const so: Buffer[] = [];
    let se = '';
    child.stdout.on('data', (d: Buffer) => so.push(d));
    child.stderr.on('data', (d: Buffer) => {
      se += d.toString();
    });
    child.on('close', (code) => ok({ code, stdout: Buffer.concat(so), stderr: se }));
    onSpawn?.(child.pid!);
  });
}

function json(r: Run): Record<string, any> {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.toString().trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!);
}

/** Every frame of an animation, decoded by ffmpeg, as RGBA buffers. */
function decodeFrames(path: string, width: number, height: number): Buffer[] {
  const raw = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', path, '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'],
    { maxBuffer: 1 << 30 },
  );
  const n = width * height * 4;
  return Array.from({ length: raw.length / n }, (_, i) => raw.subarray(i * n, (i + 1) * n));
}

function ffprobe(path: string): { codec: string; frames: number; duration: number } {
  const j = JSON.parse(
    execFileSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-count_frames',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=codec_name,nb_read_frames:format=duration',
        '-of',
        'json',
        path,
      ],
      { encoding: 'utf8' },
    ),
  );
  return {
    codec: j.streams[0].codec_name,
    frames: Number(j.streams[0].nb_read_frames),
    duration: Number(j.format.duration),
  };
}

describe('clipchat grab', () => {
  it('writes the exact frame, in the format the flags or the file name ask for', async () => {
    const times = probeFrameTimes(fx.h264);
    const t = times[50]!; // exactly on a frame boundary
    for (const [name, flags, fmt] of [
      ['a.jpg', [], 'jpeg'],
      ['b.img', ['-f', 'webp', '-q', '70'], 'webp'],
      ['c.png', [], 'png'],
      ['d.tif', [], 'tiff'],
    ] as const) {
      const file = join(out, name);
      const r = json(
        await clipchat(['grab', fx.h264, '--at', String(t), ...flags, '-o', file, '--json']),
      );
      expect(r).toMatchObject({
        file,
        format: fmt,
        width: 320,
        height: 240,
        frames: 1,
        bytes: statSync(file).size,
        frameIndex: 50,
      });
      expect(Object.keys(r.timings)).toEqual(['decodeMs', 'encodeMs', 'totalMs']);
      const { data, info } = await sharp(file)
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect((await sharp(file).metadata()).format).toBe(fmt);
      expect(readFrameNumber(data, info.width, info.height)).toBe(50);
      rmSync(file);
    }
  });

  it('grabs from Big Buck Bunny with a crop and a width, and prints a sentence without --json', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const file = join(out, 'bbb.png');
    const r = await clipchat([
      'grab',
      BBB,
      '--at',
      '0:12.5',
      '--crop',
      '100,40,400,300',
      '--width',
      '200',
      '-o',
      file,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(
      /^wrote .*bbb\.png: png 200x150, frame \d+ at 0:12\.5, [\d.]+ KiB in \d+ ms\n$/,
    );
    const meta = await sharp(file).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 200, 150]);
    rmSync(file);
    // '-o -' writes the image to stdout.
    const s = await clipchat(['grab', fx.vp9, '--at', '2', '-f', 'bmp', '-o', '-']);
    expect(s.code).toBe(0);
    expect(s.stdout.subarray(0, 2).toString()).toBe('BM');
    expect(s.stderr).toMatch(/^wrote stdout: bmp 320x240, frame 50 at 0:02/);
  });
});

describe('clipchat clip', () => {
  it('writes a GIF whose frames are the sampled ones and whose delays add up to the range', async () => {
    const file = join(out, 'numbered.gif');
    const r = json(
      await clipchat([
        'clip',
        fx.h264,
        '--from',
        '1',
        '--to',
        '2',
        '--fps',
        '10',
        '-o',
        file,
        '--json',
      ]),
    );
    expect(r).toMatchObject({
      file,
      format: 'gif',
      width: 320,
      height: 240,
      fps: 10,
      durationMs: 1000,
      bytes: statSync(file).size,
    });
    expect(r.frames).toBe(10);
    const probe = ffprobe(file);
    expect(probe.codec).toBe('gif');
    expect(probe.duration).toBeCloseTo(1, 2);
    const times = probeFrameTimes(fx.h264);
    const frames = decodeFrames(file, 320, 240);
    expect(frames.map((f) => readFrameNumber(f, 320, 240))).toEqual(
      Array.from({ length: 10 }, (_, k) => frameIndexAt(times, 1 + k / 10)),
    );
    rmSync(file);
  });

  it('makes a 3 s, 12 fps, 320 px sticker of Big Buck Bunny within the default budget', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
    const file = join(out, 'bbb.gif');
    const r = json(
      await clipchat([
        'clip',
        BBB,
        '--from',
        '10',
        '--to',
        '13',
        '--fps',
        '12',
        '--width',
        '320',
        '-o',
        file,
        '--json',
      ]),
    );
    expect(r).toMatchObject({
      format: 'gif',
      width: 320,
      height: 180,
      frames: 36,
      fps: 12,
      durationMs: 3000,
    });
    expect(r.bytes).toBeLessThanOrEqual(1048576);
    const meta = await sharp(file, { pages: -1 }).metadata();
    expect([meta.format, meta.pages, meta.width]).toEqual(['gif', 36, 320]);
    expect(ffprobe(file).duration).toBeCloseTo(3, 2);
    rmSync(file);
  });

  it('follows a preset and a budget, for GIF, WebM and WebP', async () => {
    const gif = join(out, 'slack.gif');
    const g = json(
      await clipchat([
        'clip',
        fx.flat,
        '--from',
        '0',
        '--to',
        '1',
        '--preset',
        'slack',
        '-o',
        gif,
        '--json',
      ]),
    );
    // Slack's emoji is exactly 128×128 (the 16:9 frame letterboxed with transparent bars).
    expect(g).toMatchObject({ format: 'gif', width: 128, height: 128, maxBytes: 131072 });
    expect(g.bytes).toBeLessThanOrEqual(131072);
    const webm = join(out, 'sticker.webm');
    const r = json(
      await clipchat([
        'clip',
        fx.flat,
        '--from',
        '0',
        '--to',
        '1',
        '-f',
        'webm',
        '--width',
        '160',
        '-o',
        webm,
        '--json',
      ]),
    );
    expect(r).toMatchObject({ format: 'webm', fps: 12, width: 160, height: 90 });
    expect(ffprobe(webm)).toMatchObject({ codec: 'vp9', frames: 12 });
    const webp = join(out, 'sticker.webp');
    const w = json(
      await clipchat([
        'clip',
        fx.noise,
        '--from',
        '0',
        '--to',
        '1',
        '--max-bytes',
        '100KB',
        '-o',
        webp,
        '--json',
      ]),
    );
    expect(w.format).toBe('webp');
    expect(w.bytes).toBeLessThanOrEqual(100_000);
    expect(statSync(webp).size).toBe(w.bytes);
    expect(Object.keys(w.adapted).length).toBeGreaterThan(0); // noise needed fitting, and says how
    expect((await sharp(webp, { pages: -1 }).metadata()).pages).toBe(w.frames);
  });
});

describe('bad input', () => {
  const cases: Array<[string, () => string[], RegExp, number]> = [
    [
      'missing file',
      () => ['grab', '/no/such/clip.mp4', '--at', '1'],
      /^no such file: \/no\/such\/clip\.mp4$/,
      1,
    ],
    [
      'not a video',
      () => ['grab', fx.text, '--at', '1'],
      /^not-a-video\.mp4 is not a video ffmpeg can read/,
      1,
    ],
    [
      'empty file',
      () => ['clip', fx.empty, '--from', '0', '--to', '1'],
      /^empty\.mp4 is empty \(0 bytes\), not a video$/,
      1,
    ],
    [
      'truncated file',
      () => ['grab', fx.truncated, '--at', '1'],
      /^truncated\.mp4 is truncated or incomplete/,
      1,
    ],
    [
      'undecodable stream',
      () => ['grab', fx.garbled, '--at', '0.5'],
      /^cannot decode the h264 video in garbled\.mp4 \(undecodable or encrypted stream/,
      1,
    ],
    [
      'time past the end',
      () => ['grab', fx.vp9, '--at', '4'],
      /past the end of vp9-25\.webm \(duration 0:04;/,
      2,
    ],
    [
      'range past the end',
      () => ['clip', fx.vp9, '--from', '3', '--to', '4.5'],
      /past the end of the video \(duration 4\.000 s\)/,
      2,
    ],
    [
      '--to not after --from',
      () => ['clip', fx.vp9, '--from', '2', '--to', '1.5'],
      /^--to \(0:01\.5\) must be after --from \(0:02\)$/,
      2,
    ],
    [
      'range too long',
      () => ['clip', fx.vp9, '--from', '0', '--to', '3', '--max-clip-seconds', '2'],
      /is 3 s long; --max-clip-seconds allows at most 2 s$/,
      2,
    ],
    [
      'malformed time',
      () => ['grab', fx.vp9, '--at', '1:2:3:4'],
      /^--at must be a time like 90, 90\.5, 1:30, 1:30\.5 or 01:01:30\.250, got "1:2:3:4"$/,
      2,
    ],
    [
      'negative time',
      () => ['clip', fx.vp9, '--from', '-1', '--to', '1'],
      /^--from must be a time like/,
      2,
    ],
    [
      'unknown still format',
      () => ['grab', fx.vp9, '--at', '1', '-f', 'heic'],
      /^Still format must be one of png, jpeg, webp, avif, gif, bmp, tiff, got "heic" \(-f\)$/,
      2,
    ],
    [
      'unknown sticker format',
      () => ['clip', fx.vp9, '--from', '0', '--to', '1', '-f', 'apng'],
      /^Sticker format must be one of gif, webp, webm, got "apng" \(-f\)$/,
      2,
    ],
    [
      'unknown preset',
      () => ['clip', fx.vp9, '--from', '0', '--to', '1', '--preset', 'tiktok'],
      /^unknown preset "tiktok"; known presets: clipchat, telegram, discord, slack, whatsapp/,
      2,
    ],
    [
      'fps too high for GIF',
      () => ['clip', fx.vp9, '--from', '0', '--to', '1', '--fps', '60'],
      /^Frames per second must be 1–50 for GIF, got 60 \(--fps\)$/,
      2,
    ],
    [
      'fps zero',
      () => ['clip', fx.vp9, '--from', '0', '--to', '1', '--fps', '0', '-f', 'webm'],
      /^Frames per second must be 1–60 for WebM, got 0 \(--fps\)$/,
      2,
    ],
    [
      'quality out of range',
      () => ['grab', fx.vp9, '--at', '1', '-q', '101'],
      /^Still quality must be 1–100, got 101 \(-q\)$/,
      2,
    ],
    [
      'crop outside the frame',
      () => ['grab', fx.vp9, '--at', '1', '--crop', '300,200,40,40'],
      /^The crop 300, 200, 40×40 reaches outside the 320×240 video: keep it inside the frame \(--crop\)$/,
      2,
    ],
    [
      'crop outside the frame (clip)',
      () => ['clip', fx.vp9, '--from', '0', '--to', '1', '--crop', '0,0,321,10'],
      /^The crop 0, 0, 321×10 reaches outside the 320×240 video: keep it inside the frame \(--crop\)$/,
      2,
    ],
    [
      'malformed crop',
      () => ['grab', fx.vp9, '--at', '1', '--crop', '10,10'],
      /^--crop must be x,y,width,height/,
      2,
    ],
    // Words, not field names, and what a crop looks like.
    [
      'crop typed as abc',
      () => ['clip', fx.vp9, '--from', '0', '--to', '1', '--crop', 'abc'],
      /^--crop must be x,y,width,height in whole video pixels \(for example 0,0,320,240; width and height ≥ 1\), got "abc"$/,
      2,
    ],
    [
      'empty crop',
      () => ['grab', fx.vp9, '--at', '1', '--crop='],
      /^--crop needs a value: x,y,width,height/,
      2,
    ],
    [
      'empty fps',
      () => ['clip', fx.vp9, '--from', '0', '--to', '1', '--fps='],
      /^--fps needs a value: a number$/,
      2,
    ],
    [
      'no field names',
      () => ['clip', fx.vp9, '--from', '0', '--to', '1', '--max-clip-seconds', '50'],
      /^Longest sticker must be 0\.1–30 s, got 50 \(--max-clip-seconds\)$/,
      2,
    ],
    [
      'malformed budget',
      () => ['clip', fx.vp9, '--from', '0', '--to', '1', '--max-bytes', '2 lots'],
      /^Sticker size limit must be a size like 500 KB, 1 MB or 256 KiB .*got "2 lots" \(--max-bytes\)$/,
      2,
    ],
    [
      'budget below the minimum',
      () => ['clip', fx.vp9, '--from', '0', '--to', '1', '--max-bytes', '1KB'],
      /^Sticker size limit must be 16 KiB–8 MiB, got 1 KB \(--max-bytes\)$/,
      2,
    ],
    // 30 s of film in 16 KiB: even 64 px at 4 fps and the lowest quality needs more.
    [
      'a budget nothing fits',
      () => [
        'clip',
        BBB,
        '--from',
        '0',
        '--to',
        '30',
        '--max-clip-seconds',
        '30',
        '--max-bytes',
        '16KiB',
        '--fps',
        '4',
        '--width',
        '64',
      ],
      /^A sticker size limit of 16 KiB is too small: .*needs \d+ bytes.*allow at least [\d.]+ (bytes|KB|KiB) or shorten the range \(--max-bytes\)$/,
      1,
    ],
    [
      'unknown option',
      () => ['grab', fx.vp9, '--at', '1', '--speed', 'fast'],
      /^unknown option --speed$/,
      2,
    ],
    ['missing --at', () => ['grab', fx.vp9], /^missing --at <time>$/, 2],
    [
      'missing video',
      () => ['clip', '--from', '0', '--to', '1'],
      /^missing the video to clip from$/,
      2,
    ],
    ['flag without value', () => ['grab', fx.vp9, '--at'], /^--at needs a value$/, 2],
  ];

  // Independent runs, a few at a time; those on real footage only with it.
  it.concurrent.each(cases.filter((c) => !NO_FOOTAGE || c[0] !== 'a budget nothing fits'))(
    '%s: one line on stderr, a non-zero exit, no output file',
    async (_name, args, re, code) => {
      const dir = mkdtempSync(join(out, 'bad-'));
      const r = await clipchat([...args(), '-o', join(dir, 'out.gif')]);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^clipchat (grab|clip): /);
      expect(lines[0]!.replace(/^clipchat (grab|clip): /, '')).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.code).toBe(code);
      expect(readdirSync(dir)).toEqual([]); // not even a temporary file
      rmSync(dir, { recursive: true });
    },
  );

  it('refuses a missing output and unknown commands', async () => {
    const r = await clipchat(['grab', fx.vp9, '--at', '1']);
    expect([r.code, r.stderr]).toEqual([2, 'clipchat grab: missing -o <file>\n']);
    const d = await clipchat(['grab', fx.vp9, '--at', '1', '-o', '/no/such/dir/x.png']);
    expect([d.code, d.stderr]).toEqual([
      2,
      'clipchat grab: cannot write /no/such/dir/x.png: folder /no/such/dir does not exist\n',
    ]);
    const u = await clipchat(['gif', 'x']);
    expect([u.code, u.stderr]).toEqual([
      2,
      'clipchat: unknown command "gif"; commands: grab, clip, serve\n',
    ]);
    const n = await clipchat([]);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/^usage: clipchat <command>/);
    const h = await clipchat(['clip', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout.toString()).toMatch(/--max-bytes N/);
  });

  it('stops on Ctrl-C, leaving no output file and no ffmpeg behind', async () => {
    const dir = mkdtempSync(join(out, 'cancel-'));
    const file = join(dir, 'long.gif');
    let pid = 0;
    const running = clipchat(
      [
        'clip',
        fx.noiseLong,
        '--from',
        '0',
        '--to',
        '9',
        '--max-clip-seconds',
        '10',
        '--fps',
        '25',
        '--max-bytes',
        '20KiB',
        '-o',
        file,
      ],
      (p) => {
        pid = p;
      },
    );
    // Let it get into decoding (its decoding ffmpeg, the one with a filter graph, is
    // running), then interrupt as a terminal would. Waiting on the process, not the clock:
    // a fast machine finishes this clip in about two seconds.
    const decoding = () =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .some((l) => l.includes('ffmpeg') && l.includes('noise-long') && l.includes('-vf'));
    for (let i = 0; i < 1000 && !decoding(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(decoding()).toBe(true);
    process.kill(pid, 'SIGINT');
    const r = await running;
    expect(r.stderr).toBe('clipchat clip: cancelled\n');
    expect(r.code).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l.includes('ffmpeg') && l.includes('noise-long'))).toEqual(
      [],
    );
  });
});
