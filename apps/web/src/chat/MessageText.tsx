/**
 * A message's text with its http/https addresses as links that open in a new tab without
 * giving the opened page a handle on Clipchat (`rel="noopener noreferrer"`). Everything is
 * text nodes and `<a>` elements made here; the text is never parsed as HTML.
 */
import './message-text.css';
import { linkify } from './linkify';

export function MessageText({ text }: { text: string }) {
  return (
    <p class="text">
      {linkify(text).map((p, i) =>
        'href' in p ? (
          <a key={i} href={p.href} target="_blank" rel="noopener noreferrer" data-testid="link">
            {p.text}
          </a>
        ) : (
          p.text
        ),
      )}
    </p>
  );
}
