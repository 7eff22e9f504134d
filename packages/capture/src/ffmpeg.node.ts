/**
 * Finding and running ffmpeg in Node. The engine works with the ffmpeg 4.1 bundled by
 * `@ffmpeg-installer/ffmpeg` (so a fresh `npm install` needs no system ffmpeg) and with
 * newer ones (5.1+): it only uses options both accept.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
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

/**
 * Path of ffprobe: beside the ffmpeg {@link findFfmpeg} chose, else on PATH; null when
 * there is none (the `@ffmpeg-installer` binary comes without one).
 */
export function findFfprobe(): string | null {
  let ffmpeg: string | null = null;
  try {
    ffmpeg = findFfmpeg();
  } catch {
    /* no ffmpeg: an ffprobe on PATH may still be there */
  }
  const sibling = ffmpeg ? join(dirname(ffmpeg), 'ffprobe') : null;
  if (sibling && isExecutable(sibling)) return sibling;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'ffprobe'))) return join(dir, 'ffprobe');
  }
  return null;
}

/** Forgets the cached ffmpeg path (after changing CLIPCHAT_FFMPEG or PATH). */
export function resetFfmpegPath(): void {
  cached = undefined;
}

/** Options every ffmpeg run starts with: quiet banner, no stdin, no progress lines. */
const FFMPEG_BASE_ARGS: readonly string[] = ['-hide_banner', '-nostdin', '-nostats'];

export type FfmpegChild = ChildProcessByStdio<null, Readable, Readable>;

/** A cancel signal: an AbortSignal, or the engine's bare `{ aborted }` flag (polled). */
type Cancel = AbortSignal | { readonly aborted: boolean };

/** Spawns `cmd` with stdout and stderr piped; the child is killed when `signal` aborts. */
function spawnTool(cmd: string, args: readonly string[], signal?: Cancel): FfmpegChild {
  const child = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (signal) {
    const kill = () => {
      child.kill('SIGKILL');
    };
    if (signal.aborted) kill();
    else if ('addEventListener' in signal && typeof signal.addEventListener === 'function') {
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

/**
 * Spawns ffmpeg with `args` (after {@link FFMPEG_BASE_ARGS}), stdout and stderr piped.
 * The child is killed when `signal` aborts.
 */
export function spawnFfmpeg(args: readonly string[], signal?: AbortSignal): FfmpegChild {
  return spawnTool(findFfmpeg(), [...FFMPEG_BASE_ARGS, ...args], signal);
}

/** What a finished ffmpeg run left behind. */
export interface FfmpegResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** What a finished {@link runTool} left behind. */
export interface ToolResult extends FfmpegResult {
  /** Killed at `timeoutMs`. */
  timedOut: boolean;
  /** Killed for writing more than `maxStdout` bytes (stdout holds what came before). */
  tooBig: boolean;
}

/** Bounds of a {@link runTool} run. */
export interface ToolOptions {
  signal?: Cancel;
  /** Wall time after which the tool is killed (default: none). */
  timeoutMs?: number;
  /** Most stdout bytes kept; beyond them the tool is killed (default: no limit). */
  maxStdout?: number;
  /** Stderr characters kept, the first ones (default: no limit). */
  maxStderr?: number;
}

/**
 * Runs a tool (ffmpeg, ffprobe) to completion, collecting stdout and stderr within
 * `options`' bounds: the one process runner of the engine and the server.
 * Rejects with the spawn error when the tool cannot start.
 */
export function runTool(
  cmd: string,
  args: readonly string[],
  options: ToolOptions = {},
): Promise<ToolResult> {
  const { signal, timeoutMs, maxStdout = Infinity, maxStderr = Infinity } = options;
  return new Promise((resolve, reject) => {
    const child = spawnTool(cmd, args, signal);
    const out: Buffer[] = [];
    let have = 0;
    let err = '';
    let timedOut = false;
    let tooBig = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      have += d.length;
      if (have > maxStdout) {
        tooBig = true;
        child.kill('SIGKILL');
        return;
      }
      out.push(d);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (err.length < maxStderr) err += d;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err, timedOut, tooBig });
    });
  });
}

/**
 * Runs ffmpeg to completion, collecting stdout and stderr.
 * @throws CancelledError when `signal` aborts; CaptureError `ERR_FFMPEG` when it cannot start.
 */
export async function runFfmpeg(
  args: readonly string[],
  signal?: AbortSignal,
): Promise<FfmpegResult> {
  if (signal?.aborted) throw new CancelledError();
  const ffmpeg = findFfmpeg();
  const r = await runTool(ffmpeg, [...FFMPEG_BASE_ARGS, ...args], { signal }).catch((e: Error) => {
    throw new CaptureError('ERR_FFMPEG', `cannot run ffmpeg (${ffmpeg}): ${e.message}`);
  });
  if (signal?.aborted) throw new CancelledError();
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
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
