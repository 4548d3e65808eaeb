/** Admin panels for the catalog: providers, models and prompt templates, each listed with an
 * "Active" switch (a PATCH of `is_active`); a panel per resource, one shape for all three. */
import { useState } from "react";
import { api, describe, must } from "../api/client";
import { Problem } from "../parts";
import { useLoad } from "../useLoad";

type Row = { id: string; title: string; detail: string; active: boolean };

function CatalogPanel({ title, rows, problem, onActive }: { title: string; rows: Row[] | null; problem: string | null; onActive: (id: string, active: boolean) => Promise<void> }) {
  const [failure, setFailure] = useState<string | null>(null);
  const heading = `${title.toLowerCase().replace(/\s+/g, "-")}-heading`;
  return (
    <section aria-labelledby={heading} className="card stack">
      <h2 id={heading}>{title}</h2>
      <Problem text={failure ?? problem} />
      {!rows && !problem && <p className="muted">Loading…</p>}
      <ul className="stack">
        {rows?.map((row) => (
          <li key={row.id} className="row between">
            <span>
              <strong>{row.title}</strong> <span className="muted">{row.detail}</span>
            </span>
            <label className="inline">
              <input
                type="checkbox"
                checked={row.active}
                aria-label={`${row.title} active`}
                onChange={(e) => {
                  setFailure(null);
                  onActive(row.id, e.target.checked).catch((error) => setFailure(describe(error)));
                }}
              />
              Active
            </label>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ProvidersPanel() {
  const providers = useLoad(async () => must(await api.GET("/v1/admin/providers")).items, []);
  const rows = providers.data?.map((p) => ({
    id: p.id,
    title: p.display_name,
    detail: `${p.kind} · key ${p.api_key_configured ? "configured" : `missing (${p.api_key_env})`}`,
    active: p.is_active,
  }));
  return (
    <CatalogPanel
      title="Providers"
      rows={rows ?? null}
      problem={providers.problem}
      onActive={async (id, active) => {
        must(await api.PATCH("/v1/admin/providers/{provider_id}", { params: { path: { provider_id: id } }, body: { is_active: active } }));
        await providers.reload();
      }}
    />
  );
}

export function ModelsPanel() {
  const models = useLoad(async () => must(await api.GET("/v1/admin/models")).items, []);
  const rows = models.data?.map((m) => ({
    id: m.id,
    title: m.display_name,
    detail: `${m.provider ?? "?"} · ${m.modality}${m.is_default ? " · default" : ""}`,
    active: m.is_active,
  }));
  return (
    <CatalogPanel
      title="Models"
      rows={rows ?? null}
      problem={models.problem}
      onActive={async (id, active) => {
        must(await api.PATCH("/v1/admin/models/{model_id}", { params: { path: { model_id: id } }, body: { is_active: active } }));
        await models.reload();
      }}
    />
  );
}

export function PromptTemplatesPanel() {
  const templates = useLoad(async () => must(await api.GET("/v1/admin/prompt-templates")).items, []);
  const rows = templates.data?.map((t) => ({
    id: t.id,
    title: t.name,
    detail: `${t.use_case} · v${t.version}`,
    active: t.is_active,
  }));
  return (
    <CatalogPanel
      title="Prompt templates"
      rows={rows ?? null}
      problem={templates.problem}
      onActive={async (id, active) => {
        must(await api.PATCH("/v1/admin/prompt-templates/{template_id}", { params: { path: { template_id: id } }, body: { is_active: active } }));
        await templates.reload();
      }}
    />
  );
}
