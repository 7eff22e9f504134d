/**
 * Search queries: the words of `q` as both stores index them. A word is a run of Unicode
 * letters and digits (what SQLite's unicode61 tokenizer and the PostgreSQL index, after
 * its punctuation is turned into spaces, both cut text into), lower-cased with common
 * Latin diacritics folded (é → e), so both backends find the same messages. Every word
 * must occur; the last also matches as a prefix ("holi" finds "holiday"), so results
 * follow the typing.
 */
import { MAX_SEARCH_WORDS } from '@clipchat/protocol';
import { ApiError } from '../errors';

/**
 * Latin letters with diacritics and what they fold to, position by position (the PostgreSQL index
 * uses the same pair).
 */
const FOLD_FROM = 'àáâãäåāèéêëēìíîïīòóôõöōùúûüūýÿçñ';
const FOLD_TO = 'aaaaaaaeeeeeiiiiioooooouuuuuyycn';
const FOLD = new Map([...FOLD_FROM].map((c, i) => [c, FOLD_TO[i]!]));

/**
 * Longest word kept, characters (longer ones are cut: nobody types them, and tokens that long are
 * not indexed usefully).
 */
const MAX_WORD = 64;

/** The folded words of any text, cut as the indexes cut it. */
function wordsOf(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).map((w) =>
    [...w]
      .map((c) => FOLD.get(c) ?? c)
      .join('')
      .slice(0, MAX_WORD),
  );
}

/** The folded words of a query; ERR_VALIDATION when it has none or too many. */
export function searchWords(q: string): string[] {
  const words = wordsOf(q);
  if (!words.length)
    throw new ApiError(
      'ERR_VALIDATION',
      'q must contain at least one word (letters or digits)',
      'q',
    );
  if (words.length > MAX_SEARCH_WORDS) {
    throw new ApiError(
      'ERR_VALIDATION',
      `q must have at most ${MAX_SEARCH_WORDS} words, got ${words.length}`,
      'q',
    );
  }
  return words;
}

/** The words as an FTS5 query: each a quoted string (no operator can be injected), the last a prefix. */
export function fts5Query(words: string[]): string {
  return words
    .map((w, i) => `"${w.replace(/"/g, '""')}"${i === words.length - 1 ? '*' : ''}`)
    .join(' ');
}

/** The words as a PostgreSQL tsquery: letters and digits only, so no operator can be injected; the last a prefix. */
export function tsQuery(words: string[]): string {
  return words.map((w, i) => `'${w}'${i === words.length - 1 ? ':*' : ''}`).join(' & ');
}

/**
 * The media of my library stickers whose name and tags hold every word (the last as a
 * prefix), as the indexes match message text: search finds the messages showing them.
 */
export function libraryMatches(
  stickers: readonly { media: { id: string }; name: string; tags: readonly string[] }[],
  words: string[],
): string[] {
  const last = words.length - 1;
  const ids = new Set<string>();
  for (const st of stickers) {
    const doc = wordsOf([st.name, ...st.tags].join(' '));
    if (words.every((w, i) => doc.some((d) => (i === last ? d.startsWith(w) : d === w))))
      ids.add(st.media.id);
  }
  return [...ids];
}
