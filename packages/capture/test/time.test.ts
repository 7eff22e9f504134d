import { describe, expect, it } from 'vitest';
import {
  InvalidSettingError,
  InvalidTimeError,
  formatTime,
  parseBytes,
  parseTime,
} from '../src/index';

describe('time', () => {
  it('parses every accepted form', () => {
    expect(parseTime('90')).toBe(90);
    expect(parseTime('90.5')).toBe(90.5);
    expect(parseTime('0')).toBe(0);
    expect(parseTime('1:30')).toBe(90);
    expect(parseTime('1:30.5')).toBe(90.5);
    expect(parseTime('0:05')).toBe(5);
    expect(parseTime('01:01:30.250')).toBeCloseTo(3690.25, 9);
    expect(parseTime('1:00:00')).toBe(3600);
    expect(parseTime(' 2.002 ')).toBe(2.002);
    expect(parseTime('61')).toBe(61); // a plain number of seconds may exceed 59
  });

  it('refuses anything else, saying which forms are accepted', () => {
    for (const bad of [
      '',
      '  ',
      '-1',
      '-0:30',
      '1:60',
      '1:75.5',
      '1:60:00',
      '0:59:60',
      'abc',
      '1.2.3',
      '1:2:3:4',
      '.5',
      '5.',
      '1e3',
      '0x10',
      '1:',
      ':30',
      '1:30:',
      'Infinity',
      'NaN',
      '1,5',
    ]) {
      let err: unknown;
      try {
        parseTime(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(InvalidTimeError);
      expect((err as Error).message).toContain('90, 90.5, 1:30, 1:30.5 or 01:01:30.250');
      expect((err as Error).message).toContain(JSON.stringify(bad));
    }
    expect(() => parseTime('x', 'from')).toThrow(/^from must be a time like/);
  });

  it('formats times so they parse back to the millisecond', () => {
    expect(formatTime(0)).toBe('0:00');
    expect(formatTime(90.5)).toBe('1:30.5');
    expect(formatTime(3690.25)).toBe('1:01:30.25');
    expect(formatTime(1001 / 30000)).toBe('0:00.033');
    expect(formatTime(59.9996)).toBe('1:00');
    for (const t of [0, 0.001, 1.5, 59.999, 61.25, 3599.999, 3600, 7325.125])
      expect(parseTime(formatTime(t))).toBeCloseTo(t, 6);
  });

  it('parses byte counts with decimal and binary units', () => {
    expect(parseBytes('65536')).toBe(65536);
    expect(parseBytes('256KiB')).toBe(262144);
    expect(parseBytes('1MB')).toBe(1_000_000);
    expect(parseBytes('500kb')).toBe(500_000);
    expect(parseBytes('1 MiB')).toBe(1_048_576);
    expect(parseBytes('1.5MiB')).toBe(1_572_864);
    expect(parseBytes('100B')).toBe(100);
    for (const bad of ['', 'lots', '-5', '1.5', '10 KX', '1K', 'MB', '1e6', '12 34']) {
      expect(() => parseBytes(bad), bad).toThrow(InvalidSettingError);
    }
    expect(() => parseBytes('1K', 'max-bytes')).toThrow(
      'max-bytes must be a byte count like 65536, 500KB, 256KiB or 1MiB (KB/MB = 1000, KiB/MiB = 1024), got "1K"',
    );
  });
});
