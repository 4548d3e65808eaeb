/** The lorebooks a conversation uses: the character's own, the persona's, and the ones attached
 * to this chat; the caller's own books can be attached and detached here. */
import { useState } from "react";
import { api, describe, must, type Character, type Conversation, type Lorebook } from "../api/client";
import { Problem } from "../parts";
import { href } from "../route";
import { useLoad } from "../useLoad";
import { Dialog } from "../Dialog";

type Props = { conversation: Conversation; onChanged: (c: Conversation) => void; onClose: () => void };

async function character(id: string): Promise<Character> {
  return must(await api.GET("/v1/characters/{character_id}", { params: { path: { character_id: id } } }));
}

const booksOf = (c: Character | null) => (c ? [...(c.lorebook_id ? [c.lorebook_id] : []), ...c.lorebook_ids] : []);

export function LorebookPanel({ conversation, onChanged, onClose }: Props) {
  const mine = useLoad(async () => must(await api.GET("/v1/lorebooks", { params: { query: { scope: "mine", limit: 100 } } })).items, []);
  const owners = useLoad(
    async () => ({
      character: await character(conversation.character_id),
      persona: conversation.persona_id ? await character(conversation.persona_id) : null,
    }),
    [conversation.character_id, conversation.persona_id],
  );
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const byId = new Map<string, Lorebook>((mine.data ?? []).map((b) => [b.id, b]));
  const nameOf = (id: string, fallback: string) => byId.get(id)?.name ?? fallback;

  async function toggle(id: string, attach: boolean) {
    setBusy(true);
    setProblem(null);
    const ids = attach ? [...conversation.lorebook_ids, id] : conversation.lorebook_ids.filter((b) => b !== id);
    try {
      onChanged(must(await api.PATCH("/v1/conversations/{conversation_id}", { params: { path: { conversation_id: conversation.id } }, body: { lorebook_ids: ids } })));
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setBusy(false);
    }
  }

  const characterName = owners.data?.character.name ?? conversation.character.name;
  const inUse = [
    ...booksOf(owners.data?.character ?? null).map((id) => ({ id, from: `${characterName}'s own`, name: nameOf(id, `${characterName}'s book`) })),
    ...booksOf(owners.data?.persona ?? null).map((id) => ({ id, from: "your persona's", name: nameOf(id, "The persona's book") })),
    ...conversation.lorebook_ids.map((id) => ({ id, from: "attached to this chat", name: nameOf(id, "An attached book") })),
  ];
  return (
    <Dialog labelledBy="lore-title" onClose={onClose}>
      <div className="sheet stack">
        <h2 id="lore-title">Lorebooks</h2>
        <section aria-labelledby="lore-in-use">
          <h3 id="lore-in-use">In use in this chat</h3>
          {owners.loading && !owners.data && <p className="muted">Loading…</p>}
          {owners.data && inUse.length === 0 && <p className="muted">No lorebook: nothing is added to the prompt from world info.</p>}
          <ul aria-label="Lorebooks in use">
            {inUse.map((b, i) => (
              <li key={`${b.id}:${i}`}>
                <strong>{b.name}</strong> <span className="muted">({b.from})</span>
              </li>
            ))}
          </ul>
        </section>
        <fieldset className="choice-list stack" disabled={busy}>
          <legend>Attach your lorebooks</legend>
          {mine.data?.length === 0 && (
            <p className="muted">
              You have no lorebooks yet: <a href={href({ page: "lorebooks", lorebookId: null })}>write or import one</a>.
            </p>
          )}
          {mine.data?.map((b) => (
            <label key={b.id}>
              <input type="checkbox" checked={conversation.lorebook_ids.includes(b.id)} onChange={(e) => void toggle(b.id, e.target.checked)} />
              {b.name}
            </label>
          ))}
        </fieldset>
        <Problem text={problem ?? mine.problem ?? owners.problem} />
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
