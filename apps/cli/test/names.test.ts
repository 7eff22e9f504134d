/**
 * Output names, formats and presets on the command line, as a user runs them: a name whose
 * extension says another format is refused in one line (exit 2, no file), with no -f the
 * name chooses, `-o - --json` keeps stdout to the image's bytes, every flag is in --help,
 * and presets refuse overrides their platform would refuse.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures, type FixtureName } from '../../../packages/capture/test/helpers';
import { FLAGS as CLIP_FLAGS, USAGE as CLIP_USAGE } from '../src/commands/clip.ts';
import { FLAGS as GRAB_FLAGS, USAGE as GRAB_USAGE } from '../src/commands/grab.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'apps/cli/bin/clipchat.mjs');
let fx: Record<FixtureName, string>;
const out = mkdtempSync(join(tmpdir(), 'clipchat-names-'));
beforeAll(async () => {
  fx = await ensureFixtures();
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function clipchat(args: string[]): Promise<Run> {
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
  });
}

describe('output names and formats', () => {
  const refused: Array<[string, (dir: string) => string[], RegExp]> = [
    [
      '-f gif -o x.mp4',
      (d) => ['clip', fx.flat, '--from', '0', '--to', '1', '-f', 'gif', '-o', join(d, 'x.mp4')],
      /^clipchat clip: -o \S+x\.mp4 names an MP4 file, but -f gif writes GIF: name it \.gif or change the format$/,
    ],
    [
      '--preset telegram -o t.gif',
      (d) => [
        'clip',
        fx.flat,
        '--from',
        '0',
        '--to',
        '1',
        '--preset',
        'telegram',
        '-o',
        join(d, 't.gif'),
      ],
      /^clipchat clip: -o \S+t\.gif names a GIF file, but --preset telegram writes WebM: name it \.webm/,
    ],
    [
      '-f png -o x.jpg',
      (d) => ['grab', fx.flat, '--at', '1', '-f', 'png', '-o', join(d, 'x.jpg')],
      /^clipchat grab: -o \S+x\.jpg names a JPEG file, but -f png writes PNG: name it \.png/,
    ],
    [
      'clip with no -f -o x.mp4',
      (d) => ['clip', fx.flat, '--from', '0', '--to', '1', '-o', join(d, 'x.mp4')],
      /names an MP4 file, but clip writes GIF/,
    ],
    [
      '--preset telegram --fps 60',
      (d) => [
        'clip',
        fx.flat,
        '--from',
        '0',
        '--to',
        '1',
        '--preset',
        'telegram',
        '--fps',
        '60',
        '-o',
        join(d, 't.webm'),
      ],
      /^clipchat clip: Telegram video sticker allows at most 30 fps, got 60 \(--fps\)$/,
    ],
    [
      '--preset whatsapp --max-bytes 1MiB',
      (d) => [
        'clip',
        fx.flat,
        '--from',
        '0',
        '--to',
        '1',
        '--preset',
        'whatsapp',
        '--max-bytes',
        '1MiB',
        '-o',
        join(d, 'w.webp'),
      ],
      /^clipchat clip: WhatsApp sticker allows at most 500 KiB \(512000 bytes\), got 1048576 \(--max-bytes\)$/,
    ],
    [
      '--fit without a square',
      (d) => [
        'clip',
        fx.flat,
        '--from',
        '0',
        '--to',
        '1',
        '--fit',
        'cover',
        '-o',
        join(d, 'x.gif'),
      ],
      /^clipchat clip: --fit applies to square stickers \(--preset discord, slack, whatsapp\)/,
    ],
    [
      '--fit sideways',
      (d) => [
        'clip',
        fx.flat,
        '--from',
        '0',
        '--to',
        '1',
        '--preset',
        'slack',
        '--fit',
        'stretch',
        '-o',
        join(d, 'x.gif'),
      ],
      /^clipchat clip: Square fit must be one of contain, cover, got "stretch" \(--fit\)$/,
    ],
  ];
  it.concurrent.each(refused)(
    '%s: one line naming both, exit 2, no file',
    async (_name, args, re) => {
      const dir = mkdtempSync(join(out, 'bad-'));
      const r = await clipchat(args(dir));
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(re);
      expect(r.code).toBe(2);
      expect(readdirSync(dir)).toEqual([]);
    },
  );

  it('lets the name choose the format when -f is not given', async () => {
    const jpg = join(out, 'still.JPG');
    const g = await clipchat(['grab', fx.flat, '--at', '1', '-o', jpg, '--json']);
    expect([g.code, g.stderr]).toEqual([0, '']);
    expect(JSON.parse(g.stdout.toString()).format).toBe('jpeg');
    expect((await sharp(jpg).metadata()).format).toBe('jpeg');
    const webm = join(out, 'sticker.webm');
    const c = await clipchat(['clip', fx.flat, '--from', '0', '--to', '1', '-o', webm, '--json']);
    expect([c.code, c.stderr]).toEqual([0, '']);
    expect(
      execFileSync(
        'ffprobe',
        ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', webm],
        { encoding: 'utf8' },
      ).trim(),
    ).toBe('vp9');
  });

  it('says "1 frame" for a one-frame sticker', async () => {
    const gif = join(out, 'one.gif');
    const c = await clipchat(['clip', fx.flat, '--from', '0', '--to', '0.05', '-o', gif]);
    expect(c.code).toBe(0);
    expect(c.stdout.toString()).toMatch(/^wrote .*one\.gif: gif \d+x\d+, 1 frame at 12 fps, /);
  });

  it('keeps stdout to the image with -o - --json: the JSON line goes to stderr', async () => {
    const r = await clipchat(['grab', fx.flat, '--at', '1', '-o', '-', '--json']);
    expect(r.code).toBe(0);
    const png = r.stdout;
    expect(png.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    expect(png.subarray(-8).toString('latin1')).toBe('IEND\xaeB`\x82'); // nothing after the IEND chunk
    const meta = await sharp(png).metadata();
    const report = JSON.parse(r.stderr);
    expect(report).toMatchObject({
      file: '-',
      format: 'png',
      width: meta.width,
      height: meta.height,
      bytes: png.length,
    });
    const s = await clipchat(['clip', fx.flat, '--from', '0', '--to', '0.5', '-o', '-', '--json']);
    expect(s.code).toBe(0);
    expect(s.stdout.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(s.stdout[s.stdout.length - 1]).toBe(0x3b);
    expect(JSON.parse(s.stderr)).toMatchObject({
      file: '-',
      format: 'gif',
      bytes: s.stdout.length,
    });
  });

  it('lists every flag it takes in --help', async () => {
    for (const [cmd, flags, usage] of [
      ['clip', CLIP_FLAGS, CLIP_USAGE],
      ['grab', GRAB_FLAGS, GRAB_USAGE],
    ] as const) {
      const h = await clipchat([cmd, '--help']);
      expect(h.code).toBe(0);
      const text = h.stdout.toString();
      expect(text.trimEnd()).toBe(usage);
      for (const f of flags) {
        expect(text, `${cmd} --${f.name}`).toMatch(new RegExp(`(^|\\s)--${f.name}\\b`, 'm'));
        if ('short' in f && f.short)
          expect(text, `${cmd} -${f.short}`).toMatch(
            new RegExp(`(^|\\s)-${f.short}, --${f.name}\\b`, 'm'),
          );
      }
    }
  });

  it('makes a square preset sticker with --fit cover: 320×320 within 512 KiB', async () => {
    const file = join(out, 'discord.gif');
    const r = await clipchat([
      'clip',
      fx.h264,
      '--from',
      '0.5',
      '--to',
      '1.5',
      '--preset',
      'discord',
      '--fit',
      'cover',
      '-o',
      file,
      '--json',
    ]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const j = JSON.parse(r.stdout.toString());
    expect(j).toMatchObject({ format: 'gif', width: 320, height: 320 });
    expect(j.bytes).toBeLessThanOrEqual(512 * 1024);
    const m = await sharp(readFileSync(file), { animated: true }).metadata();
    expect([m.width, m.pageHeight]).toEqual([320, 320]);
  });
});
