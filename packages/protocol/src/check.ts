/**
 * Checking values against the wire schema: compiled TypeBox checks (one compile per
 * schema), turned into a message that names the field and says what is allowed. The few
 * rules JSON Schema cannot state (a text message needs text, a still exactly one of
 * mediaId/stickerId, well-formed Unicode, one emoji) live here too, once, for REST and
 * WebSocket alike.
 */
import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { MAX_TEXT_LENGTH } from './types';

/** Why a value was refused: a sentence for people and the field at fault. */
export interface Problem {
  message: string;
  /** The top-level field at fault, when there is one. */
  field?: string;
}

/** A compiled check of one schema. */
export interface Checker<T extends TSchema> {
  readonly schema: T;
  /** True when `v` fits the schema (no allocation on success). */
  is(v: unknown): v is Static<T>;
  /** The first problem of `v`, or null when it fits. `what` names the value in messages ("send", "body"). */
  problem(v: unknown, what?: string): Problem | null;
}

/** One schema's check: compiled code, or TypeBox's interpreter where code cannot be made. */
interface Check {
  Check(v: unknown): boolean;
  First(v: unknown): ValueError | undefined;
}

const compiled = new WeakMap<TSchema, Check>();
/**
 * Whether `new Function` works here. The web app's Content-Security-Policy forbids
 * 'unsafe-eval', so in the browser TypeBox's compiler throws; its interpreter gives the
 * same answers without generated code (slower, which matters only on the server).
 */
let canCompile: boolean | undefined;

function build(schema: TSchema): Check {
  if (canCompile !== false) {
    try {
      const c = TypeCompiler.Compile(schema);
      canCompile = true;
      return { Check: (v) => c.Check(v), First: (v) => c.Errors(v).First() };
    } catch (e) {
      // An EvalError (or a CSP violation reported as one) means no code generation here;
      // anything else is a broken schema and must surface.
      if (
        !(e instanceof EvalError) &&
        !/unsafe-eval|Content Security Policy|code generation/i.test(String(e))
      )
        throw e;
      canCompile = false;
    }
  }
  return { Check: (v) => Value.Check(schema, v), First: (v) => Value.Errors(schema, v).First() };
}

/**
 * The checker of `schema`. It compiles on first use (cached), not at import, so merely
 * loading the protocol costs nothing and never trips a CSP.
 */
export function checker<T extends TSchema>(schema: T): Checker<T> {
  const get = (): Check => {
    let c = compiled.get(schema);
    if (!c) {
      c = build(schema);
      compiled.set(schema, c);
    }
    return c;
  };
  return {
    schema,
    is: (v): v is Static<T> => get().Check(v),
    problem(v, what = 'value') {
      const c = get();
      if (c.Check(v)) return null;
      const first = c.First(v);
      return first ? describe(first, what) : { message: `${what} does not fit its schema` };
    },
  };
}

/** A ValueError as "<field> must be <what is allowed>". */
function describe(e: ValueError, what: string): Problem {
  const parts = e.path
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const field = parts[0];
  const name = parts.length ? parts.join('.') : what;
  const allowed = (e.schema as { description?: string }).description;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return {
        message: `${parts.length > 1 ? parts.slice(0, -1).join('.') : what} has unknown field ${JSON.stringify(parts.at(-1))}`,
        field,
      };
    case ValueErrorType.ObjectRequiredProperty:
      return { message: `${name} is missing${allowed ? `: it must be ${allowed}` : ''}`, field };
    case ValueErrorType.Object:
      if (!parts.length) return { message: `${what} must be a JSON object` };
  }
  const got = e.value === undefined ? '' : `, got ${short(e.value)}`;
  return {
    message: `${name} must be ${allowed ?? e.message.replace(/^Expected /, '')}${got}`,
    field,
  };
}

function short(v: unknown): string {
  const s =
    typeof v === 'string'
      ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
      : Array.isArray(v)
        ? 'an array'
        : typeof v === 'object' && v
          ? 'an object'
          : JSON.stringify(v);
  return s ?? String(v);
}

// In a `u` regex a surrogate pair is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /\p{Surrogate}/u;
/**
 * Why a string is not well-formed Unicode, or null. An unpaired UTF-16 surrogate has no
 * UTF-8 form: the stores would keep U+FFFD while the live copy kept the original, so the
 * text is refused at send instead (history and live delivery then always agree).
 */
export function unpaired(name: string, s: string): string | null {
  const at = s.search(LONE_SURROGATE);
  return at < 0
    ? null
    : `${name} has an unpaired UTF-16 surrogate at index ${at}; send well-formed Unicode text`;
}

/** The fields of a send (REST body or WebSocket frame) that the cross-field rules read. */
interface SendLike {
  clientId: string;
  kind: string;
  text?: string;
  mediaId?: string;
  stickerId?: string;
  source?: { video: string; at?: number; from?: number; to?: number };
}

/**
 * The rules of a send beyond its shape (already checked against the schema): text must be
 * non-empty for `text`; still/sticker need exactly one of `mediaId`, `stickerId` and no
 * text; a source has `at`, or `from` and `to` in order; strings are well-formed Unicode.
 */
export function sendProblem(v: SendLike): Problem | null {
  if (v.kind === 'text') {
    if (v.text === undefined || v.text.length === 0)
      return { message: 'a text message needs a non-empty text', field: 'text' };
    if (v.mediaId !== undefined || v.stickerId !== undefined)
      return { message: 'a text message carries no mediaId or stickerId', field: 'mediaId' };
  } else {
    if ((v.mediaId === undefined) === (v.stickerId === undefined))
      return {
        message: `a ${v.kind} message needs exactly one of mediaId, stickerId`,
        field: 'mediaId',
      };
    if (v.text !== undefined)
      return { message: `a ${v.kind} message carries no text`, field: 'text' };
  }
  for (const k of ['clientId', 'text'] as const) {
    const bad = v[k] !== undefined ? unpaired(k, v[k]) : null;
    if (bad) return { message: bad, field: k };
  }
  const s = v.source;
  if (s) {
    const bad = unpaired('source.video', s.video);
    if (bad) return { message: bad, field: 'source' };
    if ((s.from === undefined) !== (s.to === undefined))
      return { message: 'source.from and source.to go together', field: 'source' };
    if (s.from !== undefined && s.to! < s.from)
      return { message: 'source.to must be ≥ source.from', field: 'source' };
  }
  return null;
}

/** The rules of an edit's new text beyond its shape: non-empty, at most MAX_TEXT_LENGTH, well-formed. */
export function textProblem(text: string): Problem | null {
  if (text.length === 0)
    return {
      message: 'text must be a non-empty string (to remove a message, delete it)',
      field: 'text',
    };
  if (text.length > MAX_TEXT_LENGTH)
    return {
      message: `text must be at most ${MAX_TEXT_LENGTH} characters, got ${text.length}`,
      field: 'text',
    };
  const bad = unpaired('text', text);
  return bad ? { message: bad, field: 'text' } : null;
}

// Unicode's recommended (RGI) emoji: single code points with emoji presentation, keycaps,
// flags, modifier and ZWJ sequences. The `v` flag gives the property of strings.
const RGI_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Why `emoji` is not one emoji, or null. One grapheme cluster of the RGI emoji set is accepted. */
export function emojiProblem(emoji: string): Problem | null {
  let count = 0;
  for (const _ of graphemes.segment(emoji)) if (++count > 1) break;
  if (count !== 1 || !RGI_EMOJI.test(emoji)) {
    return {
      message: `emoji must be one emoji (a single grapheme of Unicode's RGI emoji set, e.g. 👍 or ❤️), got ${short(emoji)}`,
      field: 'emoji',
    };
  }
  return null;
}
