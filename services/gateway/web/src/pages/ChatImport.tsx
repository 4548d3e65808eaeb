/** Import a SillyTavern chat (`.jsonl`) as a new conversation with one of the characters; the
 * chat opens at once. A file that is not a SillyTavern chat is a problem named in words. */
import { useState } from "react";
import { api, describe, must, type Character } from "../api/client";
import { Problem } from "../parts";
import { go } from "../route";

export function ChatImport({ characters }: { characters: Character[] }) {
  const [characterId, setCharacterId] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = characterId || characters[0]?.id || "";

  async function upload(file: File | undefined) {
    if (!file || !chosen) return;
    setBusy(true);
    setProblem(null);
    const form = new FormData();
    form.append("file", file);
    form.append("character_id", chosen);
    try {
      const conversation = must(
        await api.POST("/v1/conversations/import", {
          body: form as unknown as { file: string; character_id: string },
          bodySerializer: (body) => body as unknown as FormData,
        }),
      );
      go({ page: "chat", conversationId: conversation.id });
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <details className="chat-import">
      <summary>Import a SillyTavern chat</summary>
      <div className="row">
        <label className="inline">
          Character
          <select value={chosen} onChange={(e) => setCharacterId(e.target.value)} aria-label="Character of the imported chat">
            {characters.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label className="button">
          {busy ? "Importing…" : "Choose chat file (.jsonl)"}
          <input type="file" className="visually-hidden" accept=".jsonl,application/jsonl,application/x-ndjson,text/plain" onChange={(e) => void upload(e.target.files?.[0])} />
        </label>
      </div>
      <Problem text={problem} />
    </details>
  );
}
