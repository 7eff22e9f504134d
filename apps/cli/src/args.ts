/**
 * The command line, tokenised by `node:util`'s `parseArgs` (`--flag value`, `--flag=value`,
 * `-f value`, `-fvalue`, switches, `--`, positionals). What is ours is the wording of its
 * errors (one line naming the flag, exit code 2) and two shapes it has no option for: a
 * value that may be left out (`--trust-proxy [N]`) and a number such as `-5` as a value
 * or a positional rather than an unknown `-5` option.
 */
import { parseArgs as tokenize } from 'node:util';

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
  /** The value may be left out: it is the next word only when that word is not a flag. */
  optionalValue?: boolean;
}

export interface Parsed {
  /**
   * Each flag given, by long name: its last value, `true` for a switch (or an optional
   * value left out), `null` for a value missing at the end of the line (lenient mode only).
   */
  flags: Map<string, string | true | null>;
  /** Every value of each flag, in order (repeatable flags). */
  all: Map<string, Array<string | true | null>>;
  positionals: string[];
}

export interface ParseOptions {
  /**
   * Strict (default): a flag without a value, or followed by another flag instead of one,
   * is a usage error "--flag needs a value". Lenient: the value is `null`, or the next
   * word whatever it is, for the command to word its own error.
   */
  lenient?: boolean;
}

const isNumber = (a: string) => /^-\d/.test(a);

export function parseArgs(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  { lenient = false }: ParseOptions = {},
): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const { tokens } = tokenize({
    args: [...argv],
    options: Object.fromEntries(
      specs.map((s) => [
        s.name,
        {
          type: s.switch || s.optionalValue ? ('boolean' as const) : ('string' as const),
          ...(s.short ? { short: s.short } : {}),
        },
      ]),
    ),
    // Not strict: every problem is reported below, in our words, from the tokens.
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags = new Map<string, string | true | null>();
  const all = new Map<string, Array<string | true | null>>();
  const positionals: string[] = [];
  const set = (name: string, v: string | true | null) => {
    flags.set(name, v);
    all.set(name, [...(all.get(name) ?? []), v]);
  };
  const taken = new Set<number>(); // argv indexes consumed as positionals or optional values
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind === 'option-terminator') continue;
    if (taken.has(t.index)) continue;
    const arg = argv[t.index]!;
    // `-5` is a number (a positional), not a short option 5 (nor a group -5 -…).
    if (t.kind === 'positional' || isNumber(arg)) {
      taken.add(t.index);
      positionals.push(t.kind === 'positional' ? t.value : arg);
      continue;
    }
    const spec = byName.get(t.name);
    if (!spec) throw new UsageError(`unknown option ${t.rawName}`);
    if (spec.switch) {
      if (t.inlineValue) throw new UsageError(`--${spec.name} takes no value`);
      set(spec.name, true);
    } else if (spec.optionalValue) {
      const next = tokens[k + 1];
      if (t.inlineValue) set(spec.name, t.value ?? '');
      else if (next?.kind === 'positional' && next.index === t.index + 1) {
        taken.add(next.index);
        set(spec.name, next.value);
      } else set(spec.name, true);
    } else {
      const v = t.value;
      const flagLike = v !== undefined && !t.inlineValue && v.startsWith('-') && v.length > 1;
      if (v === undefined || (flagLike && !isNumber(v))) {
        if (!lenient) throw new UsageError(`${t.rawName} needs a value`);
        set(spec.name, v ?? null);
      } else set(spec.name, v);
    }
  }
  return { flags, all, positionals };
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
