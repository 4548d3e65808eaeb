/** One lorebook: its name and description, its entries, save, export (v3 or SillyTavern), delete. */
import { useEffect, useState, type FormEvent } from "react";
import { api, describe, must, type Lorebook, type LorebookEntry } from "../api/client";
import { download } from "../download";
import { Problem } from "../parts";
import { go, href } from "../route";
import { EntryFields, newEntry } from "./EntryFields";

export function LorebookEditor({ lorebookId }: { lorebookId: string }) {
  const [book, setBook] = useState<Lorebook | null>(null);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [entries, setEntries] = useState<LorebookEntry[]>([]);
  // Keys for React only: entries may have no id until saved.
  const [keys, setKeys] = useState<number[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  function show(loaded: Lorebook) {
    setBook(loaded);
    setName(loaded.name);
    setDescription(loaded.description);
    setEntries(loaded.entries);
    setKeys(loaded.entries.map((_, i) => Date.now() + i));
  }

  useEffect(() => {
    void (async () => {
      try {
        show(must(await api.GET("/v1/lorebooks/{lorebook_id}", { params: { path: { lorebook_id: lorebookId } } })));
      } catch (error) {
        setProblem(describe(error));
      }
    })();
  }, [lorebookId]);

  async function save(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    setNotice(null);
    try {
      show(must(await api.PATCH("/v1/lorebooks/{lorebook_id}", { params: { path: { lorebook_id: lorebookId } }, body: { name: name.trim(), description, entries } })));
      setNotice("Saved");
    } catch (error) {
      setProblem(describe(error));
    }
  }

  async function remove() {
    if (!book || !window.confirm(`Delete the lorebook ${book.name}?`)) return;
    try {
      const answer = await api.DELETE("/v1/lorebooks/{lorebook_id}", { params: { path: { lorebook_id: lorebookId } } });
      if (answer.error !== undefined) must(answer);
      go({ page: "lorebooks", lorebookId: null });
    } catch (error) {
      setProblem(describe(error));
    }
  }

  async function exportAs(format: "v3" | "sillytavern") {
    if (!book) return;
    try {
      await download(`/v1/lorebooks/${book.id}/export?format=${format}`, `${book.name}.${format === "v3" ? "lorebook" : "world"}.json`);
    } catch (error) {
      setProblem(describe(error));
    }
  }

  const add = () => {
    setEntries([...entries, newEntry()]);
    setKeys([...keys, Date.now()]);
  };
  const replace = (index: number, entry: LorebookEntry) => setEntries(entries.map((e, i) => (i === index ? entry : e)));
  const drop = (index: number) => {
    setEntries(entries.filter((_, i) => i !== index));
    setKeys(keys.filter((_, i) => i !== index));
  };

  return (
    <form className="stack" onSubmit={save} aria-labelledby="lorebook-title">
      <a href={href({ page: "lorebooks", lorebookId: null })}>
        <span aria-hidden="true">‹ </span>All lorebooks
      </a>
      <h1 id="lorebook-title">{book ? `Lorebook: ${book.name}` : "Lorebook"}</h1>
      <Problem text={problem} />
      {!book && !problem && <p className="muted">Loading…</p>}
      {book && (
        <>
          <label>
            Lorebook name
            <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} required />
          </label>
          <label>
            Lorebook description
            <textarea rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
          </label>
          <h2>Entries</h2>
          {entries.length === 0 && <p className="muted">No entries yet.</p>}
          {entries.map((entry, i) => (
            <EntryFields key={keys[i]} entry={entry} number={i + 1} onChange={(e) => replace(i, e)} onRemove={() => drop(i)} />
          ))}
          <div className="row">
            <button type="button" onClick={add}>
              Add entry
            </button>
            <button type="submit" className="primary">
              Save lorebook
            </button>
            {notice && <span role="status">{notice}</span>}
          </div>
          <div className="row">
            <button type="button" onClick={() => void exportAs("v3")}>
              Export lorebook v3
            </button>
            <button type="button" onClick={() => void exportAs("sillytavern")}>
              Export SillyTavern
            </button>
            <button type="button" className="quiet" onClick={() => void remove()}>
              Delete lorebook
            </button>
          </div>
        </>
      )}
    </form>
  );
}
