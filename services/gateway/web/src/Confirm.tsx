/** Asks before something that cannot be undone (deleting a message, a kept image). */
import { Dialog } from "./Dialog";

type Props = {
  title: string;
  /** The confirming button's name, e.g. "Delete". */
  action: string;
  onConfirm: () => void;
  onClose: () => void;
};

export function Confirm({ title, action, onConfirm, onClose }: Props) {
  return (
    <Dialog labelledBy="confirm-title" onClose={onClose}>
      <div className="sheet stack">
        <h2 id="confirm-title">{title}</h2>
        <p className="muted">This cannot be undone.</p>
        <div className="row">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="primary danger"
            onClick={() => {
              onClose();
              onConfirm();
            }}
          >
            {action}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
