/** One lorebook entry's fields: keys, content, enabled, constant, position, insertion order. */
import type { LorebookEntry } from "../api/client";

type Props = { entry: LorebookEntry; number: number; onChange: (entry: LorebookEntry) => void; onRemove: () => void };

const POSITIONS: { value: LorebookEntry["position"]; label: string }[] = [
  { value: "before_char", label: "Before the character" },
  { value: "after_char", label: "After the character" },
  { value: "at_depth", label: "At a depth in the chat" },
];

export function newEntry(): LorebookEntry {
  return {
    id: "",
    name: "",
    keys: [],
    secondary_keys: [],
    selective_logic: "and_any",
    content: "",
    enabled: true,
    constant: false,
    position: "before_char",
    insertion_order: 100,
    case_sensitive: false,
    match_whole_words: false,
    use_regex: false,
    comment: "",
  };
}

export function EntryFields({ entry, number, onChange, onRemove }: Props) {
  const set = (change: Partial<LorebookEntry>) => onChange({ ...entry, ...change });
  const label = `entry ${number}`;
  return (
    <fieldset className="stack entry" aria-label={`Entry ${number}`}>
      <legend>
        Entry {number}
        {entry.name ? `: ${entry.name}` : ""}
      </legend>
      <label>
        Keys of {label} (comma separated)
        <input
          defaultValue={(entry.keys ?? []).join(", ")}
          onChange={(e) =>
            set({
              keys: e.target.value
                .split(",")
                .map((k) => k.trim())
                .filter(Boolean),
            })
          }
        />
      </label>
      <label>
        Content of {label}
        <textarea rows={3} value={entry.content} onChange={(e) => set({ content: e.target.value })} />
      </label>
      <div className="row">
        <label className="inline">
          <input type="checkbox" checked={entry.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
          Enabled ({label})
        </label>
        <label className="inline">
          <input type="checkbox" checked={entry.constant} onChange={(e) => set({ constant: e.target.checked })} />
          Always on ({label})
        </label>
      </div>
      <div className="row">
        <label>
          Position of {label}
          <select value={entry.position} onChange={(e) => set({ position: e.target.value as LorebookEntry["position"] })}>
            {POSITIONS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        {entry.position === "at_depth" && (
          <label>
            Depth of {label}
            <input type="number" min={0} value={entry.depth ?? 4} onChange={(e) => set({ depth: Number(e.target.value) })} />
          </label>
        )}
        <label>
          Insertion order of {label}
          <input type="number" value={entry.insertion_order} onChange={(e) => set({ insertion_order: Number(e.target.value) })} />
        </label>
      </div>
      <button type="button" className="quiet" onClick={onRemove}>
        Remove {label}
      </button>
    </fieldset>
  );
}
