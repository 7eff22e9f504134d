/**
 * A look at the start of an upload while it arrives, to refuse what its first bytes already
 * condemn before the rest is read: a JPEG scan bomb shows more than `maxJpegScans` scans soon
 * after its real scans end (the repeated ones are ~33 bytes each), so an 8 MiB bomb made from
 * a 160 KB picture is answered after 256 KiB instead of 8 MiB. The start is judged at 64 KiB
 * and again at each doubling up to 1 MiB, so the look costs at most ~2 MiB of copying. Other
 * uploads pass through untouched; the full check runs on the whole body as before.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { ApiError } from '../errors';
import { readJpeg } from './headers';

/** First and last size of the start that is judged, bytes. */
const FIRST_LOOK = 64 * 1024;
const LAST_LOOK = 1024 * 1024;

/** A pass-through that fails with ERR_MEDIA_LIMITS (and calls `onRefuse`) once its start shows too many JPEG scans. */
export function peekUpload(maxJpegScans: number, onRefuse: () => void): Transform {
  const head: Buffer[] = [];
  let seen = 0;
  let look = FIRST_LOOK;
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      if (!done) {
        head.push(chunk);
        seen += chunk.length;
        if (seen >= look) {
          const start = Buffer.concat(head, seen);
          head.length = 0;
          head.push(start);
          if (start[0] !== 0xff || start[1] !== 0xd8) done = true;
          else if (tooManyScans(start, maxJpegScans)) {
            onRefuse();
            cb(
              new ApiError(
                'ERR_MEDIA_LIMITS',
                `the JPEG has more than ${maxJpegScans} scans; at most ${maxJpegScans} (encoders write about 10)`,
              ),
            );
            return;
          }
          look *= 2;
          if (look > LAST_LOOK) done = true;
          if (done) head.length = 0;
        }
      }
      cb(null, chunk);
    },
  });
}

/** Whether the scans within `prefix` (a JPEG's first bytes) already exceed `max`; a cut-off end is no verdict. */
function tooManyScans(prefix: Buffer, max: number): boolean {
  try {
    readJpeg(prefix, max);
    return false;
  } catch (e) {
    return e instanceof ApiError && e.code === 'ERR_MEDIA_LIMITS';
  }
}
