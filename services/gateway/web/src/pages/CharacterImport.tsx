/** Import a character card (PNG, JSON or CHARX) by choosing or dropping a file. What the import
 * mended or left out is shown in words before the chat starts. */
import { useState, type DragEvent } from "react";
import { api, describe, must, type Character } from "../api/client";
import { fileForm } from "../lore/uploadFile";
import { Problem } from "../parts";
import { Warnings } from "../Warnings";

type Imported = { character: Character; warnings: string[] };

export function CharacterImport({ onImported }: { onImported: (character: Character) => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [over, setOver] = useState(false);
  const [imported, setImported] = useState<Imported | null>(null);

  async function upload(file: File | undefined) {
    if (!file) return;
    setBusy(true);
    setProblem(null);
    setImported(null);
    try {
      const { warnings, ...character } = must(await api.POST("/v1/characters/import", fileForm(file)));
      if (warnings.length === 0) onImported(character);
      else setImported({ character, warnings });
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setBusy(false);
    }
  }

  const drop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    void upload(event.dataTransfer.files[0]);
  };
  return (
    <div
      className={over ? "import drop-zone over" : "import drop-zone"}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={drop}
    >
      <label className="button">
        {busy ? "Importing…" : "Import card"}
        <input
          type="file"
          className="visually-hidden"
          accept=".png,.json,.charx,image/png,application/json,application/zip"
          onChange={(e) => void upload(e.target.files?.[0])}
        />
      </label>
      <span className="muted">or drop a PNG, JSON or CHARX card here</span>
      {imported && (
        <div className="stack">
          <Warnings title={`${imported.character.name} was imported, with changes`} items={imported.warnings} />
          <button type="button" className="primary" onClick={() => onImported(imported.character)}>
            Start chatting with {imported.character.name}
          </button>
        </div>
      )}
      <Problem text={problem} />
    </div>
  );
}
