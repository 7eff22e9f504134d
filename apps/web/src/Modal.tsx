/**
 * A modal dialog on the native `<dialog>`: showModal() makes the rest of the page inert (to
 * the mouse, the keyboard and screen readers alike), Esc closes it (the dialog's own cancel),
 * and when it goes, focus goes back to what had it when it opened: the control that opened it.
 *
 * One thing the native dialog leaves open: after its last control Chromium lets Tab go on
 * to the browser's own toolbar (headless, to the page's body), out of the dialog. Here Tab
 * and Shift+Tab wrap around inside instead, so the keyboard stays in the dialog until it closes.
 */
import type { ComponentChildren, RefObject } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

const FOCUSABLE =
  'a[href], button, input, select, textarea, summary, video[controls], audio[controls], [contenteditable], [tabindex]';

/** The controls of `root` that Tab stops at, in document order. */
function tabStops(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
    (el) =>
      el.tabIndex >= 0 &&
      !(el as HTMLButtonElement).disabled &&
      !el.closest('[inert]') &&
      el.checkVisibility({ visibilityProperty: true }),
  );
}

/** Tab past the last stop of `root` goes to its first, Shift+Tab before the first to its last. */
function wrapTab(e: KeyboardEvent, root: HTMLElement): void {
  const stops = tabStops(root);
  const first = stops[0];
  const last = stops.at(-1);
  if (!first || !last) {
    e.preventDefault(); // nothing to go to: the focus stays where it is, in the dialog
    return;
  }
  const at = document.activeElement;
  const out = !(at instanceof HTMLElement) || !root.contains(at);
  // Past an end: nothing focusable is on that side of where the focus is.
  const pastEnd = e.shiftKey
    ? at === first ||
      (!out && !!(at.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING))
    : at === last ||
      (!out && !!(at.compareDocumentPosition(last) & Node.DOCUMENT_POSITION_PRECEDING));
  if (out || pastEnd) {
    e.preventDefault();
    (e.shiftKey ? last : first).focus();
  }
}

export function Modal({
  class: className,
  label,
  labelledBy,
  initialFocus,
  testid,
  onClose,
  children,
}: {
  class: string;
  /** The dialog's accessible name, or the id of the element that gives it. */
  label?: string;
  labelledBy?: string;
  /** Where the focus starts; without it, the browser's choice (the first focusable control). */
  initialFocus?: RefObject<HTMLElement | null>;
  testid?: string;
  /** Called when the dialog closes itself (Esc, a click on the backdrop): unmount it then. */
  onClose: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useLayoutEffect(() => {
    const d = ref.current;
    // What had the focus before: the control that opened the dialog, to go back to.
    const opener = document.activeElement;
    if (d && !d.open) d.showModal();
    initialFocus?.current?.focus();
    return () => {
      if (d?.open) d.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={`modal ${className}`}
      aria-label={label}
      aria-labelledby={labelledBy}
      data-testid={testid}
      onClose={onClose}
      // The dialog's box is only around its content: a click that lands on the dialog
      // itself, not on what is inside, is on the backdrop around it.
      onClick={(e) => {
        if (e.target === e.currentTarget) ref.current?.close();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Tab') wrapTab(e, e.currentTarget);
        // Keys pressed here are the dialog's, not the capture shortcuts of the page.
        e.stopPropagation();
      }}
    >
      {children}
    </dialog>
  );
}
