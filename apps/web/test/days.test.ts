/** Day separators: a new local day starts a new group, labelled Today, Yesterday or the date. */
import { describe, expect, it } from 'vitest';
import { dayLabel, startsDay } from '../src/chat/days';

const at = (y: number, m: number, d: number, h = 12, min = 0) =>
  new Date(y, m - 1, d, h, min).getTime();

describe('day separators', () => {
  const now = at(2026, 12, 7, 9, 30);
  it('labels today, yesterday, and other days by their date', () => {
    expect(dayLabel(at(2026, 12, 7, 0, 0), now)).toBe('Today');
    expect(dayLabel(at(2026, 12, 7, 23, 59), now)).toBe('Today');
    expect(dayLabel(at(2026, 12, 6, 23, 59), now)).toBe('Yesterday');
    expect(dayLabel(at(2026, 12, 6, 0, 1), now)).toBe('Yesterday');
    expect(dayLabel(at(2026, 12, 5, 23, 59), now, 'en-GB')).toBe('Saturday 5 December');
    expect(dayLabel(at(2025, 12, 31), now, 'en-GB')).toBe('Wednesday, 31 December 2025');
    // Yesterday across a month and a year boundary.
    expect(dayLabel(at(2026, 2, 28, 8), at(2026, 3, 1, 1))).toBe('Yesterday');
    expect(dayLabel(at(2025, 12, 31, 22), at(2026, 1, 1, 0, 5))).toBe('Yesterday');
  });

  it('starts a day at the first message and wherever the local date changes', () => {
    expect(startsDay(undefined, now)).toBe(true);
    expect(startsDay(at(2026, 12, 7, 0, 0), at(2026, 12, 7, 23, 59))).toBe(false);
    expect(startsDay(at(2026, 12, 6, 23, 59), at(2026, 12, 7, 0, 0))).toBe(true);
    expect(startsDay(at(2025, 12, 7), at(2026, 12, 7))).toBe(true);
  });
});
