/** Quick settings of a conversation: the chat model (with availability), the sampler settings
 * and the author's note with its depth. Read fresh from `GET /v1/conversations/{id}` when
 * opened; a field left empty falls back to the character's default. */
import { useEffect, useState, type FormEvent } from "react";
import { api, describe, must, type Conversation, type Schemas } from "../api/client";
import { Problem } from "../parts";
import { useLoad } from "../useLoad";
import { Dialog } from "../Dialog";
import { SamplerFields, samplerValuesOf, settingsOf, type SamplerValues } from "./SamplerFields";

type Props = { conversation: Conversation; onChanged: (c: Conversation) => void; onClose: () => void };
export function QuickSettings({ conversation, onChanged, onClose }: Props) {
  const models = useLoad(async () => must(await api.GET("/v1/models", { params: { query: { modality: "chat" } } })).items, []);
  const current = useLoad(
    async () => must(await api.GET("/v1/conversations/{conversation_id}", { params: { path: { conversation_id: conversation.id } } })),
    [conversation.id],
  );
  const [fields, setFields] = useState<SamplerValues | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (current.data) setFields(samplerValuesOf(current.data.settings));
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
      setFields(samplerValuesOf(changed.settings));
      setSaved(true);
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setBusy(false);
    }
  }

  const set = (name: keyof SamplerValues, value: string) => {
    setSaved(false);
    setFields((f) => (f ? { ...f, [name]: value } : f));
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
            <SamplerFields values={fields} onChange={set} idPrefix="chat" />
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
