/**
 * Telling a damaged MP4 from a file that is not a video, by its top-level boxes alone: an
 * MP4 (or QuickTime) file opens with `ftyp` (or another known box) and holds its index in
 * `moov`. Cut short, it either has a box that runs past the end of the file, or no `moov`
 * at all (ffmpeg writes it last by default).
 */

const TOP_LEVEL = new Set([
  'ftyp',
  'moov',
  'mdat',
  'free',
  'skip',
  'wide',
  'uuid',
  'pdin',
  'moof',
  'mfra',
  'meta',
  'styp',
  'sidx',
]);

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ReadBytes = (offset: number, length: number) => Promise<Uint8Array>;

/**
 * Why an MP4 of `size` bytes cannot be read, in words ("its index (moov box) is missing",
 * "it ends inside its mdat box"), or undefined when it does not look like an MP4, or looks
 * whole. Reads at most 64 box headers.
 */
export async function mp4Damage(read: ReadBytes, size: number): Promise<string | undefined> {
  let offset = 0;
  let moov = false;
  for (let n = 0; n < 64 && offset < size; n++) {
    const h = await read(offset, 16);
    if (h.length < 8) return n === 0 ? undefined : `it ends inside a box header at byte ${offset}`;
    const type = String.fromCharCode(h[4]!, h[5]!, h[6]!, h[7]!);
    if (!TOP_LEVEL.has(type))
      return n === 0 ? undefined : `it holds an unreadable box at byte ${offset}`;
    let box = ((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!;
    if (box === 1) {
      if (h.length < 16) return `it ends inside the ${type} box's header`;
      box =
        (((h[8]! << 24) >>> 0) + (h[9]! << 16) + (h[10]! << 8) + h[11]!) * 2 ** 32 +
        ((h[12]! << 24) >>> 0) +
        (h[13]! << 16) +
        (h[14]! << 8) +
        h[15]!;
    } else if (box === 0) box = size - offset; // to the end of the file
    if (box < 8) return `it holds a broken ${type} box at byte ${offset}`;
    if (type === 'moov') moov = true;
    if (offset + box > size)
      return `it ends inside its ${type} box (${size} of ${offset + box} bytes)`;
    offset += box;
  }
  return moov ? undefined : 'its index (moov box) is missing';
}
