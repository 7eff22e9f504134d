/**
 * An image pasted into the composer is sent as a still, through the same queue and upload
 * as a captured still (the server judges the bytes). Text in the same paste is left to
 * the box as usual; only the image is taken.
 */
import { send } from './state';

/** The image file on the clipboard of a paste, if any (the first one). */
function pastedImage(data: DataTransfer | null): File | null {
  if (!data) return null;
  for (const item of data.items) {
    if (item.kind === 'file' && item.type.startsWith('image/')) {
      const f = item.getAsFile();
      if (f) return f;
    }
  }
  return null;
}

/** The composer's paste handler: an image is sent as a still and kept out of the text. */
export function onPasteImage(conversationId: string, e: ClipboardEvent): void {
  const file = pastedImage(e.clipboardData);
  if (!file) return;
  e.preventDefault();
  void send(conversationId, { kind: 'still', blob: file, mime: file.type });
}
