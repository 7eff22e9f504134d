/**
 * Finds web links in a message's text. Only `http://` and `https://` addresses become
 * links; anything else (`javascript:`, `data:`, `file:`, bare `www.`) stays text. The
 * parts are rendered as text nodes and `<a>` elements by the message list, never as HTML,
 * and nothing is fetched for a link (no previews).
 */

export type TextPart = { text: string } | { text: string; href: string };

/** A candidate: `http(s)://` then anything up to whitespace or a character that cannot end a link here. */
const CANDIDATE = /\bhttps?:\/\/[^\s<>"'`]+/giu;
/** Punctuation that usually ends the sentence, not the address ("see https://x.org." or "(https://x.org)"). */
const TRAILING = /[.,;:!?…'"»”’]+$/u;

/** Drops a closing bracket that has no opening one inside the link ("(see https://x.org/a)"). */
function balance(url: string): string {
  for (const [open, close] of [
    ['(', ')'],
    ['[', ']'],
    ['{', '}'],
  ] as const) {
    while (url.endsWith(close) && count(url, open) < count(url, close)) url = url.slice(0, -1);
  }
  return url;
}
const count = (s: string, c: string) => s.split(c).length - 1;

/** The address as a link target, or null if it is not a well-formed http(s) URL with a host. */
export function safeHref(candidate: string): string | null {
  // The host follows the two slashes as typed (URL would read `http:///x` as `http://x/`).
  if (!/^https?:\/\/[^/\\]/i.test(candidate)) return null;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return null;
  return url.href;
}

/** Splits `text` into plain parts and link parts, in order; joined, the parts' texts are `text`. */
export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(CANDIDATE)) {
    let raw = m[0];
    for (;;) {
      const trimmed = balance(raw.replace(TRAILING, ''));
      if (trimmed === raw) break;
      raw = trimmed;
    }
    const href = safeHref(raw);
    if (!href) continue;
    const at = m.index;
    if (at > last) parts.push({ text: text.slice(last, at) });
    parts.push({ text: raw, href });
    last = at + raw.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}
