/**
 * Locates ffmpeg/ffprobe for probing WebM uploads: ffmpeg through the engine's own finder
 * (`CLIPCHAT_FFMPEG`, then PATH, then `@ffmpeg-installer/ffmpeg`), ffprobe beside it or on
 * PATH when there is one.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { findFfmpeg } from '@clipchat/capture/node';

function isExecutable(path: string): boolean {
  try {
    return statSync(path).isFile() && (accessSync(path, constants.X_OK), true);
  } catch {
    return false;
  }
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
      ffmpeg = findFfmpeg();
    } catch {
      /* none usable: WebM uploads are refused with a clear error */
    }
    const sibling = ffmpeg ? join(dirname(ffmpeg), 'ffprobe') : null;
    const ffprobe = sibling && isExecutable(sibling) ? sibling : onPath('ffprobe');
    return { ffmpeg, ffprobe };
  })();
  return tools;
}
