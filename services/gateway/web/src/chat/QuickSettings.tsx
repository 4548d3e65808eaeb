/** Quick settings of a conversation: the chat model (with availability). */
import { useState } from "react";
import { api, describe, must, type Conversation } from "../api/client";
import { Problem } from "../parts";
import { useLoad } from "../useLoad";

type Props = { conversation: Conversation; onChanged: (c: Conversation) => void; onClose: () => void };

export function QuickSettings({ conversation, onChanged, onClose }: Props) {
  const models = useLoad(async () => must(await api.GET("/v1/models", { params: { query: { modality: "chat" } } })).items, []);
  const [problem, setProblem] = useState<string | null>(null);

  async function choose(model: string) {
    try {
      onChanged(must(await api.PATCH("/v1/conversations/{conversation_id}", { params: { path: { conversation_id: conversation.id } }, body: { model: model || null } })));
      setProblem(null);
    } catch (error) {
      setProblem(describe(error));
    }
  }
  return (
    <div className="overlay" role="dialog" aria-modal="true" aria-labelledby="settings-title">
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
        <Problem text={problem ?? models.problem} />
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
