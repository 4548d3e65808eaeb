/** Reading a conversation's messages back in pages (`?before=`), newest last. */
import { api, must, type Message } from "../api/client";

/** Messages are read in pages of this many (the route's maximum). */
export const PAGE = 100;

/** The newest `wanted` messages, oldest first, read back page by page with `?before=`. */
export async function newestMessages(conversationId: string, wanted: number): Promise<{ items: Message[]; hasEarlier: boolean }> {
  let items: Message[] = [];
  let before: string | null = null;
  do {
    const query: { limit: number; before?: string } = { limit: Math.min(PAGE, wanted - items.length) };
    if (before) query.before = before;
    const page = must(await api.GET("/v1/conversations/{conversation_id}/messages", { params: { path: { conversation_id: conversationId }, query } }));
    items = [...page.items, ...items];
    before = page.next_cursor ?? null;
  } while (before && items.length < wanted);
  return { items, hasEarlier: before !== null };
}

/** The id of a message's bubble, to scroll to it. */
export const bubbleId = (messageId: string) => `message-${messageId}`;
