/** Sign in or register. Nothing is pre-filled; errors are shown in words. */
import { useState, type FormEvent } from "react";
import { api, describe, must } from "../api/client";

export function SignIn({ onSignedIn }: { onSignedIn: (token: string) => Promise<void> }) {
  const [mode, setMode] = useState<"login" | "register">("login");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [username, setUsername] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const answer =
        mode === "login"
          ? must(await api.POST("/v1/auth/login", { body: { email, password } }))
          : must(
              await api.POST("/v1/auth/register", {
                body: { email, password, username: username || email.split("@")[0] },
              }),
            );
      await onSignedIn(answer.access_token);
    } catch (error) {
      setProblem(describe(error));
    } finally {
      setBusy(false);
    }
  }

  const registering = mode === "register";
  return (
    <main className="sign-in">
      <h1>Roleplay</h1>
      <form onSubmit={submit} className="card stack" aria-label={registering ? "Register" : "Sign in"}>
        <h2>{registering ? "Create an account" : "Sign in"}</h2>
        <label>
          Email
          <input type="email" required autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        {registering && (
          <label>
            Username
            <input autoComplete="nickname" value={username} onChange={(e) => setUsername(e.target.value)} />
          </label>
        )}
        <label>
          Password
          <input
            type="password"
            required
            minLength={registering ? 8 : undefined}
            autoComplete={registering ? "new-password" : "current-password"}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {problem && (
          <p role="alert" className="problem">
            {problem}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Please wait…" : registering ? "Register" : "Sign in"}
        </button>
        <button type="button" className="link" onClick={() => setMode(registering ? "login" : "register")}>
          {registering ? "I have an account: sign in" : "New here? Create an account"}
        </button>
      </form>
    </main>
  );
}
