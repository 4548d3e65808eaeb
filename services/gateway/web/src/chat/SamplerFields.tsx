/** The sampler settings and author's note as form fields, shared by a chat's quick settings
 * and a character's defaults (`SamplerSettings` in both). An empty field is `null`: unset. */
import type { Schemas } from "../api/client";

export type Settings = Schemas["SamplerSettings"];
export type SamplerValues = Record<"temperature" | "top_p" | "max_tokens" | "stop" | "author_note" | "author_note_depth", string>;

const text = (value: number | string | null | undefined) => (value === null || value === undefined ? "" : String(value));

export function samplerValuesOf(s: Settings = {}): SamplerValues {
  return {
    temperature: text(s.temperature),
    top_p: text(s.top_p),
    max_tokens: text(s.max_tokens),
    stop: (s.stop ?? []).join("\n"),
    author_note: s.author_note ?? "",
    author_note_depth: text(s.author_note_depth),
  };
}

/** Every field is sent: an empty one as `null`, so it falls back to the next default. */
export function settingsOf(f: SamplerValues): Settings {
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

type Props = {
  values: SamplerValues;
  onChange: (name: keyof SamplerValues, value: string) => void;
  /** Prefixes the ids of the labelled textareas, unique on the page. */
  idPrefix: string;
};

export function SamplerFields({ values, onChange, idPrefix }: Props) {
  const set = (name: keyof SamplerValues) => (e: { target: { value: string } }) => onChange(name, e.target.value);
  return (
    <>
      <div className="settings-grid">
        <label>
          Temperature
          <input type="number" min={0} max={2} step={0.05} value={values.temperature} onChange={set("temperature")} />
        </label>
        <label>
          Top P
          <input type="number" min={0.01} max={1} step={0.01} value={values.top_p} onChange={set("top_p")} />
        </label>
        <label>
          Max tokens
          <input type="number" min={1} max={32768} step={1} value={values.max_tokens} onChange={set("max_tokens")} />
        </label>
      </div>
      <div className="field">
        <label htmlFor={`${idPrefix}-stop-sequences`}>Stop sequences (one a line, at most 4)</label>
        <textarea id={`${idPrefix}-stop-sequences`} rows={2} value={values.stop} onChange={set("stop")} />
      </div>
      {/* Labelled by id: a label wrapping a textarea would add its text to the field's name. */}
      <div className="field">
        <label htmlFor={`${idPrefix}-author-note`}>Author's note</label>
        <textarea id={`${idPrefix}-author-note`} rows={3} maxLength={4000} value={values.author_note} onChange={set("author_note")} />
      </div>
      <label>
        Author's note depth (messages from the end; 0 is after the newest)
        <input type="number" min={0} max={100} step={1} value={values.author_note_depth} onChange={set("author_note_depth")} />
      </label>
    </>
  );
}
