/**
 * ffmpeg/ffprobe for checking uploads, through the engine's one finder (`CLIPCHAT_FFMPEG`,
 * then PATH, then `@ffmpeg-installer/ffmpeg`; ffprobe beside that ffmpeg or on PATH).
 */
import { findFfmpeg, findFfprobe } from '@clipchat/capture/node';

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
    return { ffmpeg, ffprobe: findFfprobe() };
  })();
  return tools;
}
