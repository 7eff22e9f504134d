/**
 * A small, strict command-line parser: `--flag value`, `--flag=value`, `-f value`,
 * boolean switches and positionals. Unknown flags and missing values are usage errors.
 */

/** A usage error: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  /** Long name without dashes, e.g. `max-bytes`. */
  name: string;
  /** One-letter alias, e.g. `o`. */
  short?: string;
  /** Switches take no value. */
  switch?: boolean;
}

export interface Parsed {
  flags: Map<string, string | true>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): Parsed {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-' && !/^-\d/.test(a)) {
      const long = a.startsWith('--');
      const eq = a.indexOf('=');
      const key = long ? a.slice(2, eq > 0 ? eq : undefined) : a.slice(1, 2);
      const inline = eq > 0 ? a.slice(eq + 1) : !long && a.length > 2 ? a.slice(2) : undefined;
      const spec = long ? byLong.get(key) : byShort.get(key);
      if (!spec)
        throw new UsageError(
          `unknown option ${long ? a.slice(0, eq > 0 ? eq : undefined) : a.slice(0, 2)}`,
        );
      if (spec.switch) {
        if (inline !== undefined) throw new UsageError(`--${spec.name} takes no value`);
        flags.set(spec.name, true);
        continue;
      }
      const value = inline ?? argv[++i];
      if (
        value === undefined ||
        (value.startsWith('-') && value.length > 1 && !/^-\d/.test(value) && inline === undefined)
      ) {
        throw new UsageError(`${long ? `--${spec.name}` : `-${spec.short}`} needs a value`);
      }
      flags.set(spec.name, value);
    } else {
      positionals.push(a);
    }
  }
  return { flags, positionals };
}

/** A flag's string value, if given. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** A flag's numeric value, if given; anything but a plain decimal number is a usage error. */
export function num(p: Parsed, name: string, label = `--${name}`): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!v.trim()) throw new UsageError(`${label} needs a value: a number`);
  if (!/^-?\d+(\.\d+)?$/.test(v.trim()))
    throw new UsageError(`${label} must be a number, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** Parses `x,y,w,h` (whole pixels). */
export function parseCrop(
  v: string | undefined,
): { x: number; y: number; width: number; height: number } | undefined {
  if (v === undefined) return undefined;
  const looks =
    'x,y,width,height in whole video pixels (for example 0,0,320,240; width and height ≥ 1)';
  if (!v.trim()) throw new UsageError(`--crop needs a value: ${looks}`);
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$/.exec(v);
  if (!m || Number(m[3]) < 1 || Number(m[4]) < 1) {
    throw new UsageError(`--crop must be ${looks}, got ${JSON.stringify(v)}`);
  }
  return { x: Number(m[1]), y: Number(m[2]), width: Number(m[3]), height: Number(m[4]) };
}
