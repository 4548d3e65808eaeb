/** A first line chosen before a chat opens (a scene starter) waits in its message box. It holds
 * no credential, so `sessionStorage` is fine. */
const key = (conversationId: string) => `roleplay.draft.${conversationId}`;

export function keepDraft(conversationId: string, text: string): void {
  sessionStorage.setItem(key(conversationId), text);
}

export function waitingDraft(conversationId: string): string {
  return sessionStorage.getItem(key(conversationId)) ?? "";
}

export function forgetDraft(conversationId: string): void {
  sessionStorage.removeItem(key(conversationId));
}
