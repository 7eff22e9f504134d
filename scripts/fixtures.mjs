#!/usr/bin/env node
// Generates Clipchat's synthetic test videos into <repo>/.fixtures/ (gitignored).
//
// Frame-numbered clips draw each frame's index (in presentation order, from 0) as 12
// vertical stripes, most significant bit on the left, white = 1, in the top half of the
// picture, and the complement in the bottom half. The stripes are proportional to the
// picture, so the number survives scaling, chroma subsampling, lossy coding and any crop
// that keeps the full width and some of both halves. `readFrameNumber` in
// packages/capture/test/helpers.ts reads it back.
//
// Files already present with the same generator version are kept, so a test run only
// pays for generation once. Run directly (`npm run fixtures`) to print the paths.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bump when a recipe changes: every fixture is then regenerated. */
export const GENERATOR_VERSION = 4;
export const FIXTURE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '.fixtures');

/** What each frame-numbered fixture holds (for tests that want to check without probing). */
export const FIXTURE_FACTS = {
  h264: { width: 320, height: 240, frames: 120, fps: 30000 / 1001, codec: 'h264', bframes: true },
  vp9: { width: 320, height: 240, frames: 100, fps: 25, codec: 'vp9' },
  h264film: { width: 320, height: 240, frames: 120, fps: 24, codec: 'h264', bframes: true },
  offset: { width: 320, height: 240, frames: 60, fps: 30, codec: 'h264', startOffset: 2 },
  vfr: { width: 320, height: 240, frames: 60, codec: 'h264', vfr: true },
  rotated: { width: 320, height: 240, frames: 45, fps: 30, codec: 'h264', rotation: 270 },
  noise: { width: 640, height: 360, frames: 75, fps: 25, codec: 'h264' },
  ts: { width: 320, height: 240, frames: 120, fps: 30000 / 1001, codec: 'h264', bframes: true },
  noiseLong: { width: 320, height: 180, frames: 250, fps: 25, codec: 'h264' },
  flat: { width: 640, height: 360, frames: 100, fps: 25, codec: 'h264' },
};

// One bit of the frame number N at column X; top half plain, bottom half inverted.
const BIT = '255*mod(floor(N/pow(2,11-floor(X*12/W))),2)';
const NUMBERED = `geq=lum='if(lt(Y,H/2),${BIT},255-${BIT})':cb=128:cr=128`;
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'];

function findFfmpeg() {
  if (process.env.CLIPCHAT_FFMPEG) return process.env.CLIPCHAT_FFMPEG;
  if (spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0) return 'ffmpeg';
  return createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg').path;
}

/** The bundled ffmpeg 4.1 still writes the mp4 `rotate` tag through -metadata. */
function bundledFfmpeg() {
  try {
    return createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg').path;
  } catch {
    return findFfmpeg();
  }
}

/** Each recipe writes `out` (a temporary path) with ffmpeg, or with plain file writes. */
const RECIPES = {
  h264: {
    file: 'h264-bframes-29.97.mp4',
    ff: (out) => [
      '-f',
      'lavfi',
      '-i',
      'color=gray:s=320x240:r=30000/1001',
      '-frames:v',
      '120',
      '-vf',
      NUMBERED,
      ...X264,
      '-bf',
      '3',
      '-g',
      '60',
      '-sc_threshold',
      '0',
      out,
    ],
  },
  vp9: {
    file: 'vp9-25.webm',
    ff: (out) => [
      '-f',
      'lavfi',
      '-i',
      'color=gray:s=320x240:r=25',
      '-frames:v',
      '100',
      '-vf',
      `${NUMBERED},format=yuv420p`,
      '-c:v',
      'libvpx-vp9',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-crf',
      '32',
      '-b:v',
      '0',
      '-g',
      '50',
      out,
    ],
  },
  // Film rate: 24 fps with B-frames (frame times that are not a multiple of 1/30 s).
  h264film: {
    file: 'h264-bframes-24.mp4',
    ff: (out) => [
      '-f',
      'lavfi',
      '-i',
      'color=gray:s=320x240:r=24',
      '-frames:v',
      '120',
      '-vf',
      NUMBERED,
      ...X264,
      '-bf',
      '3',
      '-g',
      '48',
      '-sc_threshold',
      '0',
      out,
    ],
  },
  // A 2 s container start offset, plus an audio track the source must ignore.
  offset: {
    file: 'h264-offset-2s.mp4',
    ff: (out) => [
      '-f',
      'lavfi',
      '-i',
      'color=gray:s=320x240:r=30',
      '-f',
      'lavfi',
      '-i',
      'sine=f=440:r=48000',
      '-frames:v',
      '60',
      '-t',
      '2',
      '-vf',
      NUMBERED,
      ...X264,
      '-bf',
      '2',
      '-c:a',
      'aac',
      '-shortest',
      '-output_ts_offset',
      '2',
      out,
    ],
  },
  // Irregular frame durations cycling 30, 100, 120 ms (pts in ms), with B-frames.
  // (-enc_time_base keeps the millisecond pts; ffmpeg 4.1 lacks it and rounds to 1/30 s.)
  vfr: {
    file: 'h264-vfr.mp4',
    ff: (out, _p, old) => [
      '-f',
      'lavfi',
      '-i',
      'color=gray:s=320x240:r=30',
      '-frames:v',
      '60',
      '-vf',
      `${NUMBERED},settb=1/1000,setpts='(floor(N/3)*0.25+eq(mod(N,3),1)*0.03+eq(mod(N,3),2)*0.13)/TB'`,
      ...X264,
      '-bf',
      '2',
      '-vsync',
      'passthrough',
      ...(old ? [] : ['-enc_time_base', '1:1000']),
      '-video_track_timescale',
      '1000',
      out,
    ],
  },
  // Stored turned a quarter clockwise with display-matrix metadata turning it back, so
  // only a source that honours rotation reads upright 320x240 numbered frames.
  rotatedRaw: {
    file: 'rotated-raw.mp4',
    hidden: true,
    ff: (out) => [
      '-f',
      'lavfi',
      '-i',
      'color=gray:s=320x240:r=30',
      '-frames:v',
      '45',
      '-vf',
      `${NUMBERED},transpose=clock`,
      ...X264,
      out,
    ],
  },
  rotated: {
    file: 'h264-rotated.mp4',
    deps: ['rotatedRaw'],
    bin: bundledFfmpeg,
    ff: (out, p) => ['-i', p.rotatedRaw, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', out],
  },
  // Sticker material: noise (hard to compress) and flat moving graphics (easy).
  noise: {
    file: 'noise-640x360.mp4',
    ff: (out) => [
      '-f',
      'lavfi',
      '-i',
      'color=gray:s=640x360:r=25',
      '-frames:v',
      '75',
      '-vf',
      'noise=alls=90:allf=t+u,format=yuv420p',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '18',
      out,
    ],
  },
  // The B-frame clip in MPEG-TS: no index, a 1.4 s start, 90 kHz timestamps.
  ts: {
    file: 'h264-bframes.ts',
    deps: ['h264'],
    ff: (out, p) => ['-i', p.h264, '-c', 'copy', '-f', 'mpegts', out],
  },
  // Long, small noise: no sensible sticker of it fits the smallest budget.
  noiseLong: {
    file: 'noise-long-320x180.mp4',
    ff: (out) => [
      '-f',
      'lavfi',
      '-i',
      'color=gray:s=320x180:r=25',
      '-frames:v',
      '250',
      '-vf',
      'noise=alls=90:allf=t+u,format=yuv420p',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '23',
      out,
    ],
  },
  flat: {
    file: 'flat-640x360.mp4',
    ff: (out) => ['-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=25', '-frames:v', '100', ...X264, out],
  },
  // Bad inputs.
  text: {
    file: 'not-a-video.mp4',
    write: () => Buffer.from('This is a text file that only pretends to be a video.\n'.repeat(20)),
  },
  empty: { file: 'empty.mp4', write: () => Buffer.alloc(0) },
  // Cut before the index (ffmpeg writes moov last), so no demuxer can open it.
  truncated: {
    file: 'truncated.mp4',
    deps: ['h264'],
    write: (p) => readFileSync(p.h264).subarray(0, 3000),
  },
  // Index intact, coded pictures overwritten: opens, but no frame decodes.
  garbled: {
    file: 'garbled.mp4',
    deps: ['garbledRaw'],
    write: (p) => garble(readFileSync(p.garbledRaw)),
  },
  garbledRaw: {
    file: 'garbled-raw.mp4',
    hidden: true,
    ff: (out) => [
      '-f',
      'lavfi',
      '-i',
      'color=gray:s=320x240:r=25',
      '-frames:v',
      '25',
      '-vf',
      NUMBERED,
      ...X264,
      '-movflags',
      '+faststart',
      out,
    ],
  },
};

/** Overwrites the payload of the `mdat` box with pseudo-random bytes. */
function garble(buf) {
  const out = Buffer.from(buf);
  let pos = 0;
  while (pos + 8 <= out.length) {
    const size = out.readUInt32BE(pos);
    const type = out.toString('latin1', pos + 4, pos + 8);
    if (type === 'mdat') {
      let x = 12345;
      for (let i = pos + 8; i < Math.min(pos + size, out.length); i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        out[i] = x >>> 24;
      }
      return out;
    }
    if (size < 8) break;
    pos += size;
  }
  throw new Error('garble: no mdat box');
}

function run(bin, args) {
  return new Promise((ok, fail) => {
    const child = spawn(bin, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0
        ? ok()
        : fail(new Error(`ffmpeg failed (${code}) for ${args.at(-1)}: ${err.trim()}`)),
    );
  });
}

function readManifest() {
  try {
    return JSON.parse(readFileSync(join(FIXTURE_DIR, 'manifest.json'), 'utf8'));
  } catch {
    return {};
  }
}

/**
 * Makes sure every fixture exists (generating what is missing or stale) and returns
 * `{name: absolutePath}` for h264, vp9, h264film, offset, vfr, rotated, ts, noise, noiseLong, flat, text, empty,
 * truncated, garbled.
 */
export async function ensureFixtures() {
  mkdirSync(FIXTURE_DIR, { recursive: true });
  const paths = Object.fromEntries(
    Object.entries(RECIPES).map(([k, r]) => [k, join(FIXTURE_DIR, r.file)]),
  );
  const manifest = readManifest();
  const fresh = (k) => manifest[k] === GENERATOR_VERSION && existsSync(paths[k]);
  const done = new Map();
  const make = (k) => {
    if (!done.has(k)) {
      done.set(
        k,
        (async () => {
          const r = RECIPES[k];
          for (const d of r.deps ?? []) await make(d);
          if (fresh(k) && (r.deps ?? []).every(fresh)) return;
          // Written under a unique name then renamed, so concurrent runs never see half a file.
          const tmp = `${paths[k]}.${process.pid}.tmp${r.file.slice(r.file.lastIndexOf('.'))}`;
          try {
            if (r.write) writeFileSync(tmp, r.write(paths));
            else {
              const bin = (r.bin ?? findFfmpeg)();
              await run(bin, r.ff(tmp, paths, false)).catch(() => run(bin, r.ff(tmp, paths, true)));
            }
            renameSync(tmp, paths[k]);
          } finally {
            rmSync(tmp, { force: true });
          }
          manifest[k] = GENERATOR_VERSION;
        })(),
      );
    }
    return done.get(k);
  };
  // Two at a time: the machine is shared.
  const keys = Object.keys(RECIPES);
  const queue = [...keys];
  await Promise.all(
    [0, 1].map(async () => {
      while (queue.length) await make(queue.shift());
    }),
  );
  const merged = { ...readManifest(), ...manifest };
  const mtmp = join(FIXTURE_DIR, `manifest.${process.pid}.tmp`);
  writeFileSync(mtmp, JSON.stringify(merged, null, 1));
  renameSync(mtmp, join(FIXTURE_DIR, 'manifest.json'));
  return Object.fromEntries(keys.filter((k) => !RECIPES[k].hidden).map((k) => [k, paths[k]]));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const paths = await ensureFixtures();
  for (const [k, p] of Object.entries(paths)) console.log(`${k.padEnd(10)} ${p}`);
  console.error(`fixtures ready in ${Date.now() - t0} ms`);
}
