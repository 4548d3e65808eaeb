/** The one modal dialog (a sheet on a phone, a centred card on a desktop) every panel uses.
 *
 * On open it moves focus to its first control; Tab and Shift+Tab stay inside; Escape, or a
 * tap on the dimmed backdrop, closes it; on close focus returns to what opened it. */
import { useEffect, useRef, type ReactNode } from "react";

const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "summary",
  '[tabindex]:not([tabindex="-1"])',
].join(",");

function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((e) => e.getClientRects().length > 0);
}

type Props = {
  /** The id of the heading that names the dialog. */
  labelledBy: string;
  onClose: () => void;
  children: ReactNode;
};

/** Open dialogs, the newest last: only the topmost one answers the keyboard. */
const open: HTMLElement[] = [];

export function Dialog({ labelledBy, onClose, children }: Props) {
  const overlay = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  close.current = onClose;

  useEffect(() => {
    const root = overlay.current;
    if (!root) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    open.push(root);
    (focusables(root)[0] ?? root).focus();
    // On the document, not the dialog: a control that became disabled (a busy button) drops
    // focus to the body, and Escape must still close the dialog.
    const onKeyDown = (event: KeyboardEvent) => {
      if (open[open.length - 1] !== root) return;
      if (event.key === "Escape") {
        event.preventDefault();
        close.current();
      } else if (event.key === "Tab") {
        keepFocusInside(root, event);
      }
    };
    document.addEventListener("keydown", onKeyDown);
    return () => {
      document.removeEventListener("keydown", onKeyDown);
      open.splice(open.indexOf(root), 1);
      // The opener may be gone (the page changed); then focus stays where the page puts it.
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  return (
    <div
      ref={overlay}
      className="overlay"
      role="dialog"
      aria-modal="true"
      aria-labelledby={labelledBy}
      tabIndex={-1}
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) close.current();
      }}
    >
      {children}
    </div>
  );
}

/** Tab from the last control goes to the first, Shift+Tab from the first to the last, and
 * either from outside the dialog comes back in. */
function keepFocusInside(root: HTMLElement, event: KeyboardEvent) {
  const all = focusables(root);
  if (all.length === 0) {
    event.preventDefault();
    return;
  }
  const first = all[0];
  const last = all[all.length - 1];
  const inside = root.contains(document.activeElement);
  if (event.shiftKey && (document.activeElement === first || !inside)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
    event.preventDefault();
    first.focus();
  }
}
