/**
 * A second fake REST API with another shape, for the http kind's second example
 * (`connectors/http/examples/members-api.yaml`): an API key header, lookups that answer lists,
 * deactivation by PATCH, roles as entitlements, and a quota error that is a 403. node:http only,
 * in-process; no jest (the connector bench may reuse it).
 *
 *   GET    /api/v2/me                           → 200 {data: {key}}
 *   GET    /api/v2/members?email=a@x            → 200 {data: [Member…]} (emails compared lower-cased) | 400 without email
 *   GET    /api/v2/members/:id                  → 200 {data: Member} | 404
 *   PATCH  /api/v2/members/:id  {status}        → 200 {data: Member} | 409 already_disabled | 422 bad status | 404
 *   POST   /api/v2/members/:id/sessions/revoke  → 202 {} (sessions are not shown anywhere) | 404
 *   DELETE /api/v2/members/:id/roles/:role      → 204 | 404 {error: {code: "not_found"}}
 *   DELETE /api/v2/members/:id                  → 204 | 404
 * A wrong or missing `x-api-key` → 401. Errors are `{error: {code, message}}`.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Subject } from "../../../src/connector-kit.js";
import type { ConformancePeer } from "../conformance-peer.js";
import { readTargetFile, type HttpTargetConfig } from "./rest-peer.js";

export interface Member {
  id: string;
  email: string;
  name: string;
  status: "active" | "invited" | "disabled" | "suspended";
  roles: string[];
  employeeNumber?: string;
}

/** A request as the fake received it, for tests that check what was sent. */
export interface ReceivedRequest {
  method: string;
  /** The raw path, still percent-encoded, without the query. */
  rawPath: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ListApi {
  /** `http://127.0.0.1:NNNN/api/v2`: the baseUrl a target takes. */
  baseUrl: string;
  apiKey: string;
  members: Map<string, Member>;
  received: ReceivedRequest[];
  /** Adds a member (active, no roles unless given); answers it. */
  seed(member: Partial<Member> & { email: string }): Member;
  /** The next request is answered with this reply instead of being served. */
  answerNext(reply: Reply): void;
  /** Requests other than GET received so far. */
  writes(): number;
  close(): Promise<void>;
}

const error = (status: number, code: string, message = code): Reply => ({ status, body: { error: { code, message } } });

export async function startListApi(apiKey = `key-${Math.random().toString(36).slice(2)}`): Promise<ListApi> {
  const members = new Map<string, Member>();
  const received: ReceivedRequest[] = [];
  const queued: Reply[] = [];
  let next = 1;

  function serve(req: ReceivedRequest): Reply {
    if (req.headers["x-api-key"] !== apiKey) return error(401, "unauthorized", "invalid API key");
    const segments = req.rawPath.split("/").slice(1).map(decodeURIComponent);
    const [api, version, resource, id, sub, item, ...rest] = segments;
    if (api !== "api" || version !== "v2" || rest.length > 0) return error(404, "no_route");
    if (resource === "me" && id === undefined && req.method === "GET") return { status: 200, body: { data: { key: apiKey.slice(0, 4) + "…" } } };
    if (resource !== "members") return error(404, "no_route");
    if (id === undefined) {
      if (req.method !== "GET") return error(405, "method_not_allowed");
      const email = req.query.email;
      if (!email) return error(400, "email_required");
      return { status: 200, body: { data: [...members.values()].filter((m) => m.email.toLowerCase() === email.toLowerCase()) } };
    }
    const member = members.get(id);
    if (sub === undefined) {
      if (!member) return error(404, "not_found", "no such member");
      if (req.method === "GET") return { status: 200, body: { data: member } };
      if (req.method === "DELETE") {
        members.delete(id);
        return { status: 204 };
      }
      if (req.method === "PATCH") {
        const status = (req.body as { status?: unknown } | null)?.status;
        if (status !== "disabled" && status !== "active") return error(422, "invalid_status", "status must be active or disabled");
        if (status === "disabled" && member.status === "disabled") return error(409, "already_disabled", "the member is disabled already");
        member.status = status;
        return { status: 200, body: { data: member } };
      }
      return error(405, "method_not_allowed");
    }
    if (sub === "sessions" && item === "revoke" && req.method === "POST") return member ? { status: 202, body: {} } : error(404, "not_found");
    if (sub === "roles" && item !== undefined && req.method === "DELETE") {
      const at = member?.roles.indexOf(item) ?? -1;
      if (!member || at < 0) return error(404, "not_found", "no such member or role");
      member.roles.splice(at, 1);
      return { status: 204 };
    }
    return error(404, "no_route");
  }

  const server: Server = createServer((req, res) => {
    void read(req).then((body) => {
      const url = new URL(req.url ?? "/", "http://list-api");
      const request: ReceivedRequest = {
        method: req.method ?? "GET",
        rawPath: (req.url ?? "/").split("?")[0]!,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
      };
      received.push(request);
      let reply: Reply;
      try {
        reply = queued.shift() ?? serve(request);
      } catch {
        reply = error(400, "malformed_request");
      }
      const text = reply.body === undefined ? undefined : JSON.stringify(reply.body);
      res.writeHead(reply.status, { ...(text ? { "content-type": "application/json" } : {}), ...reply.headers }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v2`,
    apiKey,
    members,
    received,
    seed(input) {
      const member: Member = { id: `m_${next++}`, name: input.email.split("@")[0]!, status: "active", roles: [], ...input };
      members.set(member.id, member);
      return member;
    },
    answerNext: (reply) => void queued.push(reply),
    writes: () => received.filter((r) => r.method !== "GET").length,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function read(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export interface ListApiPeer extends ConformancePeer<HttpTargetConfig> {
  api: ListApi;
}

/** The list API adapted to `ConformancePeer`, with `connectors/http/examples/members-api.yaml` as the config. */
export async function listApiPeer(): Promise<ListApiPeer> {
  const api = await startListApi();
  const { config: example } = readTargetFile("members-api.yaml");
  const config: HttpTargetConfig = { ...example, baseUrl: api.baseUrl, secrets: { ...example.secrets, apiKey: api.apiKey } };
  return {
    api,
    config,
    badCredentials: { ...config, secrets: { ...config.secrets, apiKey: "not-the-key" } },
    entitlement: "billing-admin",
    otherEntitlement: "viewer",
    deletes: true,
    async seedAccount({ userName, entitlements = [] }): Promise<Subject> {
      const email = userName.toLowerCase();
      api.seed({ email, roles: [...entitlements] });
      return { connectionId: "conformance", id: `subject-${userName}`, userName, emails: [email] };
    },
    writes: async () => api.writes(),
    async throttleNext(retryAfterSeconds) {
      api.answerNext({ status: 429, body: { error: { code: "too_many_requests" } }, headers: { "retry-after": String(retryAfterSeconds) } });
    },
    close: () => api.close(),
  };
}
