/** Quick settings of a conversation: the chat model (with availability), the sampler settings
 * and the author's note with its depth. Read fresh from `GET /v1/conversations/{id}` when
 * opened; a field left empty falls back to the character's default. */
import { useEffect, useState, type FormEvent } from "react";
import { api, describe, must, type Conversation, type Schemas } from "../api/client";
import { Problem } from "../parts";
import { useLoad } from "../useLoad";
import { Dialog } from "../Dialog";

type Props = { conversation: Conversation; onChanged: (c: Conversation) => void; onClose: () => void };
type Settings = Schemas["SamplerSettings"];
type Fields = Record<"temperature" | "top_p" | "max_tokens" | "stop" | "author_note" | "author_note_depth", string>;

const text = (value: number | string | null | undefined) => (value === null || value === undefined ? "" : String(value));

function fieldsOf(s: Settings = {}): Fields {
  return {
    temperature: text(s.temperature),
    top_p: text(s.top_p),
    max_tokens: text(s.max_tokens),
    stop: (s.stop ?? []).join("\n"),
    author_note: s.author_note ?? "",
    author_note_depth: text(s.author_note_depth),
  };
}

/** Every field is sent: an empty one as `null`, so it falls back to the character's default. */
function settingsOf(f: Fields): Settings {
  const number = (value: string) => (value.trim() === "" ? null : Number(value));
  const stop = f.stop.split("\n").map((s) => s.trim()).filter(Boolean);
  return {
    temperature: number(f.temperature),
    top_p: number(f.top_p),
    max_tokens: number(f.max_tokens),
    stop: stop.length ? stop : null,
    author_note: f.author_note.trim() ? f.author_note : null,
    author_note_depth: number(f.author_note_depth),
  };
}

export function QuickSettings({ conversation, onChanged, onClose }: Props) {
  const models = useLoad(async () => must(await api.GET("/v1/models", { params: { query: { modality: "chat" } } })).items, []);
  const current = useLoad(
    async () => must(await api.GET("/v1/conversations/{conversation_id}", { params: { path: { conversation_id: conversation.id } } })),
    [conversation.id],
  );
  const [fields, setFields] = useState<Fields | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (current.data) setFields(fieldsOf(current.data.settings));
  }, [current.data]);

  async function patch(body: Schemas["ConversationUpdate"]) {
    setProblem(null);
    setSaved(false);
    const changed = must(await api.PATCH("/v1/conversations/{conversation_id}", { params: { path: { conversation_id: conversation.id } }, body }));
    onChanged(changed);
    return changed;
  }

  async function choose(model: string) {
    try {
      await patch({ model: model || null });
    } catch (error) {
      setProblem(describe(error));
    }
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!fields) return;
    setBusy(true);
    try {
      const changed = await patch({ settings: settingsOf(fields) });
      setFields(fieldsOf(changed.settings));
      setSaved(true);
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setBusy(false);
    }
  }

  const set = (name: keyof Fields) => (e: { target: { value: string } }) => {
    setSaved(false);
    setFields((f) => (f ? { ...f, [name]: e.target.value } : f));
  };
  return (
    <Dialog labelledBy="settings-title" onClose={onClose}>
      <div className="sheet stack">
        <h2 id="settings-title">Quick settings</h2>
        <label>
          Model
          <select value={conversation.model ?? ""} onChange={(e) => void choose(e.target.value)}>
            <option value="">The default model</option>
            {models.data?.map((m) => (
              <option key={m.key} value={m.key} disabled={!m.available}>
                {m.display_name}
                {m.available ? "" : " (unavailable)"}
              </option>
            ))}
          </select>
        </label>
        {!fields && current.loading && <p className="muted">Loading the settings…</p>}
        {fields && (
          <form className="stack" onSubmit={save} aria-label="Sampler settings and author's note">
            <p className="muted">Leave a field empty to use the character's default.</p>
            <div className="settings-grid">
              <label>
                Temperature
                <input type="number" min={0} max={2} step={0.05} value={fields.temperature} onChange={set("temperature")} />
              </label>
              <label>
                Top P
                <input type="number" min={0.01} max={1} step={0.01} value={fields.top_p} onChange={set("top_p")} />
              </label>
              <label>
                Max tokens
                <input type="number" min={1} max={32768} step={1} value={fields.max_tokens} onChange={set("max_tokens")} />
              </label>
            </div>
            <div className="field">
              <label htmlFor="stop-sequences">Stop sequences (one a line, at most 4)</label>
              <textarea id="stop-sequences" rows={2} value={fields.stop} onChange={set("stop")} />
            </div>
            {/* Labelled by id: a label wrapping a textarea would add its text to the field's name. */}
            <div className="field">
              <label htmlFor="author-note">Author's note</label>
              <textarea id="author-note" rows={3} maxLength={4000} value={fields.author_note} onChange={set("author_note")} />
            </div>
            <label>
              Author's note depth (messages from the end; 0 is after the newest)
              <input type="number" min={0} max={100} step={1} value={fields.author_note_depth} onChange={set("author_note_depth")} />
            </label>
            <div className="row">
              <button type="submit" className="primary" disabled={busy}>
                {busy ? "Saving…" : "Save settings"}
              </button>
              {saved && (
                <span role="status" className="muted">
                  Saved
                </span>
              )}
            </div>
          </form>
        )}
        <Problem text={problem ?? models.problem ?? current.problem} />
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
