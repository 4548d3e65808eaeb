/** The dashboard: the continue list (and a SillyTavern chat's import), the characters (portraits, tags, search) and the persona
 * picker. Choosing a character starts a conversation with it. */
import { useState } from "react";
import { api, describe, must, type Character } from "../api/client";
import { CharacterImport } from "./CharacterImport";
import { ChatImport } from "./ChatImport";
import { go, href } from "../route";
import { useSession } from "../session";
import { useLoad } from "../useLoad";
import { Problem } from "../parts";
import { Portrait } from "./Portrait";
import { ScenarioWizard } from "./ScenarioWizard";

export function Dashboard() {
  const { profile } = useSession();
  const [query, setQuery] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [setting, setSetting] = useState<Character | null>(null);
  const characters = useLoad(async () => must(await api.GET("/v1/characters", { params: { query: { role: "ai", limit: 100 } } })).items, []);
  const conversations = useLoad(async () => must(await api.GET("/v1/conversations", { params: { query: { limit: 20 } } })).items, []);

  async function start(character: Character) {
    setProblem(null);
    try {
      const conversation = must(await api.POST("/v1/conversations", { body: { character_id: character.id } }));
      go({ page: "chat", conversationId: conversation.id });
    } catch (error) {
      setProblem(describe(error));
    }
  }

  const needle = query.trim().toLowerCase();
  const shown = (characters.data ?? []).filter(
    (c) => !needle || c.name.toLowerCase().includes(needle) || c.tags.some((t) => t.toLowerCase().includes(needle)) || c.description.toLowerCase().includes(needle),
  );
  return (
    <div className="stack">
      <header className="page-header">
        <h1>Hello, {profile.username}</h1>
        <PersonaPicker />
      </header>
      <Problem text={problem} />
      <section aria-labelledby="continue-heading">
        <h2 id="continue-heading">Continue</h2>
        <Problem text={conversations.problem} />
        {conversations.loading && !conversations.data && <p className="muted">Loading…</p>}
        {conversations.data?.length === 0 && <p className="muted">No conversations yet: pick a character below.</p>}
        <ul className="continue-list">
          {conversations.data?.map((c) => (
            <li key={c.id}>
              <a className="continue-item" href={`#/chat/${c.id}`}>
                {c.last_scene_image_url ? (
                  <img src={c.last_scene_image_url} alt={`Last scene with ${c.character.name}`} className="thumb" />
                ) : (
                  <Portrait name={c.character.name} url={c.character.image_url} />
                )}
                <span className="continue-text">
                  <strong>{c.character.name}</strong>
                  <span className="muted preview">{c.last_message_preview}</span>
                </span>
              </a>
            </li>
          ))}
        </ul>
        {characters.data && characters.data.length > 0 && <ChatImport characters={characters.data} />}
      </section>
      <section aria-labelledby="characters-heading">
        <div className="row between">
          <h2 id="characters-heading">Characters</h2>
          <div className="row">
            <a className="button" href={href({ page: "character", characterId: null })}>
              New character
            </a>
          </div>
        </div>
        <CharacterImport onImported={(c) => void start(c)} />
        <label className="search">
          Search characters
          <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Name or tag" />
        </label>
        <Problem text={characters.problem} />
        {characters.loading && !characters.data && <p className="muted">Loading…</p>}
        <ul className="character-grid">
          {shown.map((c) => (
            <li key={c.id}>
              <button type="button" className="character-card" onClick={() => void start(c)} aria-label={`Chat with ${c.name}`}>
                <Portrait name={c.name} url={c.image_url} large />
                <strong>{c.name}</strong>
                <span className="muted clamp">{c.description}</span>
                <span className="tags">
                  {c.tags.slice(0, 4).map((t) => (
                    <span className="tag" key={t}>
                      {t}
                    </span>
                  ))}
                </span>
              </button>
              <button type="button" className="link" onClick={() => setSetting(c)} aria-label={`Set the scene with ${c.name}`}>
                Set the scene
              </button>
              {c.owner_id === profile.id && (
                <a href={href({ page: "character", characterId: c.id })} aria-label={`Edit ${c.name}`}>
                  Edit
                </a>
              )}
            </li>
          ))}
        </ul>
      </section>
      {setting && <ScenarioWizard character={setting} onClose={() => setSetting(null)} />}
    </div>
  );
}

function PersonaPicker() {
  const { profile } = useSession();
  const [chosen, setChosen] = useState(profile.default_persona_id ?? "");
  const [problem, setProblem] = useState<string | null>(null);
  const personas = useLoad(async () => must(await api.GET("/v1/characters", { params: { query: { role: "user", scope: "mine", limit: 100 } } })).items, []);

  async function choose(id: string) {
    setChosen(id);
    try {
      must(await api.PATCH("/v1/me", { body: { default_persona_id: id || null } }));
      setProblem(null);
    } catch (error) {
      setProblem(describe(error));
    }
  }
  return (
    <div>
      <label className="inline">
        Persona
        <select value={chosen} onChange={(e) => void choose(e.target.value)}>
          <option value="">Yourself</option>
          {personas.data?.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <Problem text={problem ?? personas.problem} />
    </div>
  );
}
