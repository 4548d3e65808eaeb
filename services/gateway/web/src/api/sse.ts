/** Server-Sent Events over `fetch` (so the token travels in a header, not the URL), resumed
 * after a dropped connection with `Last-Event-ID`, as the gateway's streams allow. */
import { authHeaders } from "./client";

export type StreamEvent = { name: string; id: string | null; data: unknown };
/** Return "stop" to end the stream. */
export type OnEvent = (event: StreamEvent) => "stop" | void;

export type Follow = {
  url: string;
  signal: AbortSignal;
  onEvent: OnEvent;
  lastEventId?: string | null;
  onProblem?: (message: string | null) => void;
};

const RETRY_MS = 1000;

export async function follow({ url, signal, onEvent, lastEventId = null, onProblem }: Follow) {
  let last = lastEventId;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream", ...authHeaders() };
      if (last !== null) headers["Last-Event-ID"] = last;
      const response = await fetch(url, { headers, signal });
      if (!response.ok || !response.body) {
        const body = await response.json().catch(() => null);
        const message = body?.error?.message ?? `The stream answered ${response.status}`;
        onProblem?.(message);
        if (response.status < 500 && response.status !== 429) return;
      } else {
        onProblem?.(null);
        const stopped = await read(response.body, onEvent, (id) => (last = id));
        if (stopped) return;
      }
    } catch (problem) {
      if (signal.aborted) return;
      onProblem?.("Connection lost; reconnecting…");
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/** Read an event stream's body, calling `onEvent` for each event; true when it said "stop". */
export async function read(
  body: ReadableStream<Uint8Array>,
  onEvent: OnEvent,
  onId: (id: string) => void,
): Promise<boolean> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parse(block);
      if (!event) continue;
      if (event.id !== null) onId(event.id);
      if (onEvent(event) === "stop") {
        await reader.cancel().catch(() => undefined);
        return true;
      }
    }
  }
}

function parse(block: string): StreamEvent | null {
  let name = "message";
  let id: string | null = null;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  if (data.length === 0) return null;
  return { name, id, data: JSON.parse(data.join("\n")) };
}
