/**
 * Day separators in the message list: a message starts a new day when its local calendar
 * day differs from the one before it. The label is "Today", "Yesterday", or the date.
 */

/** The local calendar day of a time, as a number that orders days (y·10 000 + m·100 + d). */
function dayOf(ms: number): number {
  const d = new Date(ms);
  return d.getFullYear() * 10_000 + (d.getMonth() + 1) * 100 + d.getDate();
}

/** Whether a message at `ms` begins a new day after one at `prev` (or is the first shown). */
export function startsDay(prev: number | undefined, ms: number): boolean {
  return prev === undefined || dayOf(prev) !== dayOf(ms);
}

/** "Today", "Yesterday", or a date such as "Friday 4 December" (with the year when it is not this one). */
export function dayLabel(ms: number, now = Date.now(), locale?: string): string {
  const today = new Date(now);
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1, 12);
  const day = dayOf(ms);
  if (day === dayOf(now)) return 'Today';
  if (day === dayOf(yesterday.getTime())) return 'Yesterday';
  const d = new Date(ms);
  return d.toLocaleDateString(locale, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    ...(d.getFullYear() === today.getFullYear() ? {} : { year: 'numeric' }),
  });
}
