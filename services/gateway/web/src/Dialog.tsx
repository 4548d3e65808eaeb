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

export function Dialog({ labelledBy, onClose, children }: Props) {
  const overlay = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  close.current = onClose;

  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const root = overlay.current;
    if (root) (focusables(root)[0] ?? root).focus();
    return () => {
      // The opener may be gone (the page changed); then focus stays where the page puts it.
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  function onKeyDown(event: React.KeyboardEvent<HTMLDivElement>) {
    if (event.key === "Escape") {
      event.stopPropagation();
      close.current();
      return;
    }
    if (event.key !== "Tab" || !overlay.current) return;
    const all = focusables(overlay.current);
    if (all.length === 0) {
      event.preventDefault();
      return;
    }
    const first = all[0];
    const last = all[all.length - 1];
    const inside = overlay.current.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  }

  return (
    <div
      ref={overlay}
      className="overlay"
      role="dialog"
      aria-modal="true"
      aria-labelledby={labelledBy}
      tabIndex={-1}
      onKeyDown={onKeyDown}
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) close.current();
      }}
    >
      {children}
    </div>
  );
}
