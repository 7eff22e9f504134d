/**
 * Validates an upload by its content: identify it by magic bytes, read its header to
 * enforce side/pixel/frame caps *before* decoding (decompression-bomb guard), then decode
 * it fully (sharp for images, a hand check for BMP, ffprobe/ffmpeg for WebM) so truncated
 * or damaged files are refused.
 */
import sharp, { type Metadata } from 'sharp';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MediaLimits } from '../config';
import { ApiError } from '../errors';
import { findTools } from './ffmpeg';
import { MIME, sniff, type Sniffed } from './sniff';

export interface ValidatedMedia {
  format: Sniffed;
  mime: string;
  width: number;
  height: number;
  frames: number;
}

const SHARP_FORMAT: Partial<Record<Sniffed, string>> = { png: 'png', jpeg: 'jpeg', gif: 'gif', webp: 'webp', avif: 'heif', tiff: 'tiff' };

function checkLimits(fmt: string, w: number, h: number, frames: number, l: MediaLimits): void {
  if (!(w >= 1 && h >= 1)) throw new ApiError('ERR_CORRUPT_MEDIA', `the ${fmt} header gives no valid size (${w}×${h})`);
  if (w > l.maxSide || h > l.maxSide) {
    throw new ApiError('ERR_MEDIA_LIMITS', `the ${fmt} is ${w}×${h} pixels; sides may be at most ${l.maxSide}`);
  }
  if (w * h > l.maxPixels) throw new ApiError('ERR_MEDIA_LIMITS', `the ${fmt} has ${w * h} pixels per frame; at most ${l.maxPixels}`);
  if (frames > l.maxFrames) throw new ApiError('ERR_MEDIA_LIMITS', `the ${fmt} has ${frames} frames; at most ${l.maxFrames}`);
  if (w * h * frames > l.maxTotalPixels) {
    throw new ApiError('ERR_MEDIA_LIMITS', `the ${fmt} has ${w * h * frames} pixels over all frames; at most ${l.maxTotalPixels}`);
  }
}

/** Checks and describes an upload. @throws ApiError ERR_UNSUPPORTED_MEDIA / ERR_CORRUPT_MEDIA / ERR_MEDIA_LIMITS. */
export async function validateMedia(buf: Buffer, limits: MediaLimits): Promise<ValidatedMedia> {
  const format = sniff(buf);
  if (!format) {
    throw new ApiError('ERR_UNSUPPORTED_MEDIA', 'the upload is not a PNG, JPEG, WebP, AVIF, GIF, BMP, TIFF or WebM file (judged by its content)');
  }
  if (format === 'bmp') return { format, mime: MIME.bmp, ...checkBmp(buf, limits) };
  if (format === 'webm') return { format, mime: MIME.webm, ...(await probeWebm(buf, limits)) };

  let meta: Metadata;
  try {
    meta = await sharp(buf, { failOn: 'none', limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ApiError('ERR_CORRUPT_MEDIA', `the ${format} file cannot be read: ${(e as Error).message}`);
  }
  if (meta.format !== SHARP_FORMAT[format] || (format === 'avif' && meta.compression !== 'av1')) {
    throw new ApiError('ERR_CORRUPT_MEDIA', `the file starts like ${format} but decodes as ${meta.format ?? 'nothing'}`);
  }
  const frames = Math.max(1, meta.pages ?? 1);
  const width = meta.width ?? 0;
  const height = frames > 1 && meta.pageHeight ? meta.pageHeight : meta.height ?? 0;
  checkLimits(format, width, height, frames, limits);
  try {
    // Full decode of every frame; truncation or corrupt data fails here.
    await sharp(buf, { animated: frames > 1, failOn: 'truncated', limitInputPixels: limits.maxTotalPixels }).stats();
  } catch (e) {
    throw new ApiError('ERR_CORRUPT_MEDIA', `the ${format} file does not decode: ${(e as Error).message}`);
  }
  return { format, mime: MIME[format], width, height, frames };
}

/** BMP (sharp has no BMP decoder): parse the headers and check the pixel data is all there. */
function checkBmp(b: Buffer, limits: MediaLimits): { width: number; height: number; frames: number } {
  const bad = (why: string) => new ApiError('ERR_CORRUPT_MEDIA', `the BMP file is damaged: ${why}`);
  if (b.length < 26) throw bad('too short for its headers');
  const offset = b.readUInt32LE(10);
  const dib = b.readUInt32LE(14);
  let width: number; let height: number; let bpp: number; let compression = 0;
  if (dib === 12) {
    width = b.readUInt16LE(18); height = b.readInt16LE(20); bpp = b.readUInt16LE(24);
  } else if (dib >= 40 && b.length >= 54) {
    width = b.readInt32LE(18); height = b.readInt32LE(22); bpp = b.readUInt16LE(28); compression = b.readUInt32LE(30);
    if (b.readUInt16LE(26) !== 1) throw bad('planes must be 1');
  } else throw bad(`unknown header size ${dib}`);
  height = Math.abs(height);
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw bad(`unsupported bit depth ${bpp}`);
  if (compression !== 0 && compression !== 3 && compression !== 6) throw new ApiError('ERR_UNSUPPORTED_MEDIA', 'compressed (RLE/JPEG/PNG-in-BMP) BMP files are not accepted');
  checkLimits('BMP', width, height, 1, limits);
  const row = Math.ceil((bpp * width) / 32) * 4;
  if (offset < 14 + dib || offset + row * height > b.length) throw bad(`pixel data ends early (needs ${offset + row * height} bytes, has ${b.length})`);
  return { width, height, frames: 1 };
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = ''; let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { if (stdout.length < 1 << 20) stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 1 << 16) stderr += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(t); reject(e); });
    child.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

/** WebM: header probe (codec, size) before a full decode that counts frames. */
async function probeWebm(buf: Buffer, limits: MediaLimits): Promise<{ width: number; height: number; frames: number }> {
  const { ffmpeg, ffprobe } = await findTools();
  if (!ffprobe && !ffmpeg) throw new ApiError('ERR_UNAVAILABLE', 'WebM uploads need ffmpeg on the server, which was not found');
  const dir = await mkdtemp(join(tmpdir(), 'clipchat-probe-'));
  const file = join(dir, 'upload.webm');
  try {
    await writeFile(file, buf);
    const corrupt = (why: string) => new ApiError('ERR_CORRUPT_MEDIA', `the WebM file does not decode: ${why}`);
    let width = 0; let height = 0; let codec = '';
    if (ffprobe) {
      const r = await run(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height',
        '-of', 'json', '-f', 'webm', file], limits.probeTimeoutMs);
      let s: { codec_name?: string; width?: number; height?: number } | undefined;
      try { s = (JSON.parse(r.stdout) as { streams?: typeof s[] }).streams?.[0]; } catch { /* below */ }
      if (r.code !== 0 || !s) throw corrupt(r.stderr.trim().split('\n')[0] || 'no video stream');
      width = s.width ?? 0; height = s.height ?? 0; codec = s.codec_name ?? '';
    } else {
      const r = await run(ffmpeg!, ['-hide_banner', '-nostdin', '-f', 'webm', '-i', file], limits.probeTimeoutMs);
      const m = /Stream #0:\d+.*?: Video: (\w+).*?, (\d+)x(\d+)/.exec(r.stderr);
      if (!m) throw corrupt('no video stream');
      codec = m[1]!; width = Number(m[2]); height = Number(m[3]);
    }
    if (!['vp8', 'vp9', 'av1'].includes(codec)) throw new ApiError('ERR_UNSUPPORTED_MEDIA', `WebM with ${codec || 'no'} video is not accepted; use VP8, VP9 or AV1`);
    checkLimits('WebM', width, height, 1, limits);
    // Decode every frame (bounded by time) and count them: ffmpeg's framecrc prints one
    // line per frame; without ffmpeg, ffprobe -count_frames decodes too.
    let frames: number;
    if (ffmpeg) {
      const dec = await run(ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-xerror', '-f', 'webm', '-i', file,
        '-map', '0:v:0', '-f', 'framecrc', '-'], limits.probeTimeoutMs);
      if (dec.code !== 0) throw corrupt(dec.stderr.trim().split('\n')[0] || `decoder exit ${dec.code}`);
      frames = dec.stdout.split('\n').filter((l) => /^\s*\d+,/.test(l)).length;
    } else {
      const dec = await run(ffprobe!, ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames',
        '-of', 'csv=p=0', '-f', 'webm', file], limits.probeTimeoutMs);
      if (dec.code !== 0 || dec.stderr.trim()) throw corrupt(dec.stderr.trim().split('\n')[0] || `decoder exit ${dec.code}`);
      frames = Number.parseInt(dec.stdout.trim(), 10) || 0;
    }
    if (!frames) throw corrupt('no frames');
    checkLimits('WebM', width, height, frames, limits);
    return { width, height, frames };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
