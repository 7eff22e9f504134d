/**
 * Checks of a shared video (a finished resumable upload) before it is stored: ffprobe
 * reads its container and streams, the container's own framing is checked for truncation,
 * and ffmpeg decodes one frame as the poster. Everything runs in killable child processes
 * with a time limit; nothing here reads the whole file into memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { runTool } from '@clipchat/capture/node';
import { ApiError } from '../errors';
import { findTools } from './ffmpeg';

/** What a checked video is. */
export interface VideoProbe {
  mime: 'video/mp4' | 'video/quicktime' | 'video/webm' | 'video/x-matroska';
  width: number;
  height: number;
  /** Seconds. */
  duration: number;
  /** ffprobe's codec name of the first video stream. */
  codec: string;
  /** Frames of the video stream when the container says (else 0). */
  frames: number;
}

/** Bounds of {@link probeVideo}. */
export interface VideoCheckLimits {
  maxSide: number;
  maxDurationSeconds: number;
  timeoutMs: number;
}

/** Largest poster we keep, bytes (a 640 px JPEG is ~50 KB). */
const MAX_POSTER_BYTES = 2 * 1024 * 1024;
/** Largest ffprobe answer we read, bytes (a file with thousands of streams is refused). */
const MAX_PROBE_OUTPUT = 1024 * 1024;

/** Runs a tool, collecting at most `maxOut` bytes of stdout; kills it after `timeoutMs`. */
const run = (cmd: string, args: string[], timeoutMs: number, maxOut: number) =>
  runTool(cmd, args, { timeoutMs, maxStdout: maxOut, maxStderr: 4000 });

interface ProbeJson {
  format?: { format_name?: string; duration?: string; tags?: Record<string, string> };
  streams?: {
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    nb_frames?: string;
    duration?: string;
    disposition?: { attached_pic?: number };
  }[];
}

const unsupported = (why: string) =>
  new ApiError(
    'ERR_UNSUPPORTED_MEDIA',
    `${why}; a shared video must be an MP4, WebM, MKV or MOV file with a video stream`,
  );
const corrupt = (why: string) =>
  new ApiError('ERR_CORRUPT_MEDIA', `the video ${why}; nothing was stored`);

/** Checks the video at `path` (of `size` bytes) and says what it is; throws catalogue errors. */
export async function probeVideo(
  path: string,
  size: number,
  limits: VideoCheckLimits,
): Promise<VideoProbe> {
  const { ffprobe } = await findTools();
  if (!ffprobe)
    throw new ApiError('ERR_UNAVAILABLE', 'this server has no ffprobe, so it cannot check videos');
  const head = await readHead(path, 64);
  const family = containerOf(head);
  if (!family)
    throw unsupported('the file is not an MP4/MOV (ISO BMFF) or Matroska/WebM container');
  // The container's own framing first: a cut-off file is refused even when its index survived.
  if (family === 'mp4') await checkBoxes(path, size);
  else await checkSegment(path, size);
  const r = await run(
    ffprobe,
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path],
    limits.timeoutMs,
    MAX_PROBE_OUTPUT,
  );
  if (r.timedOut)
    throw new ApiError(
      'ERR_MEDIA_LIMITS',
      `probing the video took longer than ${limits.timeoutMs} ms`,
    );
  if (r.tooBig)
    throw new ApiError('ERR_MEDIA_LIMITS', 'the video has too many streams to describe');
  if (r.code !== 0)
    throw corrupt(
      `does not parse (${r.stderr.trim().split('\n')[0]?.slice(0, 200) || 'ffprobe failed'})`,
    );
  let j: ProbeJson;
  try {
    j = JSON.parse(String(r.stdout)) as ProbeJson;
  } catch {
    throw corrupt('does not parse');
  }
  const fmt = j.format?.format_name ?? '';
  if (family === 'mp4' && !/\bmov\b|\bmp4\b/.test(fmt))
    throw unsupported(`the container is ${fmt || 'unknown'}`);
  if (family === 'mkv' && !/matroska|webm/.test(fmt))
    throw unsupported(`the container is ${fmt || 'unknown'}`);
  const v = (j.streams ?? []).find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!v) throw unsupported('the file has no video stream (audio only?)');
  const width = v.width ?? 0;
  const height = v.height ?? 0;
  if (!(width > 0 && height > 0)) throw corrupt('has no frame size');
  if (width > limits.maxSide || height > limits.maxSide) {
    throw new ApiError(
      'ERR_MEDIA_LIMITS',
      `the video is ${width}×${height}; at most ${limits.maxSide} pixels a side are allowed`,
    );
  }
  const duration = Number(j.format?.duration ?? v.duration);
  if (!Number.isFinite(duration) || duration <= 0) throw corrupt('has no duration');
  if (duration > limits.maxDurationSeconds) {
    throw new ApiError(
      'ERR_MEDIA_LIMITS',
      `the video lasts ${Math.round(duration)} s; at most ${limits.maxDurationSeconds} s are allowed`,
    );
  }
  const brand = j.format?.tags?.major_brand?.trim();
  const mime =
    family === 'mp4'
      ? brand === 'qt'
        ? 'video/quicktime'
        : 'video/mp4'
      : head.includes(Buffer.from('webm'))
        ? 'video/webm'
        : 'video/x-matroska';
  const frames = Number(v.nb_frames);
  return {
    mime,
    width,
    height,
    duration,
    codec: v.codec_name ?? 'unknown',
    frames: Number.isInteger(frames) && frames > 0 ? frames : 0,
  };
}

/**
 * A JPEG poster frame (at most 640 px a side) from about a tenth in (≤ 1 s); throws
 * ERR_CORRUPT_MEDIA when no frame decodes.
 */
export async function makePoster(
  path: string,
  duration: number,
  timeoutMs: number,
): Promise<Buffer> {
  const { ffmpeg } = await findTools();
  if (!ffmpeg)
    throw new ApiError(
      'ERR_UNAVAILABLE',
      'this server has no ffmpeg, so it cannot make a poster frame',
    );
  const at = Math.min(1, duration / 10);
  const r = await run(
    ffmpeg,
    [
      '-nostdin',
      '-v',
      'error',
      '-threads',
      '1',
      '-ss',
      at.toFixed(3),
      '-i',
      path,
      '-frames:v',
      '1',
      '-an',
      '-sn',
      '-vf',
      "scale='min(640,iw)':'min(640,ih)':force_original_aspect_ratio=decrease",
      '-q:v',
      '4',
      '-f',
      'image2pipe',
      '-c:v',
      'mjpeg',
      'pipe:1',
    ],
    timeoutMs,
    MAX_POSTER_BYTES,
  );
  if (r.timedOut)
    throw new ApiError(
      'ERR_MEDIA_LIMITS',
      `decoding the poster frame took longer than ${timeoutMs} ms`,
    );
  if (r.code !== 0 || r.stdout.length === 0) throw corrupt('has no frame that decodes');
  return r.stdout;
}

/** sha256 of a file, streamed. */
export async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** ISO BMFF (`ftyp` first) or Matroska/WebM (EBML magic), by content. */
function containerOf(head: Buffer): 'mp4' | 'mkv' | null {
  if (head.length >= 8 && head.toString('latin1', 4, 8) === 'ftyp') return 'mp4';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'mkv';
  return null;
}

/** Most top-level boxes we walk (a real file has a handful; a hostile one could have millions). */
const MAX_TOP_BOXES = 10_000;

/** Walks the top-level boxes of an MP4/MOV: they must tile the file exactly and include `moov`. */
async function checkBoxes(path: string, size: number): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(16);
    let pos = 0;
    let moov = false;
    for (let i = 0; pos < size; i++) {
      if (i >= MAX_TOP_BOXES)
        throw new ApiError(
          'ERR_MEDIA_LIMITS',
          `the file has more than ${MAX_TOP_BOXES} top-level boxes`,
        );
      const { bytesRead } = await fh.read(b, 0, 16, pos);
      if (bytesRead < 8) throw corrupt(`is truncated: a box header at byte ${pos} is cut off`);
      let len = b.readUInt32BE(0);
      const type = b.toString('latin1', 4, 8);
      if (len === 1) {
        if (bytesRead < 16) throw corrupt(`is truncated at byte ${pos}`);
        len = Number(b.readBigUInt64BE(8));
      } else if (len === 0) len = size - pos; // to the end of the file
      if (len < 8) throw corrupt(`has a malformed box "${type}" at byte ${pos}`);
      if (pos + len > size)
        throw corrupt(
          `is truncated: box "${type}" at byte ${pos} needs ${len} bytes, the file ends ${size - pos} bytes later`,
        );
      if (type === 'moov') moov = true;
      pos += len;
    }
    if (!moov) throw corrupt('has no index (moov box): it is cut off or not finished');
  } finally {
    await fh.close();
  }
}

/** Reads an EBML variable-length integer at `off`; `unknown` when all its value bits are set. */
function vint(
  b: Buffer,
  off: number,
  keepMarker: boolean,
): { value: number; len: number; unknown: boolean } | null {
  const first = b[off];
  if (first === undefined || first === 0) return null;
  let len = 1;
  while (len <= 8 && !(first & (0x80 >> (len - 1)))) len++;
  if (len > 8 || off + len > b.length) return null;
  let value = keepMarker ? first : first & (0xff >> len);
  let allOnes = value === 0xff >> len;
  for (let i = 1; i < len; i++) {
    value = value * 256 + b[off + i]!;
    if (b[off + i] !== 0xff) allOnes = false;
  }
  return { value, len, unknown: !keepMarker && allOnes };
}

/**
 * Matroska/WebM: the EBML header, then a Segment whose declared size the file must hold (unknown
 * size: live recordings).
 */
async function checkSegment(path: string, size: number): Promise<void> {
  const head = await readHead(path, 4096);
  const idLen = 4;
  const hdr = vint(head, idLen, false);
  if (!hdr) throw corrupt('has a malformed EBML header');
  const segAt = idLen + hdr.len + hdr.value;
  const segId = head.length >= segAt + 4 ? head.readUInt32BE(segAt) : -1;
  if (segId !== 0x18538067) throw corrupt('has no Segment after its EBML header');
  const seg = vint(head, segAt + 4, false);
  if (!seg) throw corrupt('has a malformed Segment size');
  if (!seg.unknown && segAt + 4 + seg.len + seg.value > size) {
    throw corrupt(
      `is truncated: its Segment declares ${seg.value} bytes, the file holds ${size - (segAt + 4 + seg.len)}`,
    );
  }
}
