/** What the conversation remembers: the story so far, and the memory items of its three tiers
 * (this chat, the character about you, you across all characters). Items can be edited,
 * pinned (always in the prompt), forgotten, and added by hand. */
import { useState, type FormEvent } from "react";
import { api, describe, must, type Schemas } from "../api/client";
import { Problem } from "../parts";
import { useLoad } from "../useLoad";
import { Dialog } from "../Dialog";

type Item = Schemas["MemoryItemPublic"];
type Tier = Item["tier"];

const TIERS: { tier: Tier; title: string; hint: string }[] = [
  { tier: "conversation", title: "This chat", hint: "facts of this conversation" },
  { tier: "character", title: "The character about you", hint: "kept across your chats with this character" },
  { tier: "profile", title: "About you", hint: "kept across all characters" },
];

type Props = {
  conversationId: string;
  characterName: string;
  /** Changes when the conversation event stream says the memory changed: read it again. */
  version: number;
  onClose: () => void;
};

export function MemoryPanel({ conversationId, characterName, version, onClose }: Props) {
  const memory = useLoad(async () => must(await api.GET("/v1/conversations/{conversation_id}/memory", { params: { path: { conversation_id: conversationId } } })), [conversationId, version]);
  const [problem, setProblem] = useState<string | null>(null);
  const [tier, setTier] = useState<Tier>("conversation");
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);

  async function work(change: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setProblem(null);
    try {
      await change();
      await memory.reload();
      return true;
    } catch (error) {
      setProblem(describe(error));
      return false;
    } finally {
      setBusy(false);
    }
  }

  const edit = (item: Item, body: Schemas["MemoryEdit"]) =>
    work(async () => must(await api.PATCH("/v1/memory/{item_id}", { params: { path: { item_id: item.id } }, body })));
  const forget = (item: Item) =>
    work(async () => {
      const answer = await api.DELETE("/v1/memory/{item_id}", { params: { path: { item_id: item.id } } });
      if (answer.error !== undefined) must(answer);
    });

  async function add(event: FormEvent) {
    event.preventDefault();
    const body: Schemas["MemoryCreate"] = { tier, text: text.trim(), pinned: false, conversation_id: tier === "profile" ? null : conversationId };
    if (await work(async () => must(await api.POST("/v1/memory", { body })))) setText("");
  }

  const m = memory.data;
  return (
    <Dialog labelledBy="memory-title" onClose={onClose}>
      <div className="sheet stack">
        <h2 id="memory-title">Memory</h2>
        {memory.loading && !m && <p className="muted">Loading what is remembered…</p>}
        {m && (
          <section aria-labelledby="memory-summary">
            <h3 id="memory-summary">The story so far</h3>
            <p className={m.summary ? "" : "muted"}>{m.summary || "No summary yet: the whole chat still fits in the prompt."}</p>
          </section>
        )}
        {m &&
          TIERS.map(({ tier: t, title, hint }) => {
            const items = m.items.filter((i) => i.tier === t);
            return (
              <section key={t} aria-labelledby={`memory-${t}`}>
                <h3 id={`memory-${t}`}>
                  {t === "character" ? `${characterName} about you` : title} <span className="muted hint">({hint})</span>
                </h3>
                {items.length === 0 && <p className="muted">Nothing yet.</p>}
                <ul className="stack" aria-label={t === "character" ? `${characterName} about you` : title}>
                  {items.map((i) => (
                    <MemoryItem key={`${i.id}:${i.updated_at}`} item={i} busy={busy} onEdit={(body) => edit(i, body)} onForget={() => void forget(i)} />
                  ))}
                </ul>
              </section>
            );
          })}
        <form className="stack card" onSubmit={add} aria-labelledby="memory-add">
          <h3 id="memory-add">Add a memory</h3>
          <label>
            Remember for
            <select value={tier} onChange={(e) => setTier(e.target.value as Tier)}>
              <option value="conversation">This chat</option>
              <option value="character">{characterName}, in every chat</option>
              <option value="profile">Every character</option>
            </select>
          </label>
          <label>
            What to remember
            <input value={text} maxLength={300} onChange={(e) => setText(e.target.value)} />
          </label>
          <button type="submit" className="primary" disabled={busy || !text.trim()}>
            Remember
          </button>
        </form>
        <Problem text={problem ?? memory.problem} />
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}

type ItemProps = { item: Item; busy: boolean; onEdit: (body: Schemas["MemoryEdit"]) => Promise<boolean>; onForget: () => void };

function MemoryItem({ item, busy, onEdit, onForget }: ItemProps) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(item.text);

  async function save(event: FormEvent) {
    event.preventDefault();
    if (await onEdit({ text: draft.trim() })) setEditing(false);
  }
  return (
    <li className="memory-item" aria-label={item.text}>
      {editing ? (
        <form className="row" onSubmit={save}>
          <label className="grow">
            Edit memory
            <input value={draft} maxLength={300} onChange={(e) => setDraft(e.target.value)} />
          </label>
          <button type="submit" className="primary" disabled={busy || !draft.trim()}>
            Save
          </button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <p>
          {item.pinned && <span className="tag">Pinned</span>} {item.text}
          {item.origin === "extracted" && <span className="muted"> (learned from the chat)</span>}
        </p>
      )}
      {!editing && (
        <div className="row bubble-tools">
          <button type="button" className="quiet" disabled={busy} onClick={() => void onEdit({ pinned: !item.pinned })}>
            {item.pinned ? "Unpin" : "Pin"}
          </button>
          <button type="button" className="quiet" disabled={busy} onClick={() => { setDraft(item.text); setEditing(true); }}>
            Edit
          </button>
          <button type="button" className="quiet" disabled={busy} onClick={onForget}>
            Forget
          </button>
        </div>
      )}
    </li>
  );
}
