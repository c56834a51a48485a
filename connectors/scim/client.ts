/**
 * One SCIM request through `ctx.http`, and the readers of what a service provider answers:
 * resources (attribute names are case-insensitive, RFC 7643 §2.1), ListResponses (RFC 7644
 * §3.4.2) and filters (RFC 7644 §3.4.2.2).
 */
import { parseRetryAfter, TargetError, type TargetContext } from "../../src/connector-kit.js";
import { settingsOf, type ScimConfig } from "./config.js";
import { REFINED_STATUSES, scimError, type ScimCall } from "./errors.js";

export type Ctx = TargetContext<ScimConfig>;
export type Resource = Record<string, unknown>;

export const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";

export interface ScimRequest {
  method?: "GET" | "PUT" | "PATCH" | "DELETE";
  /** Relative to baseUrl, already encoded: `/Users/${encodeURIComponent(id)}`. */
  path: string;
  /** Query parameters, percent-encoded here (spaces as %20, which every SCIM server reads). */
  query?: Record<string, string | number>;
  json?: unknown;
  ifMatch?: string;
  /** What the call is for: decides how a SCIM error is classified. */
  call: ScimCall;
  /** Error statuses the caller reads itself (e.g. 404 on a write: already gone). */
  answers?: readonly number[];
}

export interface ScimResponse {
  status: number;
  headers: Headers;
  body: unknown;
  /** "METHOD /path", for evidence and messages: never the query string. */
  what: string;
}

/** Sends one request; an error status the caller does not read becomes a classified TargetError. */
export async function scimRequest(ctx: Ctx, request: ScimRequest): Promise<ScimResponse> {
  const settings = settingsOf(ctx.config);
  const method = request.method ?? "GET";
  const query = Object.entries(request.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join("&");
  const url = settings.baseUrl + request.path + (query ? `?${query}` : "");
  const answers = request.answers ?? [];
  const headers: Record<string, string> = {
    authorization: settings.authorization,
    accept: "application/scim+json, application/json",
    ...(request.ifMatch ? { "if-match": request.ifMatch } : {}),
  };
  const response = await ctx.http.request(url, {
    method,
    headers,
    // RFC 7644 §3.1 / §8.1: the SCIM media type; service providers accept it (and most application/json too)
    ...(request.json !== undefined ? { json: request.json, contentType: "application/scim+json" } : {}),
    accept: [...new Set([...REFINED_STATUSES, ...answers])],
  });
  const what = `${method} ${request.path}`;
  if (response.status >= 400 && !answers.includes(response.status)) {
    throw scimError(response.status, response.body, request.call, what, parseRetryAfter(response.headers.get("retry-after"), ctx.now()));
  }
  return { status: response.status, headers: response.headers, body: response.body, what };
}

/** An attribute by name, ignoring case (RFC 7643 §2.1); the first match wins. */
export function attr(resource: Resource, name: string): unknown {
  if (name in resource) return resource[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(resource)) if (key.toLowerCase() === lower) return resource[key];
  return undefined;
}

export function isResource(value: unknown): value is Resource {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The body as the resource with `id`, or a permanent error: a probe never guesses from a shape it does not know. */
export function resourceOf(body: unknown, id: string, what: string): Resource {
  if (!isResource(body) || typeof attr(body, "id") !== "string") throw new TargetError("permanent", `${what} answered a body that is not a SCIM resource`);
  if (attr(body, "id") !== id) throw new TargetError("permanent", `${what} answered the resource ${JSON.stringify(attr(body, "id"))}, not ${JSON.stringify(id)}`);
  return body;
}

export interface ListPage {
  totalResults: number;
  resources: Resource[];
  startIndex: number;
}

/** A ListResponse (RFC 7644 §3.4.2): `totalResults` is required, `Resources` may be absent when there are none. */
export function listOf(body: unknown, what: string): ListPage {
  const bad = () => new TargetError("permanent", `${what} answered a body that is not a SCIM ListResponse; check that baseUrl is the SCIM base, ending before /Users`);
  if (!isResource(body)) throw bad();
  const total = attr(body, "totalResults");
  const resources = attr(body, "Resources") ?? [];
  if (typeof total !== "number" || !Array.isArray(resources) || !resources.every(isResource)) throw bad();
  const start = attr(body, "startIndex");
  return { totalResults: total, resources, startIndex: typeof start === "number" ? start : 1 };
}

/**
 * `attribute eq "value"` with the value as a JSON string (RFC 7644 §3.4.2.2: compValue is a JSON
 * string literal), so quotes, backslashes and control characters in a userName cannot end the
 * literal and add clauses of their own.
 */
export function eqFilter(attribute: string, value: string): string {
  return `${attribute} eq ${JSON.stringify(value)}`;
}

export const userPath = (id: string) => `/Users/${encodeURIComponent(id)}`;
export const groupPath = (id: string) => `/Groups/${encodeURIComponent(id)}`;
