/** Running the tools the benchmark measures, and where they live. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Scratch space (gitignored); generated clips are cached here between runs. */
export const WORK = join(ROOT, '.tmp', 'bench');
export const BBB = resolve(ROOT, '..', 'shared', 'media', 'big-buck-bunny-480p-30s.mp4');
/** gifski's Linux binary from the npm package: AGPL, used here as a benchmark anchor only. */
export const GIFSKI = join(ROOT, 'node_modules', 'gifski', 'bin', 'debian', 'gifski');
/** The ffmpeg that measures (Debian's 5.1 when present; its ssim/psnr filters are the reference). */
export const FFMPEG = existsSync('/usr/bin/ffmpeg') ? '/usr/bin/ffmpeg' : 'ffmpeg';

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

/** Runs a program, feeding `input` to stdin; never throws on a non-zero exit. */
export function run(cmd: string, args: readonly string[], input?: Uint8Array): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout!.on('data', (d: Buffer) => out.push(d));
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 4_000_000) err = err.slice(-2_000_000);
    });
    p.on('error', reject);
    p.on('close', (code) =>
      resolveRun({
        code: code ?? -1,
        stdout: Buffer.concat(out),
        stderr: err,
        ms: performance.now() - t0,
      }),
    );
    if (input && p.stdin) {
      p.stdin.on('error', () => {});
      p.stdin.end(input);
    }
  });
}

/** Runs a program and throws with its stderr tail when it fails. */
export async function must(
  cmd: string,
  args: readonly string[],
  input?: Uint8Array,
): Promise<RunResult> {
  const r = await run(cmd, args, input);
  if (r.code !== 0)
    throw new Error(
      `${cmd} ${args.slice(0, 12).join(' ')} … failed (${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
  return r;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
