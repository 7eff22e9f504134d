/**
 * Finding and running ffmpeg in Node. The engine works with the ffmpeg 4.1 bundled by
 * `@ffmpeg-installer/ffmpeg` (so a fresh `npm install` needs no system ffmpeg) and with
 * newer ones (5.1+): it only uses options both accept.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { CancelledError, CaptureError } from './errors';

let cached: string | undefined;

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Path of the ffmpeg binary: `CLIPCHAT_FFMPEG` when set, else `ffmpeg` on PATH, else the
 * `@ffmpeg-installer/ffmpeg` dependency. The answer is cached for the process.
 * @throws CaptureError `ERR_FFMPEG` when none is usable (or CLIPCHAT_FFMPEG points nowhere).
 */
export function findFfmpeg(): string {
  if (cached) return cached;
  const env = process.env.CLIPCHAT_FFMPEG;
  if (env) {
    if (!isExecutable(env))
      throw new CaptureError(
        'ERR_FFMPEG',
        `CLIPCHAT_FFMPEG is set to ${env}, which is not an executable file`,
      );
    return (cached = env);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'ffmpeg'))) return (cached = join(dir, 'ffmpeg'));
  }
  try {
    const path = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string })
      .path;
    if (isExecutable(path)) return (cached = path);
  } catch {
    /* fall through to the error */
  }
  throw new CaptureError(
    'ERR_FFMPEG',
    'ffmpeg not found: set CLIPCHAT_FFMPEG, put ffmpeg on PATH, or reinstall @ffmpeg-installer/ffmpeg',
  );
}

/** Forgets the cached ffmpeg path (after changing CLIPCHAT_FFMPEG or PATH). */
export function resetFfmpegPath(): void {
  cached = undefined;
}

/** Options every ffmpeg run starts with: quiet banner, no stdin, no progress lines. */
const FFMPEG_BASE_ARGS: readonly string[] = ['-hide_banner', '-nostdin', '-nostats'];

export type FfmpegChild = ChildProcessByStdio<null, Readable, Readable>;

/**
 * Spawns ffmpeg with `args` (after {@link FFMPEG_BASE_ARGS}), stdout and stderr piped.
 * The child is killed when `signal` aborts.
 */
export function spawnFfmpeg(args: readonly string[], signal?: AbortSignal): FfmpegChild {
  const child = spawn(findFfmpeg(), [...FFMPEG_BASE_ARGS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (signal) {
    const kill = () => {
      child.kill('SIGKILL');
    };
    if (signal.aborted) kill();
    else if (typeof signal.addEventListener === 'function') {
      signal.addEventListener('abort', kill, { once: true });
      child.once('close', () => signal.removeEventListener('abort', kill));
    } else {
      // A bare `{aborted}` cancel flag (the engine's CancelSignal): poll it.
      const timer = setInterval(() => {
        if (signal.aborted) kill();
      }, 50);
      child.once('close', () => clearInterval(timer));
    }
  }
  return child;
}

/** What a finished ffmpeg run left behind. */
export interface FfmpegResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs ffmpeg to completion, collecting stdout and stderr.
 * @throws CancelledError when `signal` aborts; CaptureError `ERR_FFMPEG` when it cannot start.
 */
export function runFfmpeg(args: readonly string[], signal?: AbortSignal): Promise<FfmpegResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new CancelledError());
      return;
    }
    const child = spawnFfmpeg(args, signal);
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      err += d;
    });
    child.on('error', (e) =>
      reject(new CaptureError('ERR_FFMPEG', `cannot run ffmpeg (${findFfmpeg()}): ${e.message}`)),
    );
    child.on('close', (code) => {
      if (signal?.aborted) reject(new CancelledError());
      else resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/** The last meaningful lines of ffmpeg's stderr, joined on one line (for error messages). */
export function ffmpegErrorTail(stderr: string, lines = 2): string {
  return stderr
    .split(/\r?\n/)
    .map((l) => l.replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/, '').trim())
    .filter((l) => l && !/^(Conversion failed!|Exiting normally|Press \[q\])/.test(l))
    .slice(-lines)
    .join('; ');
}
