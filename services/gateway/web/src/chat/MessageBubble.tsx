/** One message: its text, its swipes (`‹ n/m ›`), and what can be done with it. */
import { useState, type FormEvent } from "react";
import type { Message } from "../api/client";
import { Confirm } from "../Confirm";

type Props = {
  /** The element id, so the page can scroll to this message. */
  id?: string;
  message: Message;
  name: string;
  onSwipe?: (index: number) => void;
  onEdit: (content: string) => Promise<void>;
  onDelete: () => void;
  /** Start a new chat holding the history up to this message. */
  onFork?: () => void;
  children?: React.ReactNode;
};

export function MessageBubble({ id, message, name, onSwipe, onEdit, onDelete, onFork, children }: Props) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const mine = message.sender === "user";
  const count = message.alternatives_count;
  const index = message.selected_index;

  async function save(event: FormEvent) {
    event.preventDefault();
    await onEdit(draft);
    setEditing(false);
  }
  return (
    <li id={id} className={`bubble ${mine ? "mine" : "theirs"}`} aria-label={`${mine ? "You" : name}`}>
      {editing ? (
        <form onSubmit={save} className="stack">
          <label>
            Edit message
            <textarea value={draft} onChange={(e) => setDraft(e.target.value)} rows={4} />
          </label>
          <div className="row">
            <button type="submit" className="primary">
              Save
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <p className="text">{message.content}</p>
      )}
      {children}
      <div className="bubble-tools">
        {onSwipe && count > 1 && (
          <span className="swipes">
            <button type="button" aria-label="Previous reply" disabled={index <= 0} onClick={() => onSwipe(index - 1)}>
              ‹
            </button>
            <span aria-label="Reply number" className="swipe-count">
              {index + 1}/{count}
            </span>
            <button type="button" aria-label="Next reply" disabled={index >= count - 1} onClick={() => onSwipe(index + 1)}>
              ›
            </button>
          </span>
        )}
        {!editing && (
          <>
            <button type="button" className="quiet" onClick={() => { setDraft(message.content); setEditing(true); }}>
              Edit
            </button>
            <button type="button" className="quiet" onClick={() => setConfirming(true)}>
              Delete
            </button>
            {onFork && (
              <button type="button" className="quiet" onClick={onFork} aria-label="Fork from here" title="A new chat holding the story up to this message">
                Fork
              </button>
            )}
          </>
        )}
      </div>
      {confirming && <Confirm title="Delete this message?" action="Delete" onConfirm={onDelete} onClose={() => setConfirming(false)} />}
    </li>
  );
}
