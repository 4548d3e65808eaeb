/** "Impersonate": a suggested next message written as the person's persona, streamed from
 * `POST /v1/conversations/{id}/impersonate` into the message box. Nothing is stored, so a
 * dropped stream is not resumed: pressing the button again asks for a new suggestion. */
import { useCallback, useEffect, useRef, useState } from "react";
import { authHeaders } from "../api/client";
import { read } from "../api/sse";

type Delta = { seq: number; text: string };
type Failed = { error?: { message?: string } | null };

export function useImpersonate(conversationId: string, onText: (text: string) => void) {
  const [running, setRunning] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);

  const start = useCallback(async () => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setRunning(true);
    setProblem(null);
    const parts = new Map<number, string>();
    try {
      const response = await fetch(`/v1/conversations/${conversationId}/impersonate`, {
        method: "POST",
        headers: { Accept: "text/event-stream", ...authHeaders() },
        signal: controller.signal,
      });
      if (!response.ok || !response.body) {
        const body = (await response.json().catch(() => null)) as Failed | null;
        throw new Error(body?.error?.message ?? `Impersonate answered ${response.status}`);
      }
      await read(
        response.body,
        (event) => {
          if (event.name === "delta") {
            const delta = event.data as Delta;
            parts.set(delta.seq, delta.text);
            onText([...parts.entries()].sort(([a], [b]) => a - b).map(([, text]) => text).join(""));
          } else if (event.name === "turn.failed") {
            throw new Error((event.data as Failed).error?.message ?? "The suggestion failed");
          } else if (event.name === "turn.completed") return "stop";
        },
        () => undefined,
      );
    } catch (error) {
      if (!controller.signal.aborted) setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      if (abort.current === controller) {
        abort.current = null;
        setRunning(false);
      }
    }
  }, [conversationId, onText]);

  const stop = useCallback(() => {
    abort.current?.abort();
    abort.current = null;
    setRunning(false);
  }, []);

  return { running, problem, start, stop };
}
