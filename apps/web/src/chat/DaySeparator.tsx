/** The line between two days in the message list: "Today", "Yesterday" or the date. */
import './days.css';
import { dayLabel } from './days';

export function DaySeparator({ at }: { at: number }) {
  const label = dayLabel(at);
  return (
    <li class="day-sep" role="separator" aria-label={label} data-testid="day-separator">
      <span>{label}</span>
    </li>
  );
}
