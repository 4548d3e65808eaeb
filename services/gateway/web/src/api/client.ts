/** Typed calls to the gateway, generated from its OpenAPI document (`schema.d.ts`).
 *
 * The bearer token lives in this module's memory only: never in storage, never in a URL. A
 * reload therefore signs the person out (see the README). */
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Character = Schemas["CharacterPublic"];
export type Conversation = Schemas["ConversationPublic"];
export type Message = Schemas["MessagePublic"];
export type Scene = Schemas["ScenePublic"];
export type Asset = Schemas["AssetPublic"];
export type Profile = Schemas["Profile"];
export type ModelChoice = Schemas["ModelChoice"];
export type Lorebook = Schemas["LorebookPublic"];
export type LorebookEntry = Schemas["LorebookEntryData"];
export type PromptPreview = Schemas["PromptPreview"];
export type SceneTemplate = Schemas["SceneTemplatePublic"];

let token: string | null = null;

export function setToken(value: string | null): void {
  token = value;
}

export function authHeaders(): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

let onExpired: () => void = () => undefined;

/** What to do when a signed-in call answers 401 (the token expired): sign out. */
export function whenExpired(handler: () => void): void {
  onExpired = handler;
}

const bearer: Middleware = {
  onRequest({ request }) {
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && token && !new URL(request.url).pathname.startsWith("/v1/auth/")) {
      onExpired();
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "" });
api.use(bearer);

/** The gateway's `{"error": {...}}` shape, or what a failed fetch said, as a sentence. */
export class ApiProblem extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    /** A 422's field errors: the field's name to its message. */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

type FieldError = { loc?: unknown[]; msg?: string };

/** A validation error's `details.errors` as field name (the first part of `loc` after
 * `body`, `query` or `path`) → message. */
function fieldErrors(details: unknown): Record<string, string> {
  const errors = (details as { errors?: FieldError[] } | undefined)?.errors;
  const fields: Record<string, string> = {};
  for (const e of Array.isArray(errors) ? errors : []) {
    const loc = e.loc ?? [];
    const name = String((["body", "query", "path"].includes(String(loc[0])) ? loc[1] : loc[0]) ?? "");
    if (name && e.msg && !fields[name]) fields[name] = e.msg;
  }
  return fields;
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The data of an answer, or an `ApiProblem` carrying the gateway's message. */
export function must<T>(answer: Answer<T>): T {
  if (answer.error !== undefined || answer.data === undefined) {
    const body = answer.error as { error?: { message?: string; code?: string; details?: unknown } } | undefined;
    const status = answer.response.status;
    const fields = fieldErrors(body?.error?.details);
    const listed = Object.entries(fields).map(([name, msg]) => `${name}: ${msg}`);
    const message = body?.error?.message ?? `The server answered ${status}`;
    throw new ApiProblem(
      listed.length > 1 ? `${message} (${listed.join("; ")})` : message,
      status,
      body?.error?.code ?? "http_error",
      fields,
    );
  }
  return answer.data;
}

export function describe(problem: unknown): string {
  if (problem instanceof Error) return problem.message;
  return String(problem);
}
