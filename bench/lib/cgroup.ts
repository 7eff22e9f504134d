/**
 * CPU caps for benchmark processes, to model small separate machines on one big one: each
 * capped process gets its own cgroup (v1, `/sys/fs/cgroup/cpu`, needs root) with a CFS
 * quota of `cores` × period. A short period (10 ms by default) keeps each throttling stall
 * short, as on a small machine that is simply slower, rather than a fast one that stops
 * for 70 ms of every 100.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup/cpu';

/** Why CPU caps cannot be used here, or null when they can. */
export function cgroupProblem(): string | null {
  if (!existsSync(join(ROOT, 'cpu.cfs_quota_us')))
    return `no cgroup v1 CPU controller at ${ROOT} (cgroup v2 machines are not supported yet)`;
  if (process.getuid?.() !== 0) return 'CPU caps need root (they create cgroups)';
  return null;
}

export interface Cap {
  /** The cgroup's name under /sys/fs/cgroup/cpu. */
  readonly name: string;
  /** Times the group was throttled, and for how long in all, from cpu.stat. */
  throttled(): { periods: number; throttledPeriods: number; throttledSecs: number };
  /** Moves the group's processes back to the root group and removes it. */
  release(): void;
}

/** Puts `pid` (all its threads, and children it starts later) in a cgroup capped at `cores`. */
export function capProcess(pid: number, name: string, cores: number, periodUs = 10_000): Cap {
  const problem = cgroupProblem();
  if (problem) throw new Error(problem);
  if (!(cores > 0)) throw new Error(`a CPU cap must be > 0 cores, got ${cores}`);
  const dir = join(ROOT, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cpu.cfs_period_us'), String(periodUs));
  writeFileSync(
    join(dir, 'cpu.cfs_quota_us'),
    String(Math.max(1000, Math.round(cores * periodUs))),
  );
  writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  return {
    name,
    throttled() {
      const kv = Object.fromEntries(
        readFileSync(join(dir, 'cpu.stat'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]),
      );
      return {
        periods: Number(kv.nr_periods),
        throttledPeriods: Number(kv.nr_throttled),
        throttledSecs: Number(kv.throttled_time) / 1e9,
      };
    },
    release() {
      try {
        for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
          writeFileSync(join(ROOT, 'cgroup.procs'), p);
      } catch {
        /* the processes are gone */
      }
      try {
        rmdirSync(dir);
      } catch {
        /* still busy: a later run reuses it */
      }
    },
  };
}
