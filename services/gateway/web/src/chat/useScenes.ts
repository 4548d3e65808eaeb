/** The conversation's scenes, live: loaded once, then kept current from the conversation event
 * stream (`scene.queued/progress/completed/failed`, `library.saved`). Scenes are kept by id,
 * so events replayed on (re)connect update a scene rather than adding it twice. A turn that
 * completes after the page opened (one whose stream was stopped, or from another tab) calls
 * `onReply`, so the page shows it without a reload; `memory.updated` calls `onMemory`. */
import { useCallback, useEffect, useState } from "react";
import { api, describe, must, type Schemas } from "../api/client";
import { follow } from "../api/sse";

export type SceneView = {
  id: string;
  jobId: string;
  status: string;
  progress: number;
  stage: string | null;
  imageUrl: string | null;
  messageId: string | null;
  prompt: string;
  createdAt: string;
  kept: boolean;
  error: string | null;
  /** Cancel was asked for; the event stream says when it is done. */
  cancelling: boolean;
};

export function useScenes(conversationId: string, onReply: () => void, onMemory: () => void) {
  const [scenes, setScenes] = useState<Record<string, SceneView>>({});
  const [problem, setProblem] = useState<string | null>(null);

  const upsert = useCallback((id: string, change: Partial<SceneView>) => {
    setScenes((all) => {
      const base: SceneView = all[id] ?? {
        id,
        jobId: "",
        status: "queued",
        progress: 0,
        stage: null,
        imageUrl: null,
        messageId: null,
        prompt: "",
        createdAt: new Date().toISOString(),
        kept: false,
        error: null,
        cancelling: false,
      };
      return { ...all, [id]: { ...base, ...change } };
    });
  }, []);

  useEffect(() => {
    const abort = new AbortController();
    const openedAt = Date.now();
    void (async () => {
      try {
        const listed = must(await api.GET("/v1/conversations/{conversation_id}/scenes", { params: { path: { conversation_id: conversationId } } }));
        for (const s of listed.items) {
          upsert(s.id, {
            jobId: s.job_id,
            status: s.status,
            progress: s.status === "completed" ? 1 : 0,
            imageUrl: s.image_url,
            messageId: s.message_id,
            prompt: s.prompt,
            createdAt: s.created_at,
          });
        }
      } catch (error) {
        setProblem(describe(error));
      }
    })();
    void follow({
      url: `/v1/conversations/${conversationId}/events`,
      signal: abort.signal,
      onProblem: setProblem,
      onEvent: ({ name, data }) => {
        switch (name) {
          case "scene.queued":
          case "scene.progress": {
            const p = data as Schemas["SceneProgress"];
            upsert(p.scene_id, { jobId: p.job_id, status: p.status, progress: p.progress, stage: p.stage });
            break;
          }
          case "scene.completed": {
            const c = data as Schemas["SceneCompleted"];
            upsert(c.scene_id, { jobId: c.job_id, status: "completed", progress: 1, imageUrl: c.image_url, messageId: c.message_id, prompt: c.prompt });
            break;
          }
          case "scene.failed": {
            const f = data as Schemas["SceneFailed"];
            upsert(f.scene_id, { status: f.cancelled ? "cancelled" : "failed", error: f.error.message });
            break;
          }
          case "turn.completed": {
            const done = data as Schemas["TurnCompleted"];
            if (Date.parse(done.message.updated_at) >= openedAt) onReply();
            break;
          }
          case "memory.updated":
            onMemory();
            break;
          case "library.saved":
            upsert((data as Schemas["LibrarySaved"]).scene_id, { kept: true });
            break;
        }
      },
    });
    return () => abort.abort();
  }, [conversationId, upsert, onReply, onMemory]);

  return { scenes, upsert, problem };
}
