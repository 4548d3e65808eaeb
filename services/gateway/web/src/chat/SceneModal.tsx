/** Generate a scene: from the conversation (t2i), from the last image (i2i), or a modification
 * of it with a preset and an intensity. Opening it on an image gives the quick modification. */
import { useState, type FormEvent } from "react";
import { api, describe, must, type Schemas } from "../api/client";
import { Problem } from "../parts";
import { Dialog } from "../Dialog";

const PRESETS = ["Closer shot", "Wider shot", "Change lighting to night", "Add rain", "Change outfit", "Smile"];

type Props = {
  conversationId: string;
  previousSceneId: string | null;
  /** The message the scene illustrates (it is shown under it). */
  messageId: string | null;
  quick: boolean;
  onClose: () => void;
  onAccepted: (accepted: Schemas["SceneAccepted"]) => void;
};

export function SceneModal({ conversationId, previousSceneId, messageId, quick, onClose, onAccepted }: Props) {
  const [mode, setMode] = useState<"t2i" | "i2i" | "modification">(quick ? "modification" : previousSceneId ? "i2i" : "t2i");
  const [prompt, setPrompt] = useState("");
  const [preset, setPreset] = useState("");
  const [instruction, setInstruction] = useState("");
  const [intensity, setIntensity] = useState(0.5);
  const [style, setStyle] = useState<"character_only" | "pov" | "both_characters">("character_only");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const body: Schemas["SceneRequest"] = { mode, style, keep: false, prompt: prompt.trim() || null, message_id: messageId };
      if (mode !== "t2i") body.previous_scene_id = previousSceneId;
      if (mode === "modification") body.modification = { preset: preset || null, intensity, instruction: instruction.trim() || null };
      onAccepted(must(await api.POST("/v1/conversations/{conversation_id}/scenes", { params: { path: { conversation_id: conversationId } }, body })));
      onClose();
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Dialog labelledBy="scene-title" onClose={onClose}>
      <form className="sheet stack" onSubmit={submit}>
        <h2 id="scene-title">{quick ? "Modify the scene" : "Generate a scene"}</h2>
        {!quick && (
          <fieldset className="row">
            <legend>Mode</legend>
            {(["t2i", "i2i", "modification"] as const).map((m) => (
              <label key={m} className="inline">
                <input type="radio" name="mode" value={m} checked={mode === m} disabled={m !== "t2i" && !previousSceneId} onChange={() => setMode(m)} />
                {m === "t2i" ? "New image" : m === "i2i" ? "Continue from the last image" : "Modify the last image"}
              </label>
            ))}
          </fieldset>
        )}
        {mode === "modification" ? (
          <>
            <label>
              Preset
              <select value={preset} onChange={(e) => setPreset(e.target.value)}>
                <option value="">None</option>
                {PRESETS.map((p) => (
                  <option key={p}>{p}</option>
                ))}
              </select>
            </label>
            <label>
              Instruction
              <input value={instruction} onChange={(e) => setInstruction(e.target.value)} placeholder="What should change?" />
            </label>
            <label>
              Intensity {Math.round(intensity * 100)}%
              <input type="range" min={0} max={1} step={0.05} value={intensity} onChange={(e) => setIntensity(Number(e.target.value))} />
            </label>
          </>
        ) : (
          <>
            <label>
              Prompt (optional: written from the conversation when empty)
              <textarea rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
            </label>
            <label>
              Framing
              <select value={style} onChange={(e) => setStyle(e.target.value as typeof style)}>
                <option value="character_only">The character</option>
                <option value="pov">Point of view</option>
                <option value="both_characters">Both of you</option>
              </select>
            </label>
          </>
        )}
        <Problem text={problem} />
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Starting…" : "Generate"}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
