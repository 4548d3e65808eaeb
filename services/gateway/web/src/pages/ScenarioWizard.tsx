/** The scenario setup wizard: before a chat starts, pick who you are (a persona) and a scene
 * template (setting, scenario, atmosphere, starters), or none; a chosen starter waits in the
 * chat's message box. */
import { useState } from "react";
import { api, describe, must, type Character } from "../api/client";
import { Problem } from "../parts";
import { go } from "../route";
import { useSession } from "../session";
import { useLoad } from "../useLoad";
import { keepDraft } from "../chat/draft";
import { Dialog } from "../Dialog";

export function ScenarioWizard({ character, onClose }: { character: Character; onClose: () => void }) {
  const { profile } = useSession();
  const personas = useLoad(async () => must(await api.GET("/v1/characters", { params: { query: { role: "user", scope: "mine", limit: 100 } } })).items, []);
  const templates = useLoad(async () => must(await api.GET("/v1/scene-templates", { params: { query: { limit: 100 } } })).items, []);
  const [personaId, setPersonaId] = useState(profile.default_persona_id ?? "");
  const [templateId, setTemplateId] = useState("");
  const [starter, setStarter] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const template = templates.data?.find((t) => t.id === templateId) ?? null;

  async function start() {
    setBusy(true);
    setProblem(null);
    try {
      const conversation = must(
        await api.POST("/v1/conversations", { body: { character_id: character.id, persona_id: personaId || null, scene_template_id: templateId || null } }),
      );
      if (starter) keepDraft(conversation.id, starter);
      go({ page: "chat", conversationId: conversation.id });
    } catch (error) {
      setProblem(describe(error));
      setBusy(false);
    }
  }

  return (
    <Dialog labelledBy="wizard-title" onClose={onClose}>
      <div className="sheet stack">
        <h2 id="wizard-title">Set the scene with {character.name}</h2>
        <label>
          You play
          <select value={personaId} onChange={(e) => setPersonaId(e.target.value)}>
            <option value="">Yourself</option>
            {personas.data?.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Scene template
          <select
            value={templateId}
            onChange={(e) => {
              setTemplateId(e.target.value);
              setStarter("");
            }}
          >
            <option value="">None: the character's own scenario</option>
            {templates.data?.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        {templates.data?.length === 0 && <p className="muted">No scene templates yet.</p>}
        {template && (
          <section className="card stack" aria-label={`About ${template.name}`}>
            {template.description && <p>{template.description}</p>}
            {template.setting && (
              <p>
                <strong>Setting:</strong> {template.setting}
              </p>
            )}
            {template.scenario && (
              <p>
                <strong>Scenario:</strong> {template.scenario}
              </p>
            )}
            {template.atmosphere && (
              <p>
                <strong>Atmosphere:</strong> {template.atmosphere}
              </p>
            )}
            {template.scene_starters.length > 0 && (
              <fieldset className="choice-list stack">
                <legend>Open with</legend>
                <label>
                  <input type="radio" name="starter" checked={starter === ""} onChange={() => setStarter("")} />
                  My own first line
                </label>
                {template.scene_starters.map((s, i) => (
                  <label key={i}>
                    <input type="radio" name="starter" checked={starter === s} onChange={() => setStarter(s)} />
                    {s}
                  </label>
                ))}
              </fieldset>
            )}
          </section>
        )}
        <Problem text={problem ?? personas.problem ?? templates.problem} />
        <div className="row">
          <button type="button" className="primary" disabled={busy} onClick={() => void start()}>
            {busy ? "Starting…" : "Start chat"}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </div>
    </Dialog>
  );
}
