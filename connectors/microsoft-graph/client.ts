/**
 * Graph requests through `ctx.http`, with an app-only access token from the Microsoft identity
 * platform (OAuth 2.0 client credentials grant, `POST {authority}/{tenant}/oauth2/v2.0/token`),
 * cached per credentials until five minutes before it expires.
 *
 * The token request is form-encoded (the endpoint accepts nothing else), which `ctx.http` cannot
 * send (it sends JSON only), so it goes through `fetch` itself, after `ctx.throttle`, with the
 * task's abort signal and a timeout, and its answer classified here like any other.
 */
import { createHash } from "node:crypto";
import { parseRetryAfter, TargetError, type TargetContext } from "../../src/connector-kit.js";
import { settingsOf, type GraphConfig, type GraphSettings } from "./config.js";
import { ERROR_STATUSES, graphError, type GraphCall } from "./errors.js";

export type Ctx = TargetContext<GraphConfig>;
export type Json = Record<string, unknown>;

const REFRESH_BEFORE_MS = 5 * 60_000;
const tokens = new Map<string, { token: string; expiresAt: number }>();

/** The cache key: never the secret itself. */
const keyOf = (s: GraphSettings) => `${s.tokenUrl}|${s.clientId}|${createHash("sha256").update(s.clientSecret).digest("hex")}`;

async function accessToken(ctx: Ctx, s: GraphSettings): Promise<string> {
  const key = keyOf(s);
  const cached = tokens.get(key);
  if (cached && cached.expiresAt - REFRESH_BEFORE_MS > Date.now()) return cached.token;
  await ctx.throttle?.();
  const what = `POST ${new URL(s.tokenUrl).pathname}`;
  let response: Response;
  let body: unknown = null;
  try {
    response = await fetch(s.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ client_id: s.clientId, client_secret: s.clientSecret, scope: s.scope, grant_type: "client_credentials" }).toString(),
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]),
    });
    const text = await response.text();
    try {
      body = text === "" ? null : JSON.parse(text);
    } catch {
      body = null;
    }
  } catch (error) {
    throw new TargetError("retryable", `${what} failed: ${(error as Error).name}`, { cause: error });
  }
  if (response.status >= 400) throw graphError(response.status, body, "token", what, parseRetryAfter(response.headers.get("retry-after"), ctx.now()));
  const b = (body ?? {}) as Json;
  if (typeof b.access_token !== "string" || typeof b.expires_in !== "number") throw new TargetError("permanent", `${what} answered ${response.status} without access_token and expires_in; check authorityUrl`);
  tokens.set(key, { token: b.access_token, expiresAt: Date.now() + b.expires_in * 1000 });
  return b.access_token;
}

/** Forgets every cached token (tests). */
export function forgetTokens(): void {
  tokens.clear();
}

export interface GraphRequest {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  /** Relative to graphUrl, already encoded: `/users/${encodeURIComponent(id)}`. */
  path: string;
  /** OData query options, percent-encoded here (spaces as %20). */
  query?: Record<string, string>;
  /** A full URL Graph handed back (`@odata.nextLink`); replaces path and query. */
  url?: string;
  json?: unknown;
  call: GraphCall;
  /** Error statuses the caller reads itself (404 on a write: already gone). */
  answers?: readonly number[];
}

export interface GraphResponse {
  status: number;
  body: unknown;
  /** "METHOD /path" for evidence and messages: never the query string. */
  what: string;
}

export async function graphRequest(ctx: Ctx, request: GraphRequest): Promise<GraphResponse> {
  const s = settingsOf(ctx.config);
  const method = request.method ?? "GET";
  const query = Object.entries(request.query ?? {}).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
  const url = request.url ?? s.graphUrl + request.path + (query ? `?${query}` : "");
  if (request.url && new URL(request.url).origin !== new URL(s.graphUrl).origin) throw new TargetError("permanent", `Graph handed back a next link to another origin; refusing to send the token there`);
  const token = await accessToken(ctx, s);
  const response = await ctx.http.request(url, {
    method,
    headers: { authorization: `Bearer ${token}` },
    ...(request.json !== undefined ? { json: request.json } : {}),
    accept: ERROR_STATUSES,
  });
  const what = `${method} ${request.url ? new URL(request.url).pathname.replace(new URL(s.graphUrl).pathname, "") : request.path}`;
  const answers = request.answers ?? [];
  if (response.status >= 400 && !answers.includes(response.status)) {
    if (response.status === 401) tokens.delete(keyOf(s));
    throw graphError(response.status, response.body, request.call, what, parseRetryAfter(response.headers.get("retry-after"), ctx.now()));
  }
  return { status: response.status, body: response.body, what };
}

/** Every item of a collection, following `@odata.nextLink` (at most 50 pages). */
export async function listAll(ctx: Ctx, request: GraphRequest): Promise<{ items: Json[]; what: string; status: number }> {
  const items: Json[] = [];
  let next: GraphRequest | null = request;
  let first: GraphResponse | null = null;
  for (let page = 0; next && page < 50; page++) {
    const r: GraphResponse = await graphRequest(ctx, next);
    first ??= r;
    if (r.status === 404) return { items: [], what: r.what, status: 404 };
    const body = r.body as Json | null;
    if (!body || !Array.isArray(body.value)) throw new TargetError("permanent", `${r.what} answered a body that is not a Graph collection`);
    items.push(...(body.value as Json[]));
    const link = body["@odata.nextLink"];
    next = typeof link === "string" ? { url: link, path: request.path, call: request.call, ...(request.answers ? { answers: request.answers } : {}) } : null;
  }
  if (next) throw new TargetError("permanent", `${request.path} has more than 50 pages; cannot read it whole`);
  return { items, what: first!.what, status: first!.status };
}

/** OData string literal: single quotes doubled (OData ABNF `SQUOTE-in-string`). */
export const odataString = (value: string) => `'${value.replace(/'/g, "''")}'`;
export const userPath = (id: string) => `/users/${encodeURIComponent(id)}`;
