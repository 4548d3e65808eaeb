/** Import a character card (PNG, JSON or CHARX) by choosing or dropping a file. */
import { useState, type DragEvent } from "react";
import { api, describe, must, type Character } from "../api/client";
import { Problem } from "../parts";

export function CharacterImport({ onImported }: { onImported: (character: Character) => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function upload(file: File | undefined) {
    if (!file) return;
    setBusy(true);
    setProblem(null);
    try {
      const form = new FormData();
      form.append("file", file);
      const character = must(
        await api.POST("/v1/characters/import", {
          body: form as unknown as { file: string },
          bodySerializer: (body) => body as unknown as FormData,
        }),
      );
      onImported(character);
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setBusy(false);
    }
  }

  const drop = (event: DragEvent) => {
    event.preventDefault();
    void upload(event.dataTransfer.files[0]);
  };
  return (
    <div className="import" onDragOver={(e) => e.preventDefault()} onDrop={drop}>
      <label className="button">
        {busy ? "Importing…" : "Import card"}
        <input
          type="file"
          className="visually-hidden"
          accept=".png,.json,.charx,image/png,application/json"
          onChange={(e) => void upload(e.target.files?.[0])}
        />
      </label>
      <Problem text={problem} />
    </div>
  );
}
