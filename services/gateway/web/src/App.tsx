/** The shell: sign in, then one page per route with a bottom navigation bar. A new page is a
 * component and a case in `Page`; a 401 from a signed-in call signs out. */
import { useEffect, useState } from "react";
import { api, must, setToken, whenExpired, type Profile } from "./api/client";
import { AdminPage } from "./admin/AdminPage";
import { ChatPage } from "./chat/ChatPage";
import { CharacterEditor } from "./pages/CharacterEditor";
import { Dashboard } from "./pages/Dashboard";
import { LibraryPage } from "./pages/LibraryPage";
import { LorebookEditor } from "./lore/LorebookEditor";
import { LorebooksPage } from "./lore/LorebooksPage";
import { SignIn } from "./pages/SignIn";
import { href, useRoute, type Route } from "./route";
import { isAdmin, SessionContext } from "./session";

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "chat":
      return <ChatPage key={route.conversationId} conversationId={route.conversationId} />;
    case "library":
      return <LibraryPage conversationId={route.conversationId} />;
    case "admin":
      return <AdminPage />;
    case "character":
      return <CharacterEditor key={route.characterId ?? "new"} characterId={route.characterId} />;
    case "lorebooks":
      return route.lorebookId ? <LorebookEditor key={route.lorebookId} lorebookId={route.lorebookId} /> : <LorebooksPage />;
    default:
      return <Dashboard />;
  }
}

export function App() {
  const [profile, setProfile] = useState<Profile | null>(null);
  const route = useRoute();
  useEffect(
    () =>
      whenExpired(() => {
        setToken(null);
        setProfile(null);
      }),
    [],
  );

  if (!profile) {
    return (
      <SignIn
        onSignedIn={async (accessToken) => {
          setToken(accessToken);
          setProfile(must(await api.GET("/v1/me")));
        }}
      />
    );
  }
  const signOut = () => {
    setToken(null);
    setProfile(null);
  };
  return (
    <SessionContext.Provider value={{ profile, signOut }}>
      <div className="shell">
        <main className="page">
          <Page route={route} />
        </main>
        <nav className="bottom-nav" aria-label="Main">
          <a href={href({ page: "dashboard" })} aria-current={route.page === "dashboard" ? "page" : undefined}>
            Home
          </a>
          <a href={href({ page: "library", conversationId: null })} aria-current={route.page === "library" ? "page" : undefined}>
            Library
          </a>
          <a href={href({ page: "lorebooks", lorebookId: null })} aria-current={route.page === "lorebooks" ? "page" : undefined}>
            Lorebooks
          </a>
          {isAdmin(profile) && (
            <a href={href({ page: "admin" })} aria-current={route.page === "admin" ? "page" : undefined}>
              Admin
            </a>
          )}
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        </nav>
      </div>
    </SessionContext.Provider>
  );
}
