/** Who is signed in. The token is kept in memory only (`api/client.ts`). */
import { createContext, useContext } from "react";
import type { Profile } from "./api/client";

export type Session = { profile: Profile; signOut: () => void };

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

export function isAdmin(profile: Profile): boolean {
  return profile.roles.includes("admin");
}
