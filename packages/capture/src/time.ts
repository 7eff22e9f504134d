/**
 * Time and byte-count parsing shared by the CLI, the server and the web app.
 * Player time: 0 is the first presented frame of the video.
 */
import { InvalidSettingError, InvalidTimeError } from './errors';
import type { Bytes, Seconds } from './types';

const FORMS = '90, 90.5, 1:30, 1:30.5 or 01:01:30.250';
const PLAIN = /^(\d+)(\.\d+)?$/;
const MS = /^(\d+):(\d{1,2})(\.\d+)?$/;
const HMS = /^(\d+):(\d{1,2}):(\d{1,2})(\.\d+)?$/;

/**
 * Parses a time in seconds: `90`, `90.5`, `1:30`, `1:30.5` or `01:01:30.250`.
 * In the colon forms minutes and seconds must be below 60.
 * @throws InvalidTimeError naming the value and the accepted forms (negatives, empty
 *   strings and anything else).
 */
export function parseTime(s: string, field = 'time'): Seconds {
  const text = typeof s === 'string' ? s.trim() : '';
  const bad = (why = '') =>
    new InvalidTimeError(
      `${field} must be a time like ${FORMS}${why}, got ${JSON.stringify(s)}`,
      field,
    );
  let m: RegExpExecArray | null;
  if (PLAIN.test(text)) return Number(text);
  if ((m = MS.exec(text))) {
    const sec = Number(m[2] + (m[3] ?? ''));
    if (sec >= 60) throw bad(' (seconds below 60)');
    return Number(m[1]) * 60 + sec;
  }
  if ((m = HMS.exec(text))) {
    const min = Number(m[2]);
    const sec = Number(m[3] + (m[4] ?? ''));
    if (min >= 60 || sec >= 60) throw bad(' (minutes and seconds below 60)');
    return Number(m[1]) * 3600 + min * 60 + sec;
  }
  throw bad();
}

/**
 * Formats seconds as `m:ss`, `m:ss.fff` or `h:mm:ss.fff` (milliseconds, trailing zeros
 * dropped). `parseTime(formatTime(t))` gives t back to the millisecond.
 */
export function formatTime(t: Seconds | number): string {
  if (!Number.isFinite(t)) return String(t);
  const sign = t < 0 ? '-' : '';
  const totalMs = Math.round(Math.abs(t) * 1000);
  const ms = totalMs % 1000;
  const totalS = (totalMs - ms) / 1000;
  const s = totalS % 60;
  const totalM = (totalS - s) / 60;
  const m = totalM % 60;
  const h = (totalM - m) / 60;
  const frac = ms ? '.' + String(ms).padStart(3, '0').replace(/0+$/, '') : '';
  const ss = String(s).padStart(2, '0') + frac;
  return h ? `${sign}${h}:${String(m).padStart(2, '0')}:${ss}` : `${sign}${m}:${ss}`;
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/**
 * Parses a byte count: a plain integer (`65536`) or a number with a unit: KB/MB/GB are
 * powers of 1000, KiB/MiB/GiB powers of 1024 (`256KiB`, `1MB`, `1.5 MiB`). Units are
 * case-insensitive. The result is rounded down to a whole byte.
 * @throws InvalidSettingError naming the value and the accepted forms.
 */
export function parseBytes(s: string, field = 'maxStickerBytes'): Bytes {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(typeof s === 'string' ? s.trim() : '');
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || (unit === 1 && m[1]!.includes('.'))) {
    throw new InvalidSettingError(
      field,
      `${field} must be a byte count like 65536, 500KB, 256KiB or 1MiB (KB/MB = 1000, KiB/MiB = 1024), got ${JSON.stringify(s)}`,
      typeof s === 'string' && !s.trim()
        ? 'Sticker size limit is needed (16 KiB–8 MiB)'
        : `Sticker size limit must be a size like 500 KB, 1 MB or 256 KiB (KB and MB are 1000 bytes, KiB and MiB 1024), got ${JSON.stringify(s)}`,
    );
  }
  return Math.floor(Number(m[1]) * unit);
}
