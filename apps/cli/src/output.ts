/**
 * Writing results: to a temporary file beside the target, renamed into place only when
 * complete, so a failed or cancelled run never leaves a partial output file.
 */
import { randomBytes } from 'node:crypto';
import { rm, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './args.ts';

/** Checks that `path` can be written (its folder exists, it is not a folder) before any work. */
export async function checkOutputPath(path: string): Promise<void> {
  if (path === '-') return;
  const dir = dirname(resolve(path));
  const d = await stat(dir).catch(() => null);
  if (!d?.isDirectory()) throw new UsageError(`cannot write ${path}: folder ${dir} does not exist`);
  const f = await stat(path).catch(() => null);
  if (f?.isDirectory()) throw new UsageError(`cannot write ${path}: it is a folder`);
}

/** Writes `bytes` to `path` atomically (or to stdout for `-`). */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  if (path === '-') {
    await new Promise<void>((ok, fail) => process.stdout.write(bytes, (e) => (e ? fail(e) : ok())));
    return;
  }
  const tmp = join(
    dirname(resolve(path)),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new UsageError(`cannot write ${path}: ${(e as Error).message}`);
  }
}
