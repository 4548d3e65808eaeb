/** The caller's lorebooks: the list, a new book, and importing one from a file (lorebook v3,
 * a card's `character_book` or SillyTavern world info), with what the import mended in words. */
import { useState, type FormEvent } from "react";
import { api, describe, must } from "../api/client";
import { Problem } from "../parts";
import { go, href } from "../route";
import { useLoad } from "../useLoad";
import { Warnings } from "../Warnings";
import { fileForm } from "./uploadFile";

export function LorebooksPage() {
  const books = useLoad(async () => must(await api.GET("/v1/lorebooks", { params: { query: { scope: "mine", limit: 100 } } })).items, []);
  const [name, setName] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [warnings, setWarnings] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  async function create(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      const book = must(await api.POST("/v1/lorebooks", { body: { name: name.trim(), description: "", recursive_scanning: false, visibility: "private", entries: [] } }));
      go({ page: "lorebooks", lorebookId: book.id });
    } catch (error) {
      setProblem(describe(error));
    }
  }

  async function importFile(file: File | undefined) {
    if (!file) return;
    setBusy(true);
    setProblem(null);
    setWarnings([]);
    try {
      const book = must(await api.POST("/v1/lorebooks/import", fileForm(file)));
      setWarnings(book.warnings);
      await books.reload();
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="stack">
      <h1>Lorebooks</h1>
      <p className="muted">World info: entries whose keys, named in the chat, bring their content into the prompt.</p>
      <form className="row" onSubmit={create}>
        <label className="grow">
          New lorebook name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
        </label>
        <button type="submit" className="primary" disabled={!name.trim()}>
          Create lorebook
        </button>
      </form>
      <div
        className="drop-zone"
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => {
          e.preventDefault();
          void importFile(e.dataTransfer.files[0]);
        }}
      >
        <label className="button">
          {busy ? "Importing…" : "Import a lorebook"}
          <input type="file" className="visually-hidden" accept=".json,application/json" onChange={(e) => void importFile(e.target.files?.[0])} />
        </label>
        <span className="muted">or drop a JSON file here</span>
      </div>
      <Warnings title="The import mended" items={warnings} />
      <Problem text={problem ?? books.problem} />
      {books.loading && !books.data && <p className="muted">Loading…</p>}
      {books.data?.length === 0 && <p className="muted">No lorebooks yet.</p>}
      <ul className="stack" aria-label="Your lorebooks">
        {books.data?.map((b) => (
          <li key={b.id} className="card">
            <a href={href({ page: "lorebooks", lorebookId: b.id })}>{b.name}</a>
            <span className="muted">
              {" "}
              · {b.entries.length} {b.entries.length === 1 ? "entry" : "entries"}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
