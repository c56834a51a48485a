/**
 * Slack's two APIs through `ctx.http`: SCIM (`/scim/v2`, SCIM error statuses) and the Web API
 * (`https://slack.com/api/<method>`, HTTP 200 with `ok:false` on failure).
 */
import { parseRetryAfter, TargetError, type TargetContext } from "../../src/connector-kit.js";
import { settingsOf, type SlackConfig } from "./config.js";
import { classifyWebError, SCIM_ACCEPT, scimError, webError, type WebCallUse } from "./errors.js";

export type Ctx = TargetContext<SlackConfig>;
export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

export interface ScimAnswer {
  status: number;
  body: unknown;
  what: string;
}

/** One SCIM request; `answers` are the statuses the caller reads itself (404: the user is not there). */
export async function scimRequest(ctx: Ctx, method: "GET" | "DELETE", path: string, answers: readonly number[] = [], query?: Record<string, string | number>): Promise<ScimAnswer> {
  const s = settingsOf(ctx.config);
  const what = `${method} /scim/v2${path}`;
  const response = await ctx.http.request(s.scimBaseUrl + path, {
    method,
    headers: { authorization: s.scimAuthorization, accept: "application/scim+json, application/json" },
    ...(query ? { query } : {}),
    accept: SCIM_ACCEPT,
  });
  if (response.status >= 400 && !answers.includes(response.status)) throw scimError(response.status, what);
  return { status: response.status, body: response.body, what };
}

export type WebAnswer = { ok: true; body: Json; what: string } | { ok: false; already: true; what: string };

/**
 * One Web API call. Arguments go in the query string for reads (GET) and writes (POST) alike:
 * Slack takes every method's arguments as "querystring or POST body", while several methods
 * (usergroups.users.list, users.lookupByEmail) do "not currently accept application/json".
 * `ok:false` is classified by `classifyWebError`; a revoke whose user or group is gone, or a find
 * without a match, comes back `{ ok: false, already: true }`.
 */
export async function webCall(ctx: Ctx, method: string, args: Record<string, string | number | boolean | undefined>, use: WebCallUse, write = false): Promise<WebAnswer> {
  const s = settingsOf(ctx.config);
  const what = `${write ? "POST" : "GET"} ${method}`;
  const query = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined).map(([k, v]) => [k, typeof v === "boolean" ? String(v) : v])) as Record<string, string | number>;
  const response = await ctx.http.request(`${s.webApiBaseUrl}/${method}`, {
    method: write ? "POST" : "GET",
    headers: { authorization: s.webAuthorization },
    query,
  });
  const body = response.body;
  if (!isObject(body) || typeof body.ok !== "boolean") throw new TargetError("permanent", `${what} answered a body that is not a Slack Web API answer; check webApiBaseUrl`);
  if (body.ok) return { ok: true, body, what };
  const error = typeof body.error === "string" ? body.error : "unknown_error";
  const verdict = classifyWebError(method, error, use, typeof body.needed === "string" ? body.needed : undefined);
  if (verdict.already) return { ok: false, already: true, what };
  throw webError(verdict, parseRetryAfter(response.headers.get("retry-after"), ctx.now()));
}

export const userPath = (id: string) => `/Users/${encodeURIComponent(id)}`;
