/**
 * The part of a found message's text shown in search results, with the words of the query
 * marked. Words are cut and compared as the server's index does (runs of letters and
 * digits, case and diacritics ignored, the last query word also as a prefix), so what is
 * marked is what matched.
 */

/** A piece of a snippet: plain text, or a matched word. */
export interface SnippetPart {
  text: string;
  mark: boolean;
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Lower case without diacritics ("Café" → "cafe"). */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The folded words of a query. */
export function queryWords(q: string): string[] {
  return (q.match(WORD) ?? []).map(fold);
}

/**
 * Splits `text` into parts, marking each word that equals a query word (or starts with the
 * last one), and keeps about `width` characters around the first match.
 */
export function snippet(text: string, q: string, width = 120): SnippetPart[] {
  const words = queryWords(q);
  const last = words.at(-1);
  const hits: { start: number; end: number }[] = [];
  for (const m of text.matchAll(WORD)) {
    const w = fold(m[0]);
    if (words.includes(w) || (last && w.startsWith(last)))
      hits.push({ start: m.index, end: m.index + m[0].length });
  }
  let from = 0;
  let to = text.length;
  if (text.length > width) {
    const first = hits[0]?.start ?? 0;
    from = Math.max(0, first - Math.floor(width / 3));
    to = Math.min(text.length, from + width);
  }
  const parts: SnippetPart[] = [];
  if (from > 0) parts.push({ text: '…', mark: false });
  let at = from;
  for (const h of hits) {
    if (h.end <= from || h.start >= to) continue;
    const s = Math.max(h.start, from),
      e = Math.min(h.end, to);
    if (s > at) parts.push({ text: text.slice(at, s), mark: false });
    parts.push({ text: text.slice(s, e), mark: true });
    at = e;
  }
  if (at < to) parts.push({ text: text.slice(at, to), mark: false });
  if (to < text.length) parts.push({ text: '…', mark: false });
  return parts;
}
