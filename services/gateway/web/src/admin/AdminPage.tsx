/** Admin: usage (hourly requests, tokens and cost, cost per model, latency percentiles), worker health, and the
 * catalog (providers, models, prompt templates). Each section is its own component. */
import { api, must } from "../api/client";
import { Problem } from "../parts";
import { useLoad } from "../useLoad";
import { ModelsPanel, PromptTemplatesPanel, ProvidersPanel } from "./CatalogPanels";

export function AdminPage() {
  return (
    <div className="stack">
      <h1>Admin</h1>
      <UsagePanel />
      <WorkersPanel />
      <ProvidersPanel />
      <ModelsPanel />
      <PromptTemplatesPanel />
    </div>
  );
}

function UsagePanel() {
  const byModel = useLoad(async () => must(await api.GET("/v1/admin/usage", { params: { query: { group_by: "model" } } })), []);
  const byHour = useLoad(async () => must(await api.GET("/v1/admin/usage", { params: { query: { group_by: "hour" } } })), []);
  const most = Math.max(1, ...(byHour.data?.items ?? []).map((l) => l.requests));
  return (
    <section aria-labelledby="usage-heading" className="card stack">
      <div className="row between">
        <h2 id="usage-heading">Usage</h2>
        <button type="button" onClick={() => void Promise.all([byModel.reload(), byHour.reload()])} aria-label="Refresh usage">
          Refresh
        </button>
      </div>
      <Problem text={byModel.problem ?? byHour.problem} />
      <table>
        <caption>Per model</caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Requests</th>
            <th scope="col">Tokens in/out</th>
            <th scope="col">Cost</th>
            <th scope="col">p50 / p95 ms</th>
          </tr>
        </thead>
        <tbody>
          {byModel.data?.items.map((l) => (
            <tr key={`${l.provider}/${l.model}`}>
              <td>{l.model ?? l.provider}</td>
              <td>{l.requests}</td>
              <td>
                {l.tokens_in}/{l.tokens_out}
              </td>
              <td>{l.cost}</td>
              <td>
                {l.latency_p50_ms ?? "–"} / {l.latency_p95_ms ?? "–"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Per hour</h3>
      <ul className="bars" aria-label="Usage per hour">
        {byHour.data?.items.map((l, i) => (
          <li key={`${l.bucket_start}-${i}`}>
            <span className="muted">{l.bucket_start?.slice(11, 16)}</span>
            <meter min={0} max={most} value={l.requests} aria-label={`${l.requests} requests`} />
            <span className="bar-detail">
              {l.requests} requests · {l.tokens_in} in / {l.tokens_out} out tokens · cost {l.cost}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function WorkersPanel() {
  const workers = useLoad(async () => must(await api.GET("/v1/admin/workers")).items, []);
  return (
    <section aria-labelledby="workers-heading" className="card stack">
      <h2 id="workers-heading">Workers</h2>
      <Problem text={workers.problem} />
      <ul>
        {workers.data?.map((w) => (
          <li key={w.name}>
            <strong>{w.name}</strong>: {w.is_healthy ? "healthy" : `unhealthy${w.health_error ? ` (${w.health_error})` : ""}`}
          </li>
        ))}
      </ul>
    </section>
  );
}
