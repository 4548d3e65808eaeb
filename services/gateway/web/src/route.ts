/** Pages are addressed by the URL's fragment (`#/chat/<id>`), so a reload reopens the same
 * page after signing in again; the fragment never carries a credential. */
import { useEffect, useState } from "react";

export type Route =
  | { page: "dashboard" }
  | { page: "chat"; conversationId: string }
  | { page: "library"; conversationId: string | null }
  | { page: "admin" }
  | { page: "character"; characterId: string | null }
  | { page: "lorebooks"; lorebookId: string | null };

export function parseRoute(hash: string): Route {
  const [, page, id] = hash.replace(/^#/, "").split("/");
  if (page === "chat" && id) return { page: "chat", conversationId: id };
  if (page === "library") return { page: "library", conversationId: id || null };
  if (page === "admin") return { page: "admin" };
  if (page === "lorebooks") return { page: "lorebooks", lorebookId: id || null };
  if (page === "characters") return { page: "character", characterId: id && id !== "new" ? id : null };
  return { page: "dashboard" };
}

export function href(route: Route): string {
  switch (route.page) {
    case "chat":
      return `#/chat/${route.conversationId}`;
    case "library":
      return route.conversationId ? `#/library/${route.conversationId}` : "#/library";
    case "admin":
      return "#/admin";
    case "character":
      return `#/characters/${route.characterId ?? "new"}`;
    case "lorebooks":
      return route.lorebookId ? `#/lorebooks/${route.lorebookId}` : "#/lorebooks";
    default:
      return "#/";
  }
}

export function go(route: Route): void {
  window.location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}
