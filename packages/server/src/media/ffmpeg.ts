/**
 * Locates ffmpeg/ffprobe for probing WebM uploads. Prefers the engine's finder
 * (`findFfmpeg` from `@clipchat/capture/node`); falls back to `CLIPCHAT_FFMPEG`, PATH and
 * `@ffmpeg-installer/ffmpeg` in the same order when that entry point is unavailable.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

function isExecutable(path: string): boolean {
  try { return statSync(path).isFile() && (accessSync(path, constants.X_OK), true); } catch { return false; }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}

let tools: Promise<{ ffmpeg: string | null; ffprobe: string | null }> | undefined;

/** Paths of ffmpeg and ffprobe (either may be null). Cached for the process. */
export function findTools(): Promise<{ ffmpeg: string | null; ffprobe: string | null }> {
  tools ??= (async () => {
    let ffmpeg: string | null = null;
    try {
      const spec = '@clipchat/capture/node';
      const mod = (await import(/* @vite-ignore */ spec)) as { findFfmpeg?: () => string };
      if (mod.findFfmpeg) ffmpeg = mod.findFfmpeg();
    } catch { /* engine entry point not available: local lookup below */ }
    if (!ffmpeg) {
      const env = process.env.CLIPCHAT_FFMPEG;
      if (env && isExecutable(env)) ffmpeg = env;
      else ffmpeg = onPath('ffmpeg');
      if (!ffmpeg) {
        try {
          const p = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
          if (isExecutable(p)) ffmpeg = p;
        } catch { /* none */ }
      }
    }
    const sibling = ffmpeg ? join(dirname(ffmpeg), 'ffprobe') : null;
    const ffprobe = sibling && isExecutable(sibling) ? sibling : onPath('ffprobe');
    return { ffmpeg, ffprobe };
  })();
  return tools;
}
