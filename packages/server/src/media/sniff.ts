/** Identifies an upload by its first bytes — never by name or declared type. */

export type Sniffed = 'png' | 'jpeg' | 'gif' | 'webp' | 'avif' | 'bmp' | 'tiff' | 'webm';

export const MIME: Record<Sniffed, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
  webm: 'video/webm',
};

const ascii = (b: Buffer, at: number, len: number) => b.toString('latin1', at, at + len);

/** The format the bytes claim to be, or null when none we accept. */
export function sniff(b: Buffer): Sniffed | null {
  if (b.length < 12) return null;
  if (
    b[0] === 0x89 &&
    ascii(b, 1, 3) === 'PNG' &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  )
    return 'png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (ascii(b, 4, 4) === 'ftyp') {
    const size = b.readUInt32BE(0);
    const end = Math.min(b.length, size >= 16 ? size : 16, 64);
    for (let i = 8; i + 4 <= end; i += 4) {
      const brand = ascii(b, i, 4);
      if (brand === 'avif' || brand === 'avis') return 'avif';
    }
    return null;
  }
  if (ascii(b, 0, 2) === 'BM') return 'bmp';
  if (
    (ascii(b, 0, 2) === 'II' && b[2] === 42 && b[3] === 0) ||
    (ascii(b, 0, 2) === 'MM' && b[2] === 0 && b[3] === 42)
  )
    return 'tiff';
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) {
    // EBML header: the DocType element (0x42 0x82) must say "webm".
    const head = b.subarray(0, Math.min(b.length, 64));
    const i = head.indexOf(Buffer.from([0x42, 0x82]));
    if (i >= 0 && head.indexOf('webm', i, 'latin1') > i) return 'webm';
  }
  return null;
}
