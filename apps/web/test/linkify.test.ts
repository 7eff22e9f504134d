/**
 * Links in message text: only http/https addresses become links, the sentence's own
 * punctuation stays outside them, and every character of the text is kept, in order.
 */
import { describe, expect, it } from 'vitest';
import { linkify, safeHref } from '../src/chat/linkify';

const joined = (text: string) =>
  linkify(text)
    .map((p) => p.text)
    .join('');
const links = (text: string) =>
  linkify(text)
    .filter((p) => 'href' in p)
    .map((p) => (p as { href: string }).href);

describe('linkify', () => {
  it('makes http and https addresses links and keeps the rest as text', () => {
    expect(linkify('see https://example.org/a?b=1#c and http://x.test:8080/')).toEqual([
      { text: 'see ' },
      { text: 'https://example.org/a?b=1#c', href: 'https://example.org/a?b=1#c' },
      { text: ' and ' },
      { text: 'http://x.test:8080/', href: 'http://x.test:8080/' },
    ]);
    expect(linkify('no links here')).toEqual([{ text: 'no links here' }]);
    expect(linkify('')).toEqual([]);
  });

  it('never links other schemes, bare hosts or addresses without a host', () => {
    for (const t of [
      'javascript:alert(1)',
      'data:text/html,<b>x</b>',
      'file:///etc/passwd',
      'www.example.org',
      'ftp://example.org',
      'https://',
      'http:///nohost',
      'xhttps://example.org',
      'JaVaScRiPt:alert(1)//https',
    ]) {
      expect(links(t), t).toEqual([]);
      expect(joined(t), t).toBe(t);
    }
    // A javascript: address that merely contains an https one: only the https part is a link.
    expect(links('javascript:fetch("https://evil.test/x")')).toEqual(['https://evil.test/x']);
  });

  it('leaves trailing punctuation and unmatched brackets outside the link', () => {
    expect(links('Look: https://example.org/page.')).toEqual(['https://example.org/page']);
    expect(links('(see https://example.org/a)')).toEqual(['https://example.org/a']);
    expect(links('https://en.wikipedia.org/wiki/Bunny_(film), ok?')).toEqual([
      'https://en.wikipedia.org/wiki/Bunny_(film)',
    ]);
    expect(links('"https://example.org/q"!')).toEqual(['https://example.org/q']);
    for (const t of [
      'Look: https://example.org/page.',
      '(see https://example.org/a)',
      'a\nhttps://b.test/\n<c>',
    ])
      expect(joined(t)).toBe(t);
  });

  it('stops a link at markup characters, so nothing can be smuggled into the href', () => {
    expect(links('https://example.org/"><img src=x onerror=alert(1)>')).toEqual([
      'https://example.org/',
    ]);
    expect(links("https://example.org/'onmouseover='x")).toEqual(['https://example.org/']);
    expect(safeHref('https://exa mple.org')).toBeNull();
    expect(safeHref('https://EXAMPLE.org/Path')).toBe('https://example.org/Path');
  });
});
