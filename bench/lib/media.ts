/**
 * Benchmark footage: Big Buck Bunny (shared media) and synthetic clips generated with
 * ffmpeg's lavfi sources, one per content class. Generated once into .tmp/bench and kept.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BBB, FFMPEG, WORK, must } from './proc';

/** A content class and how to make a clip of it (ffmpeg input/filter arguments). */
interface Recipe {
  kind: string;
  /** ffmpeg arguments before the output (inputs and filters), 640×360 at 24 fps, 6 s. */
  args: string[];
}

const POSTER = BBB.replace(/big-buck-bunny-480p-30s\.mp4$/, 'big-buck-bunny-480p-poster.jpg');
const MONO = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';
/** Text a screen recording scrolls through (no '%': drawtext would expand it). */
const SCREEN_TEXT = join(WORK, 'screen-text.txt');
const screenText = (): string =>
  Array.from(
    { length: 80 },
    (_, i) =>
      `${String(i + 1).padStart(3)}  const frame${i} = await source.frameAt(t + ${i} / fps, { width: ${320 + i}, crop }); // line ${i}`,
  ).join('\n');

const RECIPES = {
  // Cellular automaton (rule 110 scrolling): every row new, hard for any palette/LZW.
  cellauto: {
    kind: 'animation',
    args: [
      '-f',
      'lavfi',
      '-i',
      'cellauto=s=320x180:rule=110:rate=24:scroll=1:start_full=1,scale=640:360:flags=neighbor,format=yuv420p',
    ],
  },
  // A slowly moving gradient under strong temporal noise.
  gradient: {
    kind: 'noise',
    args: [
      '-f',
      'lavfi',
      '-i',
      'gradients=s=640x360:rate=24:speed=0.02:c0=0x2040a0:c1=0xe0a040,noise=alls=18:allf=t+u,format=yuv420p',
    ],
  },
  // Zooming fractal: smooth colour detail everywhere, changing every frame.
  mandelbrot: {
    kind: 'animation',
    args: ['-f', 'lavfi', '-i', 'mandelbrot=s=640x360:rate=24:end_scale=0.05,format=yuv420p'],
  },
  // Flat test graphics with text and a moving gradient patch.
  testsrc: {
    kind: 'flat graphics',
    args: ['-f', 'lavfi', '-i', 'testsrc2=s=640x360:rate=24,format=yuv420p'],
  },
  // A fast pan over a film still (~900 px/s).
  pan: {
    kind: 'fast motion',
    args: [
      '-loop',
      '1',
      '-framerate',
      '24',
      '-i',
      POSTER,
      '-vf',
      "scale=1280:-2,crop=640:360:x='mod(t*900,640)':y=(ih-360)/2,format=yuv420p",
    ],
  },
  // Film with a fade in and out (BBB 14–20 s).
  fades: {
    kind: 'fades',
    args: [
      '-ss',
      '14',
      '-i',
      BBB,
      '-vf',
      'scale=640:360,fade=in:st=0:d=2.5,fade=out:st=3.5:d=2.5,format=yuv420p',
    ],
  },
  // Game of Life: two flat colours on a coarse grid (pixel art).
  life: {
    kind: 'pixel art',
    args: [
      '-f',
      'lavfi',
      '-i',
      'life=s=160x90:rate=24:ratio=0.3:mold=0:life_color=0xf0c020:death_color=0x202048:seed=7,scale=640:360:flags=neighbor,format=yuv420p',
    ],
  },
  // Flat cartoon: a sky, grass, a ball bouncing across, a cloud drifting.
  cartoon: {
    kind: 'flat cartoon',
    args: [
      '-f',
      'lavfi',
      '-i',
      "color=c=0x87ceeb:s=640x360:rate=24,drawbox=x=0:y=280:w=640:h=80:color=0x40a040:t=fill,drawbox=x='40+mod(t*160\\,520)':y='200-60*abs(sin(t*4))':w=80:h=80:color=0xe04030:t=fill,drawbox=x='500-mod(t*90\\,480)':y='60+20*sin(t*2)':w=120:h=50:color=white:t=fill,drawbox=x=560:y=20:w=50:h=50:color=0xffd020:t=fill,format=yuv420p",
    ],
  },
  // Screen recording: monospace text scrolling on white, a cursor block moving over it.
  screen: {
    kind: 'screen',
    args: [
      '-f',
      'lavfi',
      '-i',
      `color=c=white:s=640x360:rate=24,drawtext=fontfile=${MONO}:textfile=${SCREEN_TEXT}:fontsize=13:fontcolor=0x202020:x=12:y='8-t*30':line_spacing=3,drawbox=x='100+60*t':y='120+25*t':w=10:h=16:color=black:t=fill,format=yuv420p`,
    ],
  },
  // Dark scene: film darkened, with a slow fade out.
  dark: {
    kind: 'dark, fades',
    args: [
      '-ss',
      '2',
      '-i',
      BBB,
      '-vf',
      'scale=640:360,eq=brightness=-0.18:gamma=0.55,fade=out:st=1:d=5,format=yuv420p',
    ],
  },
  // Pure temporal noise: the worst case.
  noise: {
    kind: 'noise',
    args: [
      '-f',
      'lavfi',
      '-i',
      'color=c=gray:s=640x360:rate=24,noise=alls=90:allf=t+u,format=yuv420p',
    ],
  },
} satisfies Record<string, Recipe>;

export type ClipName = keyof typeof RECIPES;

/** Path of a synthetic clip (6 s, 640×360, 24 fps, H.264 near-lossless), made on first use. */
export async function synthetic(name: ClipName): Promise<{ path: string; kind: string }> {
  const r = RECIPES[name];
  await mkdir(WORK, { recursive: true });
  // Named by a hash of the recipe, so a changed recipe makes its clip again.
  const path = join(
    WORK,
    `${String(name)}-${createHash('sha1').update(r.args.join(' ')).digest('hex').slice(0, 8)}.mp4`,
  );
  if (!existsSync(path)) {
    if (name === 'screen') await writeFile(SCREEN_TEXT, screenText());
    const tmp = `${path}.part.mp4`;
    await must(FFMPEG, [
      '-v',
      'error',
      '-y',
      ...r.args,
      '-t',
      '6',
      '-r',
      '24',
      '-an',
      '-c:v',
      'libx264',
      '-preset',
      'medium',
      '-crf',
      '10',
      '-pix_fmt',
      'yuv420p',
      tmp,
    ]);
    await rename(tmp, path);
  }
  return { path, kind: r.kind };
}
