/** The character info drawer: portrait, description, scenario, tags, and card export. */
import { api, must } from "../api/client";
import { Portrait } from "../pages/Portrait";
import { Problem } from "../parts";
import { useLoad } from "../useLoad";
import { Dialog } from "../Dialog";

export function CharacterDrawer({ characterId, onClose }: { characterId: string; onClose: () => void }) {
  const character = useLoad(async () => must(await api.GET("/v1/characters/{character_id}", { params: { path: { character_id: characterId } } })), [characterId]);
  const c = character.data;
  return (
    <Dialog labelledBy="drawer-title" onClose={onClose}>
      <aside className="sheet drawer stack">
        <h2 id="drawer-title">{c?.name ?? "Character"}</h2>
        <Problem text={character.problem} />
        {c && (
          <>
            <Portrait name={c.name} url={c.image_url} large />
            <p>{c.description}</p>
            {c.scenario && (
              <>
                <h3>Scenario</h3>
                <p>{c.scenario}</p>
              </>
            )}
            <p className="tags">
              {c.tags.map((t) => (
                <span className="tag" key={t}>
                  {t}
                </span>
              ))}
            </p>
          </>
        )}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </aside>
    </Dialog>
  );
}
