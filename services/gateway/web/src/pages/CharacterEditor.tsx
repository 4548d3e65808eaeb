/** Create or edit a character (an AI character or one of your personas), upload its portrait,
 * and export its card as JSON or PNG. An AI character's default sampler settings and author's
 * note (`settings`, what its chats use unless they set their own) are edited here too. */
import { useEffect, useState, type FormEvent } from "react";
import { api, authHeaders, describe, must, type Character, type Schemas } from "../api/client";
import { Problem } from "../parts";
import { go } from "../route";
import { SamplerFields, samplerValuesOf, settingsOf, type SamplerValues } from "../chat/SamplerFields";
import { Portrait } from "./Portrait";

type Draft = Schemas["CharacterCreate"];

const EMPTY: Draft = {
  name: "",
  role: "ai",
  description: "",
  persona: "",
  scenario: "",
  first_message: "",
  alternate_greetings: [],
  example_dialogue: "",
  system_prompt: "",
  tags: [],
  content_rating: "sfw",
  visibility: "private",
  appearance_tags: [],
  scene_behavior_rules: {},
  nickname: "",
  creator: "",
  creator_notes: "",
  character_version: "",
  post_history_instructions: "",
};

function draftOf(c: Character): Draft {
  const { id: _id, owner_id: _o, created_at: _c, updated_at: _u, ...fields } = c;
  return { ...fields, consistency_method: fields.consistency_method as Draft["consistency_method"] };
}

export function CharacterEditor({ characterId }: { characterId: string | null }) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [saved, setSaved] = useState<Character | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [sampler, setSampler] = useState<SamplerValues>(() => samplerValuesOf());

  useEffect(() => {
    if (!characterId) return;
    void (async () => {
      try {
        const c = must(await api.GET("/v1/characters/{character_id}", { params: { path: { character_id: characterId } } }));
        setSaved(c);
        setDraft(draftOf(c));
        setSampler(samplerValuesOf(c.settings));
      } catch (error) {
        setProblem(describe(error));
      }
    })();
  }, [characterId]);

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));

  async function save(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      // Only the fields this form edits (a read character carries more than an update takes).
      const editable = Object.keys(EMPTY).filter((k) => k !== "role") as (keyof Draft)[];
      const settings = settingsOf(sampler);
      const changes = { ...Object.fromEntries(editable.map((k) => [k, draft[k]])), settings } as Schemas["CharacterUpdate"];
      const c = saved
        ? must(await api.PATCH("/v1/characters/{character_id}", { params: { path: { character_id: saved.id } }, body: changes }))
        : must(await api.POST("/v1/characters", { body: { ...draft, settings } }));
      setSaved(c);
      setSampler(samplerValuesOf(c.settings));
      setNotice("Saved");
      if (!saved) go({ page: "character", characterId: c.id });
    } catch (error) {
      setProblem(describe(error));
    }
  }

  async function uploadPortrait(file: File | undefined) {
    if (!file || !saved) return;
    try {
      const form = new FormData();
      form.append("file", file);
      const c = must(
        await api.POST("/v1/characters/{character_id}/portrait", {
          params: { path: { character_id: saved.id } },
          body: form as unknown as { file: string },
          bodySerializer: (body) => body as unknown as FormData,
        }),
      );
      setSaved({ ...c, image_url: `${c.image_url}?v=${Date.now()}` });
      setNotice("Portrait uploaded");
    } catch (error) {
      setProblem(describe(error));
    }
  }

  async function exportCard(format: "json" | "png") {
    if (!saved) return;
    try {
      const response = await fetch(`/v1/characters/${saved.id}/export?format=${format}`, { headers: authHeaders() });
      if (!response.ok) throw new Error((await response.json().catch(() => null))?.error?.message ?? `The export answered ${response.status}`);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = `${saved.name}.${format}`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (error) {
      setProblem(describe(error));
    }
  }

  const lines = (text: string) => text.split("\n").map((t) => t.trim()).filter(Boolean);
  return (
    <form className="stack" onSubmit={save} aria-labelledby="editor-title">
      <h1 id="editor-title">{saved ? `Edit ${saved.name}` : "New character"}</h1>
      {saved && (
        <div className="row">
          <Portrait name={saved.name} url={saved.image_url} />
          <label className="button">
            Upload portrait
            <input type="file" className="visually-hidden" accept="image/png,image/jpeg,image/webp" onChange={(e) => void uploadPortrait(e.target.files?.[0])} />
          </label>
          <button type="button" onClick={() => void exportCard("json")}>
            Export JSON
          </button>
          <button type="button" onClick={() => void exportCard("png")}>
            Export PNG
          </button>
        </div>
      )}
      {!saved && (
        <label>
          Kind
          <select value={draft.role} onChange={(e) => set("role", e.target.value as Draft["role"])}>
            <option value="ai">An AI character</option>
            <option value="user">One of my personas</option>
          </select>
        </label>
      )}
      <label>
        Name
        <input required value={draft.name} onChange={(e) => set("name", e.target.value)} />
      </label>
      <label>
        Description
        <textarea rows={3} value={draft.description} onChange={(e) => set("description", e.target.value)} />
      </label>
      <label>
        Personality
        <textarea rows={2} value={draft.persona} onChange={(e) => set("persona", e.target.value)} />
      </label>
      <label>
        Scenario
        <textarea rows={2} value={draft.scenario} onChange={(e) => set("scenario", e.target.value)} />
      </label>
      <label>
        First message
        <textarea rows={3} value={draft.first_message} onChange={(e) => set("first_message", e.target.value)} />
      </label>
      <label>
        Other greetings (one per line)
        <textarea rows={2} value={(draft.alternate_greetings ?? []).join("\n")} onChange={(e) => set("alternate_greetings", lines(e.target.value))} />
      </label>
      <label>
        Tags (comma separated)
        <input value={(draft.tags ?? []).join(", ")} onChange={(e) => set("tags", e.target.value.split(",").map((t) => t.trim()).filter(Boolean))} />
      </label>
      <div className="row">
        <label className="inline">
          Rating
          <select value={draft.content_rating} onChange={(e) => set("content_rating", e.target.value as Draft["content_rating"])}>
            <option value="sfw">SFW</option>
            <option value="nsfw">NSFW</option>
          </select>
        </label>
        <label className="inline">
          Visibility
          <select value={draft.visibility} onChange={(e) => set("visibility", e.target.value as Draft["visibility"])}>
            <option value="private">Private</option>
            <option value="public">Public</option>
          </select>
        </label>
      </div>
      {draft.role === "ai" && (
        <fieldset className="stack">
          <legend>Default settings of its chats</legend>
          <p className="muted">A chat's own quick settings win; leave a field empty for the usual default.</p>
          <SamplerFields values={sampler} onChange={(name, value) => setSampler((v) => ({ ...v, [name]: value }))} idPrefix="character" />
        </fieldset>
      )}
      <Problem text={problem} />
      {notice && <p role="status" className="muted">{notice}</p>}
      <button type="submit" className="primary">
        Save character
      </button>
    </form>
  );
}
