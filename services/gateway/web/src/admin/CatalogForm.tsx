/** The form that creates or edits one catalog item (a provider, a model, a prompt template),
 * described by a list of fields. A 422's field errors are shown under their fields, in words;
 * an edit sends only the fields that changed. */
import { useState, type FormEvent } from "react";
import { ApiProblem, describe } from "../api/client";
import { Problem } from "../parts";

export type Field = {
  name: string;
  label: string;
  type?: "text" | "number" | "textarea" | "select" | "checkbox";
  options?: { value: string; label: string }[];
  /** Sent only when creating (the API does not change it afterwards). */
  createOnly?: boolean;
  /** An emptied field is sent as `null` on an edit (it clears the value). */
  nullable?: boolean;
};

export type Values = Record<string, string | boolean>;
export type Body = Record<string, string | number | boolean | null>;

/** The values as a request body: numbers as numbers, empty text left out (or `null`). */
function bodyOf(fields: Field[], values: Values, before: Values | null): Body {
  const body: Body = {};
  for (const field of fields) {
    if (before && field.createOnly) continue;
    let value = values[field.name];
    // a select shows its first option until one is picked (its options may load after the form)
    if (field.options && !field.options.some((o) => o.value === value)) value = field.options[0]?.value ?? "";
    if (before && value === before[field.name]) continue;
    if (typeof value === "boolean") body[field.name] = value;
    else if (value.trim() === "") {
      if (before && field.nullable) body[field.name] = null;
    } else body[field.name] = field.type === "number" ? Number(value) : value;
  }
  return body;
}

type Props = {
  title: string;
  fields: Field[];
  /** The item's current values when editing; `null` when creating. */
  before: Values | null;
  blank: Values;
  onSave: (body: Body) => Promise<void>;
  onCancel: () => void;
};

export function CatalogForm({ title, fields, before, blank, onSave, onCancel }: Props) {
  const [values, setValues] = useState<Values>(before ?? blank);
  const [problem, setProblem] = useState<string | null>(null);
  const [fieldProblems, setFieldProblems] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const id = `form-${title.toLowerCase().replace(/\W+/g, "-")}`;

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    setProblem(null);
    setFieldProblems({});
    try {
      await onSave(bodyOf(fields, values, before));
    } catch (error) {
      setProblem(describe(error));
      if (error instanceof ApiProblem) setFieldProblems(error.fields);
    } finally {
      setSaving(false);
    }
  }

  const set = (name: string, value: string | boolean) => setValues((v) => ({ ...v, [name]: value }));
  return (
    <form className="stack" onSubmit={save} aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      <Problem text={problem} />
      {fields
        .filter((f) => !(before && f.createOnly))
        .map((field) => {
          const value = values[field.name];
          const hint = fieldProblems[field.name];
          const hintId = `${id}-${field.name}-problem`;
          const common = { "aria-invalid": hint ? true : undefined, "aria-describedby": hint ? hintId : undefined };
          if (field.type === "checkbox")
            return (
              <label key={field.name} className="inline">
                <input type="checkbox" checked={value === true} onChange={(e) => set(field.name, e.target.checked)} {...common} />
                {field.label}
              </label>
            );
          return (
            <label key={field.name}>
              {field.label}
              {field.type === "textarea" ? (
                <textarea rows={5} value={String(value)} onChange={(e) => set(field.name, e.target.value)} {...common} />
              ) : field.type === "select" ? (
                <select value={String(value)} onChange={(e) => set(field.name, e.target.value)} {...common}>
                  {field.options?.map((o) => (
                    <option key={o.value} value={o.value}>
                      {o.label}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  type={field.type === "number" ? "number" : "text"}
                  step={field.type === "number" ? "any" : undefined}
                  value={String(value)}
                  onChange={(e) => set(field.name, e.target.value)}
                  {...common}
                />
              )}
              {hint && (
                <span id={hintId} className="problem">
                  {hint}
                </span>
              )}
            </label>
          );
        })}
      <div className="row">
        <button type="submit" className="primary" disabled={saving}>
          {saving ? "Saving…" : "Save"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** An item's values as the form's strings and switches. */
export function valuesOf(fields: Field[], item: Record<string, unknown>): Values {
  const values: Values = {};
  for (const field of fields) {
    const value = item[field.name];
    values[field.name] = field.type === "checkbox" ? value === true : value === null || value === undefined ? "" : String(value);
  }
  return values;
}
