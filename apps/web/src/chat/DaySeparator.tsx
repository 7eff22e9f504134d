/** The line between two days in the message list: "Today", "Yesterday" or the date. */
import './days.css';
import { dayLabel } from './days';

export function DaySeparator({ at }: { at: number }) {
  const label = dayLabel(at);
  return (
    // A list item of the message list (an <ol> may hold only those): it reads as its day.
    <li class="day-sep" data-testid="day-separator">
      <span>{label}</span>
    </li>
  );
}
