/** The library: kept images in a grid, filtered by conversation, with delete. */
import { useState } from "react";
import { api, describe, must, type Asset } from "../api/client";
import { Confirm } from "../Confirm";
import { Problem } from "../parts";
import { useLoad } from "../useLoad";

export function LibraryPage({ conversationId }: { conversationId: string | null }) {
  const [filter, setFilter] = useState(conversationId ?? "");
  const [problem, setProblem] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Asset | null>(null);
  const conversations = useLoad(async () => must(await api.GET("/v1/conversations", { params: { query: { limit: 100 } } })).items, []);
  const assets = useLoad(
    async () => must(await api.GET("/v1/library", { params: { query: filter ? { conversation_id: filter } : {} } })).items,
    [filter],
  );

  async function remove(id: string) {
    try {
      const answer = await api.DELETE("/v1/library/{asset_id}", { params: { path: { asset_id: id } } });
      if (answer.error !== undefined) must(answer);
      await assets.reload();
    } catch (error) {
      setProblem(describe(error));
    }
  }
  return (
    <div className="stack">
      <h1>Library</h1>
      <label>
        Conversation
        <select value={filter} onChange={(e) => setFilter(e.target.value)}>
          <option value="">All conversations</option>
          {conversations.data?.map((c) => (
            <option key={c.id} value={c.id}>
              {c.character.name}: {c.title || c.last_message_preview.slice(0, 40)}
            </option>
          ))}
        </select>
      </label>
      <Problem text={problem ?? assets.problem} />
      {assets.loading && !assets.data && <p className="muted">Loading…</p>}
      {assets.data?.length === 0 && <p className="muted">Nothing kept yet: keep a scene from a chat.</p>}
      <ul className="library-grid" aria-label="Kept images">
        {assets.data?.map((a) => (
          <li key={a.id}>
            <img src={a.thumbnail_url ?? a.image_url} alt="Kept scene" />
            <button type="button" className="quiet" onClick={() => setDeleting(a)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      {deleting && <Confirm title="Delete this image?" action="Delete" onConfirm={() => void remove(deleting.id)} onClose={() => setDeleting(null)} />}
    </div>
  );
}
