/** Admin panels for the catalog: providers, models and prompt templates. Each is listed with
 * an "Active" switch (a PATCH of `is_active`), Edit (a PATCH of what changed) and Delete
 * (after confirming); "New …" creates one (a POST). One panel shape for all three. */
import { useState } from "react";
import { api, describe, must, type Schemas } from "../api/client";
import { Confirm } from "../Confirm";
import { Problem } from "../parts";
import { useLoad } from "../useLoad";
import { CatalogForm, valuesOf, type Body, type Field, type Values } from "./CatalogForm";

type Row = { id: string; title: string; detail: string; active: boolean; values: Values };

type PanelProps = {
  title: string;
  /** "provider", "model", "prompt template": names the New button and the form. */
  singular: string;
  rows: Row[] | null;
  problem: string | null;
  fields: Field[];
  blank: Values;
  onActive: (id: string, active: boolean) => Promise<void>;
  onCreate: (body: Body) => Promise<void>;
  onUpdate: (id: string, body: Body) => Promise<void>;
  onDelete: (id: string) => Promise<void>;
};

type Editing = { kind: "new" } | { kind: "edit"; row: Row } | null;

function CatalogPanel(props: PanelProps) {
  const { title, singular, rows, problem, fields, blank } = props;
  const [failure, setFailure] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<Row | null>(null);
  const heading = `${title.toLowerCase().replace(/\s+/g, "-")}-heading`;
  const attempt = (work: Promise<void>) => {
    setFailure(null);
    work.catch((error) => setFailure(describe(error)));
  };
  return (
    <section aria-labelledby={heading} className="card stack">
      <div className="row between">
        <h2 id={heading}>{title}</h2>
        <button type="button" onClick={() => setEditing({ kind: "new" })} disabled={editing?.kind === "new"}>
          New {singular}
        </button>
      </div>
      <Problem text={failure ?? problem} />
      {editing && (
        <CatalogForm
          key={editing.kind === "edit" ? editing.row.id : "new"}
          title={editing.kind === "edit" ? `Edit ${editing.row.title}` : `New ${singular}`}
          fields={fields}
          before={editing.kind === "edit" ? editing.row.values : null}
          blank={blank}
          onCancel={() => setEditing(null)}
          onSave={async (body) => {
            if (editing.kind === "edit") await props.onUpdate(editing.row.id, body);
            else await props.onCreate(body);
            setEditing(null);
          }}
        />
      )}
      {!rows && !problem && <p className="muted">Loading…</p>}
      <ul className="stack" aria-label={title}>
        {rows?.map((row) => (
          <li key={row.id} className="row between">
            <span>
              <strong>{row.title}</strong> <span className="muted">{row.detail}</span>
            </span>
            <span className="row">
              <label className="inline">
                <input
                  type="checkbox"
                  checked={row.active}
                  aria-label={`${row.title} active`}
                  onChange={(e) => attempt(props.onActive(row.id, e.target.checked))}
                />
                Active
              </label>
              <button type="button" className="quiet" aria-label={`Edit ${row.title}`} onClick={() => setEditing({ kind: "edit", row })}>
                Edit
              </button>
              <button type="button" className="quiet" aria-label={`Delete ${row.title}`} onClick={() => setDeleting(row)}>
                Delete
              </button>
            </span>
          </li>
        ))}
      </ul>
      {deleting && (
        <Confirm
          title={`Delete ${deleting.title}?`}
          action="Delete"
          onClose={() => setDeleting(null)}
          onConfirm={() => attempt(props.onDelete(deleting.id))}
        />
      )}
    </section>
  );
}

const PROVIDER_FIELDS: Field[] = [
  { name: "name", label: "Name (lowercase, unique)", createOnly: true },
  { name: "display_name", label: "Display name" },
  {
    name: "kind",
    label: "Kind",
    type: "select",
    createOnly: true,
    options: ["openai_compatible", "local_worker", "fal", "replicate", "openai_images"].map((k) => ({ value: k, label: k })),
  },
  { name: "base_url", label: "Base URL" },
  { name: "api_key_env", label: "API key environment variable", nullable: true },
  { name: "health_url", label: "Health URL", nullable: true },
  { name: "is_active", label: "Active", type: "checkbox" },
];

export function ProvidersPanel() {
  const providers = useLoad(async () => must(await api.GET("/v1/admin/providers")).items, []);
  const rows = providers.data?.map((p) => ({
    id: p.id,
    title: p.display_name,
    detail: `${p.kind} · key ${p.api_key_configured ? "configured" : `missing (${p.api_key_env})`}`,
    active: p.is_active,
    values: valuesOf(PROVIDER_FIELDS, p),
  }));
  const path = (id: string) => ({ params: { path: { provider_id: id } } });
  return (
    <CatalogPanel
      title="Providers"
      singular="provider"
      rows={rows ?? null}
      problem={providers.problem}
      fields={PROVIDER_FIELDS}
      blank={{ name: "", display_name: "", kind: "openai_compatible", base_url: "", api_key_env: "", health_url: "", is_active: true }}
      onActive={async (id, active) => {
        must(await api.PATCH("/v1/admin/providers/{provider_id}", { ...path(id), body: { is_active: active } }));
        await providers.reload();
      }}
      onCreate={async (body) => {
        must(await api.POST("/v1/admin/providers", { body: body as unknown as Schemas["ProviderCreate"] }));
        await providers.reload();
      }}
      onUpdate={async (id, body) => {
        must(await api.PATCH("/v1/admin/providers/{provider_id}", { ...path(id), body: body as unknown as Schemas["ProviderUpdate"] }));
        await providers.reload();
      }}
      onDelete={async (id) => {
        const answer = await api.DELETE("/v1/admin/providers/{provider_id}", path(id));
        if (answer.error !== undefined) must(answer);
        await providers.reload();
      }}
    />
  );
}

function modelFields(providers: Schemas["ProviderPublic"][]): Field[] {
  return [
    { name: "key", label: "Key (unique, e.g. provider/model)", createOnly: true },
    { name: "display_name", label: "Display name" },
    {
      name: "provider_id",
      label: "Provider",
      type: "select",
      createOnly: true,
      options: providers.map((p) => ({ value: p.id, label: p.display_name || p.name })),
    },
    { name: "model_name", label: "Model name at the provider" },
    { name: "modality", label: "Modality", type: "select", createOnly: true, options: ["chat", "image"].map((m) => ({ value: m, label: m })) },
    { name: "task", label: "Task (roleplay, t2i, i2i, …)" },
    { name: "context_window", label: "Context window (tokens)", type: "number" },
    { name: "max_output_tokens", label: "Max output tokens", type: "number" },
    { name: "input_cost_per_mtok", label: "Input cost per million tokens" },
    { name: "output_cost_per_mtok", label: "Output cost per million tokens" },
    { name: "cost_per_image", label: "Cost per image" },
    { name: "priority", label: "Priority", type: "number" },
    { name: "timeout_seconds", label: "Timeout (seconds)", type: "number" },
    { name: "max_concurrent_streams", label: "Max concurrent streams", type: "number" },
    { name: "is_default", label: "Default", type: "checkbox" },
    { name: "is_active", label: "Active", type: "checkbox" },
  ];
}

export function ModelsPanel() {
  const models = useLoad(async () => must(await api.GET("/v1/admin/models")).items, []);
  const providers = useLoad(async () => must(await api.GET("/v1/admin/providers")).items, []);
  const fields = modelFields(providers.data ?? []);
  const rows = models.data?.map((m) => ({
    id: m.id,
    title: m.display_name,
    detail: `${m.provider ?? "?"} · ${m.modality}${m.is_default ? " · default" : ""}`,
    active: m.is_active,
    values: valuesOf(fields, m),
  }));
  const path = (id: string) => ({ params: { path: { model_id: id } } });
  const blank: Values = {
    ...Object.fromEntries(fields.map((f) => [f.name, f.type === "checkbox" ? false : ""])),
    provider_id: providers.data?.[0]?.id ?? "",
    modality: "chat",
    task: "roleplay",
    is_active: true,
  };
  return (
    <CatalogPanel
      title="Models"
      singular="model"
      rows={rows ?? null}
      problem={models.problem ?? providers.problem}
      fields={fields}
      blank={blank}
      onActive={async (id, active) => {
        must(await api.PATCH("/v1/admin/models/{model_id}", { ...path(id), body: { is_active: active } }));
        await models.reload();
      }}
      onCreate={async (body) => {
        must(await api.POST("/v1/admin/models", { body: body as unknown as Schemas["ModelCreate"] }));
        await models.reload();
      }}
      onUpdate={async (id, body) => {
        must(await api.PATCH("/v1/admin/models/{model_id}", { ...path(id), body: body as unknown as Schemas["ModelUpdate"] }));
        await models.reload();
      }}
      onDelete={async (id) => {
        const answer = await api.DELETE("/v1/admin/models/{model_id}", path(id));
        if (answer.error !== undefined) must(answer);
        await models.reload();
      }}
    />
  );
}

const TEMPLATE_FIELDS: Field[] = [
  { name: "name", label: "Name" },
  { name: "use_case", label: "Use case", createOnly: true },
  { name: "content_mode", label: "Content mode", type: "select", options: ["sfw", "nsfw"].map((m) => ({ value: m, label: m })) },
  { name: "target_model", label: "Target model (empty: any)", nullable: true },
  { name: "system_prompt", label: "System prompt", type: "textarea" },
  { name: "version", label: "Version", type: "number" },
  { name: "is_active", label: "Active", type: "checkbox" },
];

export function PromptTemplatesPanel() {
  const templates = useLoad(async () => must(await api.GET("/v1/admin/prompt-templates")).items, []);
  const rows = templates.data?.map((t) => ({
    id: t.id,
    title: t.name,
    detail: `${t.use_case} · v${t.version}`,
    active: t.is_active,
    values: valuesOf(TEMPLATE_FIELDS, t),
  }));
  const path = (id: string) => ({ params: { path: { template_id: id } } });
  return (
    <CatalogPanel
      title="Prompt templates"
      singular="prompt template"
      rows={rows ?? null}
      problem={templates.problem}
      fields={TEMPLATE_FIELDS}
      blank={{ name: "", use_case: "character_roleplay", content_mode: "sfw", target_model: "", system_prompt: "", version: "", is_active: true }}
      onActive={async (id, active) => {
        must(await api.PATCH("/v1/admin/prompt-templates/{template_id}", { ...path(id), body: { is_active: active } }));
        await templates.reload();
      }}
      onCreate={async (body) => {
        must(await api.POST("/v1/admin/prompt-templates", { body: body as unknown as Schemas["PromptTemplateCreate"] }));
        await templates.reload();
      }}
      onUpdate={async (id, body) => {
        must(await api.PATCH("/v1/admin/prompt-templates/{template_id}", { ...path(id), body: body as unknown as Schemas["PromptTemplateUpdate"] }));
        await templates.reload();
      }}
      onDelete={async (id) => {
        const answer = await api.DELETE("/v1/admin/prompt-templates/{template_id}", path(id));
        if (answer.error !== undefined) must(answer);
        await templates.reload();
      }}
    />
  );
}
