/** A turn (send, regenerate, continue) streamed into a bubble.
 *
 * The turn is started with a plain POST (`202 {turn_id}`), then read from
 * `/v1/turns/{id}/stream`, which `follow` resumes with `Last-Event-ID` after a dropped
 * connection. The running turn's id is kept in `sessionStorage` (it is no credential), so after
 * a reload the page reads the same turn again from its start and the whole reply appears. */
import { useCallback, useEffect, useRef, useState } from "react";
import { api, describe, must, type Schemas } from "../api/client";
import { follow } from "../api/sse";

export type TurnKind = "send" | "regenerate" | "continue";
export type Streaming = { turnId: string; kind: TurnKind; text: string };

const key = (conversationId: string) => `roleplay.turn.${conversationId}`;

export function useTurn(conversationId: string, onDone: () => Promise<void> | void) {
  const [streaming, setStreaming] = useState<Streaming | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [connection, setConnection] = useState<string | null>(null);
  const controller = useRef<AbortController | null>(null);

  const read = useCallback(
    (turnId: string, kind: TurnKind) => {
      controller.current?.abort();
      const abort = new AbortController();
      controller.current = abort;
      sessionStorage.setItem(key(conversationId), JSON.stringify({ turnId, kind }));
      setStreaming({ turnId, kind, text: "" });
      let lastSeq = 0;
      const finish = (failure: string | null) => {
        sessionStorage.removeItem(key(conversationId));
        setProblem(failure);
        setConnection(null);
        void Promise.resolve(onDone()).then(() => setStreaming(null));
        return "stop" as const;
      };
      void follow({
        url: `/v1/turns/${turnId}/stream`,
        signal: abort.signal,
        onProblem: setConnection,
        onEvent: ({ name, data }) => {
          if (name === "delta") {
            const delta = data as Schemas["TurnDelta"];
            if (delta.seq <= lastSeq) return;
            lastSeq = delta.seq;
            setStreaming((s) => (s && s.turnId === turnId ? { ...s, text: s.text + delta.text } : s));
          } else if (name === "turn.restarted") {
            // Another chat instance took the turn over: the reply starts again from here.
            const restart = data as Schemas["TurnRestarted"];
            if (restart.seq <= lastSeq) return;
            lastSeq = restart.seq;
            setStreaming((s) => (s && s.turnId === turnId ? { ...s, text: "" } : s));
          } else if (name === "turn.completed") {
            return finish(null);
          } else if (name === "turn.failed") {
            return finish((data as Schemas["TurnFailed"]).error.message);
          }
        },
      }).then(() => {
        if (!abort.signal.aborted && controller.current === abort) {
          // The stream ended without an outcome (for instance it expired): show what is stored.
          sessionStorage.removeItem(key(conversationId));
          void Promise.resolve(onDone()).then(() => setStreaming(null));
        }
      });
    },
    [conversationId, onDone],
  );

  useEffect(() => {
    const saved = sessionStorage.getItem(key(conversationId));
    if (saved) {
      const { turnId, kind } = JSON.parse(saved) as { turnId: string; kind: TurnKind };
      read(turnId, kind);
    }
    return () => controller.current?.abort();
  }, [conversationId, read]);

  const start = useCallback(
    async (kind: TurnKind, content?: string) => {
      setProblem(null);
      setStreaming({ turnId: "", kind, text: "" }); // a bubble at once, and no second start
      const path = { path: { conversation_id: conversationId } };
      try {
        let accepted: Schemas["TurnAccepted"];
        if (kind === "send") {
          const body = { content: content ?? "", client_message_id: crypto.randomUUID() };
          accepted = must(await api.POST("/v1/conversations/{conversation_id}/messages", { params: path, body })) as Schemas["TurnAccepted"];
        } else if (kind === "regenerate") {
          accepted = must(await api.POST("/v1/conversations/{conversation_id}/regenerate", { params: path, body: {} })) as Schemas["TurnAccepted"];
        } else {
          accepted = must(await api.POST("/v1/conversations/{conversation_id}/continue", { params: path })) as Schemas["TurnAccepted"];
        }
        read(accepted.turn_id, kind);
        return true;
      } catch (error) {
        setStreaming(null);
        setProblem(describe(error));
        return false;
      }
    },
    [conversationId, read],
  );

  /** Stop showing the reply as it streams; the server finishes and stores it, and the page
   * then shows what was stored (the API has no way to cancel a turn yet). */
  const stop = useCallback(() => {
    controller.current?.abort();
    controller.current = null;
    sessionStorage.removeItem(key(conversationId));
    setConnection(null);
    void Promise.resolve(onDone()).then(() => setStreaming(null));
  }, [conversationId, onDone]);

  return { streaming, problem, connection, start, stop, setProblem };
}
