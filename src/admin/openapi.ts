import type { AdminRole } from "../storage/admin-tokens-repo.js";

/**
 * The admin API described (OpenAPI 3.1, served at /admin/api/openapi.json). Every route is one
 * row: method, path, the roles it allows (admin always may), what it does, what it takes. The
 * role-matrix test sends every row's request with a token of every role and checks the answer
 * matches `roles`, and that the express routers serve exactly these paths — so this table cannot
 * drift from the code without a test failing.
 */
export interface ApiRoute {
  method: "get" | "post" | "patch" | "delete";
  /** OpenAPI form: /targets/{target}. */
  path: string;
  /** Roles allowed besides admin; [] means admin only. */
  roles: readonly Exclude<AdminRole, "admin">[];
  tag: "identity" | "connections" | "tokens" | "targets" | "people" | "operations" | "tasks" | "audit" | "receipts";
  summary: string;
  /** Query parameters: name → description (`*` suffix: required). */
  query?: Record<string, string>;
  /** The JSON body's fields: name → description (`*` suffix: required). */
  body?: Record<string, string>;
  /** What a success answers, when not JSON (Default: application/json). */
  produces?: string;
}

const V = "viewer", O = "operator", A = "app-owner";

export const ADMIN_API: readonly ApiRoute[] = [
  { method: "get", path: "/whoami", roles: [V, O, A], tag: "identity", summary: "The admin token's name and role" },
  { method: "get", path: "/connections", roles: [V, O], tag: "connections", summary: "Every connection (IdP tenant)" },
  { method: "post", path: "/connections", roles: [], tag: "connections", summary: "Create a connection and its first bearer token (shown once)", body: { "name*": "lower-case name", label: "the token's label" } },
  { method: "get", path: "/connections/{connection}", roles: [V, O], tag: "connections", summary: "One connection, by name or id" },
  { method: "get", path: "/connections/{connection}/credentials", roles: [], tag: "tokens", summary: "A connection's credentials (bearer, basic, JWT) with last use; never secrets" },
  { method: "post", path: "/connections/{connection}/tokens", roles: [], tag: "tokens", summary: "A new bearer token (shown once); revokeOthers rotates", body: { label: "label", revokeOthers: "true to revoke every other bearer token" } },
  { method: "post", path: "/connections/{connection}/basic", roles: [], tag: "tokens", summary: "An HTTP Basic credential (password shown once)", body: { username: "Default: the connection's name" } },
  { method: "post", path: "/connections/{connection}/jwt", roles: [], tag: "tokens", summary: "Accept IdP-issued JWTs", body: { "issuer*": "iss", "audience*": "aud", jwksUrl: "the issuer's JWKS", publicKey: "or a PEM key", algorithms: "allow-list", clockToleranceSec: "Default: 60" } },
  { method: "delete", path: "/connections/{connection}/credentials/{credential}", roles: [], tag: "tokens", summary: "Revoke a credential" },
  { method: "get", path: "/admin-tokens", roles: [], tag: "identity", summary: "Admin tokens, their roles and last use" },
  { method: "post", path: "/admin-tokens", roles: [], tag: "identity", summary: "A new admin token (shown once)", body: { "name*": "who holds it", "role*": "viewer | operator | app-owner | admin" } },
  { method: "delete", path: "/admin-tokens/{id}", roles: [], tag: "identity", summary: "Revoke an admin token" },
  { method: "get", path: "/targets", roles: [V, O, A], tag: "targets", summary: "Targets with policy and health (an app-owner sees its own)", query: { connection: "only this connection's" } },
  { method: "post", path: "/targets", roles: [A], tag: "targets", summary: "Register a target: kind, config (secrets sealed), policy", body: { "connection*": "name or id", "name*": "the target's name", "kind*": "an installed kind", config: "the kind's fields", policy: "deactivate, slaMs, scopeGroups, entitlements, mode, maxConcurrency, maxRequestsPerSec" } },
  { method: "get", path: "/targets/{target}", roles: [V, O, A], tag: "targets", summary: "One target with its health" },
  { method: "patch", path: "/targets/{target}", roles: [A], tag: "targets", summary: "Change policy, enabled, or config fields (merged)", body: { policy: "fields to change", enabled: "false disables", config: "fields to change; null removes one" } },
  { method: "post", path: "/targets/{target}/test", roles: [A, O], tag: "targets", summary: "Validate credentials and find one person's account, writing nothing", body: { userName: "the person to look up" } },
  { method: "get", path: "/people", roles: [V, O], tag: "people", summary: "Find people: userName prefix, exact email or externalId", query: { "q*": "the text", connection: "one connection", limit: "1–100, Default 20" } },
  { method: "get", path: "/connections/{connection}/subjects/{userName}/operations", roles: [V, O], tag: "people", summary: "A person's operations, per target: state, steps, last error, next attempt, evidence, timeline" },
  { method: "get", path: "/escalations", roles: [V, O], tag: "tasks", summary: "Open escalations, oldest first", query: { connection: "one connection" } },
  { method: "get", path: "/events", roles: [V, O], tag: "operations", summary: "Server-sent events: each task change (read with fetch and the Authorization header)", produces: "text/event-stream" },
  { method: "get", path: "/operations", roles: [V, O], tag: "operations", summary: "Operations held by the guard", query: { "status*": "held", connection: "one connection" } },
  { method: "get", path: "/operations/{operation}", roles: [V, O], tag: "operations", summary: "One operation with its tasks and their timelines" },
  { method: "post", path: "/operations/{operation}/retry", roles: [O], tag: "operations", summary: "Run its open tasks now", body: { note: "why" } },
  { method: "post", path: "/operations/{operation}/approve", roles: [O], tag: "operations", summary: "Release a held operation", body: { note: "why" } },
  { method: "post", path: "/operations/{operation}/reject", roles: [O], tag: "operations", summary: "Reject a held operation: nothing is done", body: { note: "why" } },
  { method: "post", path: "/operations/{operation}/cancel", roles: [O], tag: "operations", summary: "Cancel its open tasks", body: { note: "why" } },
  { method: "post", path: "/connections/{connection}/held/{decision}", roles: [O], tag: "operations", summary: "Approve or reject every held operation of a connection (decision: approve | reject)", body: { note: "why" } },
  { method: "get", path: "/operations/{operation}/receipt", roles: [V, O], tag: "receipts", summary: "The signed receipt (compact JWS) of a completed operation", produces: "application/jose" },
  { method: "post", path: "/receipt-keys/rotate", roles: [], tag: "receipts", summary: "A new receipt signing key; the old one is retired and stays in /.well-known/jwks.json" },
  { method: "post", path: "/tasks/{task}/retry", roles: [O], tag: "tasks", summary: "Run one task now" },
  { method: "post", path: "/tasks/{task}/resolve", roles: [O], tag: "tasks", summary: "Close an escalation with what a person did", body: { "note*": "what was done" } },
  { method: "get", path: "/audit", roles: [O], tag: "audit", summary: "A page of the hash-chained audit log", query: { since: "an ISO time or a seq", limit: "page size" } },
  { method: "get", path: "/audit/export", roles: [O], tag: "audit", summary: "The audit log as NDJSON, streamed", query: { since: "an ISO time or a seq" }, produces: "application/x-ndjson" },
  { method: "get", path: "/audit/verify", roles: [O], tag: "audit", summary: "Check the whole chain; the first broken link if any" },
];

const fields = (spec: Record<string, string>) => Object.entries(spec).map(([name, description]) => ({ name: name.replace(/\*$/, ""), description, required: name.endsWith("*") }));

/** The OpenAPI 3.1 document of the admin API. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ADMIN_API) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const query = fields(r.query ?? {}).map((f) => ({ name: f.name, in: "query", required: f.required, description: f.description, schema: { type: "string" } }));
    const body = r.body && {
      required: fields(r.body).some((f) => f.required),
      content: {
        "application/json": {
          schema: {
            type: "object",
            properties: Object.fromEntries(fields(r.body).map((f) => [f.name, { description: f.description }])),
            required: fields(r.body).filter((f) => f.required).map((f) => f.name),
          },
        },
      },
    };
    (paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      tags: [r.tag],
      "x-roles": ["admin", ...r.roles],
      description: `Roles: ${["admin", ...r.roles].join(", ")}.`,
      parameters: [...params, ...query],
      ...(body ? { requestBody: body } : {}),
      responses: {
        "2XX": { description: "Success", content: { [r.produces ?? "application/json"]: {} } },
        "400": { $ref: "#/components/responses/Error" },
        "401": { $ref: "#/components/responses/Error" },
        "403": { $ref: "#/components/responses/Error" },
        "404": { $ref: "#/components/responses/Error" },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "scim-bridge admin API", version, description: "For support staff (viewer), operators, app owners and admins. Every route names the roles it allows; admin may do everything." },
    servers: [{ url: "/admin/api" }],
    security: [{ adminToken: [] }],
    paths,
    components: {
      securitySchemes: { adminToken: { type: "http", scheme: "bearer", description: "An admin token (scba_…): scim-bridge admin-token create" } },
      responses: {
        Error: {
          description: "What went wrong and what to do next",
          content: { "application/json": { schema: { type: "object", properties: { error: { type: "object", properties: { status: { type: "integer" }, message: { type: "string" }, hint: { type: "string" }, problems: { type: "array", items: { type: "string" } } }, required: ["status", "message"] } } } } },
        },
      },
    },
  };
}
