/** What the next turn will send: the prompt blocks (kind, source, tokens), the lorebook entries
 * it activated and by which key, and the token budget. Nothing is stored or charged. */
import { api, must, type PromptPreview } from "../api/client";
import { Problem } from "../parts";
import { useLoad } from "../useLoad";
import { Dialog } from "../Dialog";

const REASONS: Record<PromptPreview["lorebook_entries"][number]["reason"], string> = {
  key: "named",
  constant: "always on",
  decorator: "a decorator",
  recursion: "another entry named it",
};

/** Entry ids name nothing a person wrote: show an entry's name, or its keys, from the books the
 * caller may read (a book they may not read keeps the id). */
async function entryNames(preview: PromptPreview): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const books = [...new Set(preview.lorebook_entries.map((e) => e.book_id).filter((id): id is string => !!id))];
  await Promise.all(
    books.map(async (id) => {
      const answer = await api.GET("/v1/lorebooks/{lorebook_id}", { params: { path: { lorebook_id: id } } });
      for (const entry of answer.data?.entries ?? []) {
        const label = entry.name || entry.comment || (entry.keys ?? []).join(", ");
        if (label) names.set(`${id}:${entry.id}`, `“${label}”`);
      }
    }),
  );
  return names;
}

type Props = { conversationId: string; draft: string; onClose: () => void };

/** The gateway's limit for a previewed draft (it travels in the query string). */
const PREVIEW_CHARS = 5000;

export function PromptPreviewPanel({ conversationId, draft, onClose }: Props) {
  const content = draft.trim().slice(0, PREVIEW_CHARS);
  const preview = useLoad(async () => {
    const shown = must(
      await api.GET("/v1/conversations/{conversation_id}/prompt-preview", {
        params: { path: { conversation_id: conversationId }, query: content ? { content, kind: "send" } : { kind: "continue" } },
      }),
    );
    return { preview: shown, names: await entryNames(shown) };
  }, [conversationId, content]);
  const p = preview.data?.preview;
  const names = preview.data?.names ?? new Map<string, string>();
  return (
    <Dialog labelledBy="preview-title" onClose={onClose}>
      <div className="sheet stack">
        <h2 id="preview-title">What the next turn will send</h2>
        <p className="muted">{content ? "Sending the message you are writing:" : "Your message box is empty, so this is a Continue:"} nothing is sent or charged to show this.</p>
        <Problem text={preview.problem} />
        {preview.loading && <p className="muted">Building the prompt…</p>}
        {p && (
          <>
            <section aria-labelledby="budget-title">
              <h3 id="budget-title">Budget</h3>
              <p aria-label="Budget used">
                {p.budget.used} of {p.budget.available} tokens used ({p.budget.model_key}, a {p.budget.context_window}-token window, {p.budget.max_output_tokens} kept for the reply);
                lorebooks {p.budget.lorebook_tokens} tokens; {p.budget.history_kept} messages kept
                {p.budget.history_dropped > 0 ? `, ${p.budget.history_dropped} dropped` : ""}.
              </p>
              {!p.budget.fits && (
                <p role="alert" className="problem">
                  The prompt does not fit: the turn would fail.
                </p>
              )}
              {p.budget.newest_message_truncated && <p className="problem">The newest message would be cut short.</p>}
            </section>
            <section aria-labelledby="activated-title">
              <h3 id="activated-title">Lorebook entries activated</h3>
              {p.lorebook_entries.length === 0 && <p className="muted">None: no key was named.</p>}
              <ul aria-label="Activated lorebook entries" className="stack">
                {p.lorebook_entries.map((e, i) => (
                  <li key={`${e.book_id ?? ""}:${e.entry_id}:${i}`}>
                    <strong>{e.book_name || "A lorebook"}</strong> ({e.book_source}), entry {names.get(`${e.book_id ?? ""}:${e.entry_id}`) ?? e.entry_id}:{" "}
                    {e.reason === "key" && e.key ? `key “${e.key}”` : REASONS[e.reason]}
                    {e.inserted ? "" : " — left out: over the token budget"}
                  </li>
                ))}
              </ul>
            </section>
            {p.memory_items.length > 0 && (
              <section aria-labelledby="memory-title">
                <h3 id="memory-title">Memory</h3>
                <ul>
                  {p.memory_items.map((m, i) => (
                    <li key={i}>{m}</li>
                  ))}
                </ul>
              </section>
            )}
            <section aria-labelledby="blocks-title">
              <h3 id="blocks-title">Prompt blocks</h3>
              <ol aria-label="Prompt blocks" className="preview-blocks stack">
                {p.blocks.map((b, i) => (
                  <li key={i}>
                    <details>
                      <summary>
                        {b.kind} · {b.source} · {b.tokens} tokens
                      </summary>
                      <pre>{b.text}</pre>
                    </details>
                  </li>
                ))}
              </ol>
            </section>
          </>
        )}
        <div className="row">
          <button type="button" onClick={() => void preview.reload()}>
            Refresh preview
          </button>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </Dialog>
  );
}
