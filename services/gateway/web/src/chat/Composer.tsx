/** The message box with Send (or Stop while a reply streams) and Impersonate, which writes a
 * suggested message as the person's persona into the box (`useImpersonate`). */
import type { FormEvent } from "react";
import { Problem } from "../parts";
import { useImpersonate } from "./useImpersonate";

type Props = {
  conversationId: string;
  name: string;
  draft: string;
  setDraft: (text: string) => void;
  streaming: boolean;
  onSend: (event: FormEvent) => void;
  onStop: () => void;
};

export function Composer({ conversationId, name, draft, setDraft, streaming, onSend, onStop }: Props) {
  const impersonate = useImpersonate(conversationId, setDraft);
  return (
    <>
      <Problem text={impersonate.problem} />
      <form className="composer" onSubmit={onSend} aria-busy={impersonate.running}>
        <label className="visually-hidden" htmlFor="composer-text">
          Message
        </label>
        <textarea
          id="composer-text"
          rows={1}
          value={draft}
          placeholder={`Message ${name}`}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              e.currentTarget.form?.requestSubmit();
            }
          }}
        />
        {impersonate.running ? (
          <button type="button" onClick={impersonate.stop}>
            Stop suggesting
          </button>
        ) : (
          <button type="button" className="quiet" disabled={streaming} onClick={() => void impersonate.start()} title="Suggest a message written as you">
            Impersonate
          </button>
        )}
        {streaming ? (
          <button type="button" onClick={onStop}>
            Stop
          </button>
        ) : (
          <button type="submit" className="primary" disabled={!draft.trim() || impersonate.running}>
            Send
          </button>
        )}
      </form>
    </>
  );
}
