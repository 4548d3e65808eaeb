/** The chat page: header, bubbles with inline scenes, the streamed reply, and the composer.
 * Panels (scene modal, quick settings, character info, lorebooks, memory, prompt preview) are
 * components opened from here. */
import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { api, describe, must, type Conversation, type Message } from "../api/client";
import { Problem } from "../parts";
import { go, href } from "../route";
import { CharacterDrawer } from "./CharacterDrawer";
import { download } from "../download";
import { ChatHeader } from "./ChatHeader";
import { Composer } from "./Composer";
import { forgetDraft, waitingDraft } from "./draft";
import { LorebookPanel } from "./LorebookPanel";
import { MemoryPanel } from "./MemoryPanel";
import { MessageBubble } from "./MessageBubble";
import { bubbleId, newestMessages, PAGE } from "./messagePages";
import { PromptPreviewPanel } from "./PromptPreviewPanel";
import { QuickSettings } from "./QuickSettings";
import { SceneCard } from "./SceneCard";
import { SceneModal } from "./SceneModal";
import { useScenes, type SceneView } from "./useScenes";
import { useTurn } from "./useTurn";

type Panel =
  | { kind: "scene"; quick: boolean; previous: string | null; messageId: string | null }
  | { kind: "settings" }
  | { kind: "info" }
  | { kind: "lore" }
  | { kind: "memory" }
  | { kind: "preview" }
  | null;

export function ChatPage({ conversationId }: { conversationId: string }) {
  const [conversation, setConversation] = useState<Conversation | null>(null);
  const [messages, setMessages] = useState<Message[] | null>(null);
  const [draft, setDraft] = useState(() => waitingDraft(conversationId));
  useEffect(() => forgetDraft(conversationId), [conversationId]);
  const [problem, setProblem] = useState<string | null>(null);
  const [panel, setPanel] = useState<Panel>(null);
  const [pendingUser, setPendingUser] = useState<string | null>(null);
  const list = useRef<HTMLOListElement>(null);

  // How many of the newest messages are shown: a page more with every "Load earlier messages".
  // A ref, so that loading stays one stable callback (the event stream's hook depends on it).
  const wanted = useRef(PAGE);
  const [hasEarlier, setHasEarlier] = useState(false);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  // The message to keep in view when earlier ones are added above it (instead of the newest).
  const keepInView = useRef<string | null>(null);

  const loadMessages = useCallback(async () => {
    try {
      const newest = await newestMessages(conversationId, wanted.current);
      setMessages(newest.items);
      setHasEarlier(newest.hasEarlier);
      setPendingUser(null);
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setLoadingEarlier(false);
    }
  }, [conversationId]);

  useEffect(() => {
    void (async () => {
      try {
        setConversation(must(await api.GET("/v1/conversations/{conversation_id}", { params: { path: { conversation_id: conversationId } } })));
      } catch (error) {
        setProblem(describe(error));
      }
    })();
    void loadMessages();
  }, [conversationId, loadMessages]);

  const turn = useTurn(conversationId, loadMessages);
  // Bumped by `memory.updated`, so an open memory panel reads the memory again.
  const [memoryVersion, setMemoryVersion] = useState(0);
  const memoryChanged = useCallback(() => setMemoryVersion((v) => v + 1), []);
  const { scenes, upsert, problem: sceneProblem } = useScenes(conversationId, loadMessages, memoryChanged);

  // Follow the newest message only while the reader is at the bottom: a scene finishing under an
  // earlier message must not pull someone reading back down.
  const followNewest = useRef(true);
  useEffect(() => {
    const scrolled = () => {
      const bottom = list.current?.getBoundingClientRect().bottom ?? 0;
      followNewest.current = bottom - window.innerHeight < 150;
    };
    window.addEventListener("scroll", scrolled, { passive: true });
    return () => window.removeEventListener("scroll", scrolled);
  }, []);

  useEffect(() => {
    if (loadingEarlier) return;
    const anchor = keepInView.current && document.getElementById(keepInView.current);
    if (anchor) {
      keepInView.current = null;
      followNewest.current = false;
      anchor.scrollIntoView({ block: "start" });
      return;
    }
    if (followNewest.current) list.current?.lastElementChild?.scrollIntoView({ block: "end" });
  }, [messages, turn.streaming?.text, pendingUser, scenes, loadingEarlier]);

  function loadEarlier() {
    keepInView.current = messages?.[0] ? bubbleId(messages[0].id) : null;
    setLoadingEarlier(true);
    wanted.current += PAGE;
    void loadMessages();
  }

  async function send(event: FormEvent) {
    event.preventDefault();
    const content = draft.trim();
    if (!content || turn.streaming) return;
    followNewest.current = true;
    setPendingUser(content);
    setDraft("");
    if (!(await turn.start("send", content))) {
      setPendingUser(null);
      setDraft(content);
    }
  }

  async function act(work: () => Promise<unknown>) {
    setProblem(null);
    try {
      await work();
      await loadMessages();
    } catch (error) {
      setProblem(describe(error));
    }
  }

  const swipe = (message: Message, index: number) =>
    act(async () => must(await api.POST("/v1/messages/{message_id}/select", { params: { path: { message_id: message.id } }, body: { alternative_index: index } })));
  const edit = (message: Message, content: string) =>
    act(async () => must(await api.PATCH("/v1/messages/{message_id}", { params: { path: { message_id: message.id } }, body: { content } })));
  const remove = (message: Message) =>
    act(async () => {
      const answer = await api.DELETE("/v1/messages/{message_id}", { params: { path: { message_id: message.id } } });
      if (answer.error !== undefined) must(answer);
    });
  const fork = async (message: Message) => {
    setProblem(null);
    try {
      const forked = must(await api.POST("/v1/conversations/{conversation_id}/fork", { params: { path: { conversation_id: conversationId } }, body: { message_id: message.id } }));
      go({ page: "chat", conversationId: forked.id });
    } catch (error) {
      setProblem(describe(error));
    }
  };
  const cancel = async (scene: SceneView) => {
    setProblem(null);
    upsert(scene.id, { cancelling: true });
    try {
      must(await api.POST("/v1/jobs/{job_id}/cancel", { params: { path: { job_id: scene.jobId } } }));
    } catch (error) {
      upsert(scene.id, { cancelling: false });
      setProblem(describe(error));
    }
  };
  const keep = async (scene: SceneView) => {
    try {
      must(await api.POST("/v1/scenes/{scene_id}/save", { params: { path: { scene_id: scene.id } } }));
    } catch (error) {
      setProblem(describe(error));
    }
  };

  const name = conversation?.character.name ?? "…";
  const exportChat = async () => {
    setProblem(null);
    try {
      await download(`/v1/conversations/${conversationId}/export?format=jsonl`, `${name}.jsonl`);
    } catch (error) {
      setProblem(describe(error));
    }
  };

  // The stored reply may arrive (from the event stream) just before its stream ends.
  const streaming = turn.streaming && !(messages ?? []).some((m) => m.sender === "assistant" && m.turn_id === turn.streaming?.turnId && turn.streaming.kind !== "regenerate") ? turn.streaming : null;
  const shown = (messages ?? []).filter((m, i, all) => !(streaming?.kind === "regenerate" && i === all.length - 1 && m.sender === "assistant"));
  const lastAssistant = [...shown].reverse().find((m) => m.sender === "assistant");
  const ordered = Object.values(scenes).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const attached = new Set<string>();
  const scenesOf = (message: Message) =>
    ordered.filter((s) => {
      const here = s.messageId === message.id || message.scene_ids.includes(s.id);
      if (here) attached.add(s.id);
      return here;
    });
  const latestImage = [...ordered].reverse().find((s) => s.imageUrl)?.id ?? null;
  // A modification illustrates the same message as the image it starts from.
  const messageOf = (s: SceneView) => s.messageId ?? shown.find((m) => m.scene_ids.includes(s.id))?.id ?? null;
  const sceneCard = (s: SceneView) => (
    <SceneCard
      key={s.id}
      scene={s}
      onKeep={() => void keep(s)}
      onModify={() => setPanel({ kind: "scene", quick: true, previous: s.id, messageId: messageOf(s) })}
      onCancel={() => void cancel(s)}
    />
  );

  const bubbles = shown.map((m) => (
    <MessageBubble
      key={`${m.id}:${m.selected_index}:${m.updated_at}`}
      id={bubbleId(m.id)}
      message={m}
      name={name}
      onSwipe={m.sender === "assistant" && !streaming ? (i) => void swipe(m, i) : undefined}
      onEdit={(content) => edit(m, content)}
      onDelete={() => void remove(m)}
      onFork={streaming || pendingUser ? undefined : () => void fork(m)}
    >
      {scenesOf(m).map(sceneCard)}
    </MessageBubble>
  ));
  // A scene of a message not loaded yet (or made before the first loaded one) shows with it
  // once earlier messages are loaded, not at the bottom.
  const firstShown = shown[0]?.created_at ?? "";
  const loose = ordered.filter((s) => !attached.has(s.id) && !(hasEarlier && (s.messageId !== null || s.createdAt < firstShown)));

  return (
    <div className="chat">
      <ChatHeader name={name} imageUrl={conversation?.character.image_url} onOpen={(kind) => setPanel({ kind })} />
      <Problem text={problem ?? turn.problem ?? sceneProblem} />
      {turn.connection && <p role="status" className="muted">{turn.connection}</p>}
      {!messages && <p className="muted">Loading the conversation…</p>}
      {hasEarlier && (
        <button type="button" className="quiet load-earlier" disabled={loadingEarlier} onClick={loadEarlier}>
          {loadingEarlier ? "Loading earlier messages…" : "Load earlier messages"}
        </button>
      )}
      <ol className="messages" ref={list} aria-label="Messages" aria-live="polite">
        {bubbles}
        {loose.map((s) => (
          <li key={s.id} className="bubble theirs">
            {sceneCard(s)}
          </li>
        ))}
        {pendingUser && (
          <li className="bubble mine" aria-label="You">
            <p className="text">{pendingUser}</p>
          </li>
        )}
        {streaming && (
          <li className="bubble theirs streaming" aria-label={`${name} is replying`} aria-busy="true">
            <p className="text">{streaming.text || "…"}</p>
          </li>
        )}
      </ol>
      {lastAssistant && !streaming && !pendingUser && (
        <div className="row turn-tools">
          <button type="button" onClick={() => void turn.start("regenerate")}>
            Regenerate
          </button>
          <button type="button" onClick={() => void turn.start("continue")}>
            Continue
          </button>
          <button type="button" onClick={() => setPanel({ kind: "scene", quick: false, previous: latestImage, messageId: lastAssistant.id })}>
            Generate scene
          </button>
          <a className="button quiet" href={href({ page: "library", conversationId })}>
            Library
          </a>
          <button type="button" className="quiet" onClick={() => void exportChat()}>
            Export chat
          </button>
        </div>
      )}
      <Composer
        conversationId={conversationId}
        name={name}
        draft={draft}
        setDraft={setDraft}
        streaming={!!streaming}
        onSend={(e) => void send(e)}
        onStop={turn.stop}
      />
      {panel?.kind === "scene" && (
        <SceneModal
          conversationId={conversationId}
          previousSceneId={panel.previous}
          messageId={panel.messageId}
          quick={panel.quick}
          onClose={() => setPanel(null)}
          onAccepted={(a) => upsert(a.scene_id, { jobId: a.job_id, status: "queued", messageId: panel.messageId })}
        />
      )}
      {panel?.kind === "settings" && conversation && <QuickSettings conversation={conversation} onChanged={setConversation} onClose={() => setPanel(null)} />}
      {panel?.kind === "lore" && conversation && <LorebookPanel conversation={conversation} onChanged={setConversation} onClose={() => setPanel(null)} />}
      {panel?.kind === "memory" && <MemoryPanel conversationId={conversationId} characterName={name} version={memoryVersion} onClose={() => setPanel(null)} />}
      {panel?.kind === "preview" && <PromptPreviewPanel conversationId={conversationId} draft={draft} onClose={() => setPanel(null)} />}
      {panel?.kind === "info" && conversation && <CharacterDrawer characterId={conversation.character_id} onClose={() => setPanel(null)} />}
    </div>
  );
}
