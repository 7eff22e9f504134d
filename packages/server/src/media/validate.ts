/**
 * Validates an upload by its content: identify it by magic bytes, read its structure by
 * hand (headers.ts) to enforce side/pixel/frame/scan caps *before* anything decodes it
 * (decompression-bomb guard), then decode it fully within the decode budget (pool.ts:
 * a concurrency cap, a queue, a time limit, killed when the client goes) so truncated or
 * damaged files are refused. BMP is checked by hand; WebM by ffprobe then ffmpeg (webm.ts).
 */
import sharp, { type Metadata } from 'sharp';
import type { MediaLimits } from '../config';
import { ApiError } from '../errors';
import { checkLimits } from './limits';
import { readGif, readJpeg, readPng, readWebp, type HeaderInfo } from './headers';
import { DecodePool } from './pool';
import { MIME, sniff, type Sniffed } from './sniff';
import { probeWebm } from './webm';

export interface ValidatedMedia {
  format: Sniffed;
  mime: string;
  width: number;
  height: number;
  frames: number;
}

/** How a validation runs: the decode pool to use and the client's lifetime. */
export interface ValidateOptions {
  /** Default: one pool per process, sized from the limits of the first call. */
  pool?: DecodePool;
  /** Aborts when the client goes away: the running decode is killed. */
  signal?: AbortSignal;
}

const SHARP_FORMAT: Partial<Record<Sniffed, string>> = { avif: 'heif', tiff: 'tiff' };

/**
 * Uploads of at most this many pixels over all frames decode in the server process: a
 * few milliseconds of one libuv thread, cheaper than a round trip to a decoder, and they
 * stay fast while hostile uploads hold every decoder slot.
 */
const IN_PROCESS_PIXELS = 1_000_000;

let sharedPool: DecodePool | undefined;

/** The structure of formats we read by hand; others (AVIF, TIFF) from sharp's header read. */
async function header(format: Sniffed, buf: Buffer, limits: MediaLimits): Promise<HeaderInfo> {
  if (format === 'png') return readPng(buf);
  if (format === 'gif') return readGif(buf);
  if (format === 'webp') return readWebp(buf);
  if (format === 'jpeg') return readJpeg(buf, limits.maxJpegScans);
  let meta: Metadata;
  try {
    meta = await sharp(buf, { failOn: 'none', limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ApiError(
      'ERR_CORRUPT_MEDIA',
      `the ${format} file cannot be read: ${(e as Error).message}`,
    );
  }
  if (meta.format !== SHARP_FORMAT[format] || (format === 'avif' && meta.compression !== 'av1')) {
    throw new ApiError(
      'ERR_CORRUPT_MEDIA',
      `the file starts like ${format} but decodes as ${meta.format ?? 'nothing'}`,
    );
  }
  const frames = Math.max(1, meta.pages ?? 1);
  const width = meta.width ?? 0;
  const height = frames > 1 && meta.pageHeight ? meta.pageHeight : (meta.height ?? 0);
  return { width, height, frames, largestFrameSide: Math.max(width, height) };
}

/**
 * Checks and describes an upload. @throws ApiError ERR_UNSUPPORTED_MEDIA / ERR_CORRUPT_MEDIA /
 * ERR_MEDIA_LIMITS / ERR_MEDIA_BUSY; DecodeAborted.
 */
export async function validateMedia(
  buf: Buffer,
  limits: MediaLimits,
  opts: ValidateOptions = {},
): Promise<ValidatedMedia> {
  const format = sniff(buf);
  if (!format) {
    throw new ApiError(
      'ERR_UNSUPPORTED_MEDIA',
      'the upload is not a PNG, JPEG, WebP, AVIF, GIF, BMP, TIFF or WebM file (judged by its content)',
    );
  }
  const signal = opts.signal ?? new AbortController().signal;
  const pool =
    opts.pool ??
    (sharedPool ??= new DecodePool({
      concurrency: limits.decodeConcurrency,
      queue: limits.decodeQueue,
      timeoutMs: limits.decodeTimeoutMs,
    }));
  if (format === 'bmp') return { format, mime: MIME.bmp, ...checkBmp(buf, limits) };
  if (format === 'webm')
    return { format, mime: MIME.webm, ...(await probeWebm(buf, limits, pool, signal)) };

  const h = await header(format, buf, limits);
  const { width, height, frames } = h;
  checkLimits(format, width, height, frames, limits, h.largestFrameSide);
  const animated = frames > 1;
  let result: { ok: true } | { ok: false; message: string };
  if (width * height * frames <= IN_PROCESS_PIXELS) {
    result = await sharp(buf, {
      animated,
      failOn: 'truncated',
      limitInputPixels: limits.maxTotalPixels,
    })
      .stats()
      .then(
        () => ({ ok: true as const }),
        (e: Error) => ({ ok: false as const, message: e.message }),
      );
  } else {
    result = await pool.slot(signal, () =>
      pool.decodeImage(buf, animated, limits.maxTotalPixels, signal),
    );
  }
  if (!result.ok)
    throw new ApiError(
      'ERR_CORRUPT_MEDIA',
      `the ${format} file does not decode: ${result.message.split('\n')[0]}`,
    );
  return { format, mime: MIME[format], width, height, frames };
}

/** BMP (sharp has no BMP decoder): parse the headers and check the pixel data is all there. */
function checkBmp(
  b: Buffer,
  limits: MediaLimits,
): { width: number; height: number; frames: number } {
  const bad = (why: string) => new ApiError('ERR_CORRUPT_MEDIA', `the BMP file is damaged: ${why}`);
  if (b.length < 26) throw bad('too short for its headers');
  const offset = b.readUInt32LE(10);
  const dib = b.readUInt32LE(14);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = 0;
  if (dib === 12) {
    width = b.readUInt16LE(18);
    height = b.readInt16LE(20);
    bpp = b.readUInt16LE(24);
  } else if (dib >= 40 && b.length >= 54) {
    width = b.readInt32LE(18);
    height = b.readInt32LE(22);
    bpp = b.readUInt16LE(28);
    compression = b.readUInt32LE(30);
    if (b.readUInt16LE(26) !== 1) throw bad('planes must be 1');
  } else throw bad(`unknown header size ${dib}`);
  height = Math.abs(height);
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw bad(`unsupported bit depth ${bpp}`);
  if (compression !== 0 && compression !== 3 && compression !== 6)
    throw new ApiError(
      'ERR_UNSUPPORTED_MEDIA',
      'compressed (RLE/JPEG/PNG-in-BMP) BMP files are not accepted',
    );
  checkLimits('BMP', width, height, 1, limits);
  const row = Math.ceil((bpp * width) / 32) * 4;
  if (offset < 14 + dib || offset + row * height > b.length)
    throw bad(`pixel data ends early (needs ${offset + row * height} bytes, has ${b.length})`);
  return { width, height, frames: 1 };
}
