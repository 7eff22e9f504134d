/**
 * WebM uploads: ffprobe reads the streams (codec, size) and counts packets — demuxing
 * only, no decoding — so a too-large video is refused before a single frame is decoded;
 * then ffmpeg decodes every frame on one thread within the decode budget. A file cut short
 * is refused: any demuxer/decoder complaint (`-xerror`, "File ended prematurely"), or
 * decoded frames that stop short of the duration the container declares.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MediaLimits } from '../config';
import { ApiError } from '../errors';
import { findTools } from './ffmpeg';
import type { DecodePool } from './pool';
import { checkLimits } from './limits';

interface Probe {
  streams?: {
    codec_name?: string;
    width?: number;
    height?: number;
    nb_read_packets?: string;
    avg_frame_rate?: string;
  }[];
  format?: { duration?: string };
}

const firstLine = (s: string) =>
  s
    .trim()
    .split('\n')[0]
    ?.replace(/^\[[^\]]*\]\s*/, '') ?? '';

/** Probes, checks and fully decodes a WebM upload. Returns its frame size and count. */
export async function probeWebm(
  buf: Buffer,
  limits: MediaLimits,
  pool: DecodePool,
  signal: AbortSignal,
): Promise<{ width: number; height: number; frames: number }> {
  const { ffmpeg, ffprobe } = await findTools();
  if (!ffprobe || !ffmpeg)
    throw new ApiError(
      'ERR_UNAVAILABLE',
      'WebM uploads need ffmpeg and ffprobe on the server, which were not found',
    );
  const corrupt = (why: string) =>
    new ApiError('ERR_CORRUPT_MEDIA', `the WebM file does not decode: ${why}`);
  return pool.slot(signal, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clipchat-probe-'));
    const file = join(dir, 'upload.webm');
    try {
      await writeFile(file, buf);
      const r = await pool.run(
        ffprobe,
        [
          '-v',
          'error',
          '-count_packets',
          '-select_streams',
          'v:0',
          '-show_entries',
          'stream=codec_name,width,height,nb_read_packets,avg_frame_rate:format=duration',
          '-of',
          'json',
          '-f',
          'webm',
          file,
        ],
        signal,
        limits.probeTimeoutMs,
      );
      let p: Probe = {};
      try {
        p = JSON.parse(r.stdout) as Probe;
      } catch {
        /* below */
      }
      const s = p.streams?.[0];
      if (r.code !== 0 || !s) throw corrupt(firstLine(r.stderr) || 'no video stream');
      if (r.stderr.trim()) throw corrupt(firstLine(r.stderr));
      const width = s.width ?? 0;
      const height = s.height ?? 0;
      const codec = s.codec_name ?? '';
      if (!['vp8', 'vp9', 'av1'].includes(codec))
        throw new ApiError(
          'ERR_UNSUPPORTED_MEDIA',
          `WebM with ${codec || 'no'} video is not accepted; use VP8, VP9 or AV1`,
        );
      // Packets bound the frames from above (hidden VP8 alt-ref frames are packets too),
      // so this refuses before decoding anything the decode below would refuse after.
      const packets = Number.parseInt(s.nb_read_packets ?? '', 10) || 0;
      if (!packets) throw corrupt('no frames');
      // A video is an animation whatever its length: the animation side limit applies.
      checkLimits('WebM', width, height, Math.max(2, packets), limits);

      const dec = await pool.run(
        ffmpeg,
        [
          '-hide_banner',
          '-nostdin',
          '-v',
          'error',
          '-xerror',
          '-threads',
          '1',
          '-f',
          'webm',
          '-i',
          file,
          '-map',
          '0:v:0',
          '-f',
          'framecrc',
          '-',
        ],
        signal,
      );
      if (dec.code !== 0 || dec.stderr.trim())
        throw corrupt(firstLine(dec.stderr) || `decoder exit ${dec.code}`);
      // framecrc: "#tb 0: 1/1000", then one "stream, dts, pts, duration, size, crc" line per frame.
      const tb = /^#tb 0: (\d+)\/(\d+)/m.exec(dec.stdout);
      const lines = dec.stdout.split('\n').filter((l) => /^\s*\d+,/.test(l));
      const frames = lines.length;
      if (!frames) throw corrupt('no frames');
      const declared = Number(p.format?.duration);
      if (tb && Number.isFinite(declared) && declared > 0) {
        const unit = Number(tb[1]) / Number(tb[2]);
        const pts = lines.map((l) => Number(l.split(',')[2]));
        const dur = Number(lines[frames - 1]!.split(',')[3]) || 0;
        const end = (pts[frames - 1]! + dur) * unit;
        // Slack of the longest frame seen (delays vary; the last block may carry no
        // duration) or the average frame, plus rounding: muxers round the duration.
        const [num, den] = (s.avg_frame_rate ?? '').split('/').map(Number);
        let gap = num && den ? den / num : 0.1;
        for (let i = 1; i < frames; i++) gap = Math.max(gap, (pts[i]! - pts[i - 1]!) * unit);
        if (end + Math.max(gap, 0.05) + 0.01 < declared) {
          throw corrupt(
            `its frames stop at ${end.toFixed(2)} s but it declares ${declared.toFixed(2)} s (truncated)`,
          );
        }
      }
      checkLimits('WebM', width, height, frames, limits);
      return { width, height, frames };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
