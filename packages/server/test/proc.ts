/**
 * CPU and memory of a process *and its descendants*, from /proc: decoding runs in child
 * processes (sharp decoders, ffmpeg), whose work must count as the server's.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ on Linux

function stat(pid: number): { ppid: number; cpu: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // Fields after the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    return {
      ppid: Number(f[1]),
      cpu: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK,
    };
  } catch {
    return null;
  }
}

/** `pid` and every live process below it. */
function family(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc'))
    if (/^\d+$/.test(d)) {
      const s = stat(Number(d));
      if (s) parent.set(Number(d), s.ppid);
    }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of parent) if (pp === out[i]) out.push(p);
  return out;
}

/** CPU seconds of `pid`, its reaped children and its live descendants. */
export function cpuSeconds(pid: number): number {
  return family(pid).reduce((sum, p) => sum + (stat(p)?.cpu ?? 0), 0);
}

/** Resident memory of `pid` and its live descendants, MB. */
export function rssMb(pid: number): number {
  let kb = 0;
  for (const p of family(pid)) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}
