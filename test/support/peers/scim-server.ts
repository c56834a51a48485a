/**
 * An independent, small SCIM 2.0 service provider for connector tests and the bench, written from
 * RFC 7643/7644 on node:http (none of the bridge's SCIM code, no SCIMMY). Under `/scim/v2`:
 *
 *   GET    /ServiceProviderConfig                     RFC 7643 §5 (patch.supported follows patchSupport)
 *   GET    /Users?filter=&startIndex=&count=&attributes=&excludedAttributes=   ListResponse
 *   POST   /Users                                      201, 409 uniqueness on a taken userName
 *   GET    /Users/:id   PUT /Users/:id   PATCH /Users/:id   DELETE /Users/:id (204)
 *   the same for /Groups (members are {value: <user id>})
 *
 * Bearer token (or HTTP Basic when configured), else 401. Bodies are `application/scim+json` out;
 * both `application/scim+json` and `application/json` are read. Errors are SCIM error bodies
 * (RFC 7644 §3.12). ETags are weak versions (`W/"3"`), honoured in If-Match (412 when stale).
 * The switchable behaviours (`ScimBehaviour`), `throttleNext` and the write counter are for tests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { ScimProblem } from "./scim-errors.js";
import { DEFAULT_BEHAVIOUR, GROUP_SCHEMA, project, ScimStore, USER_SCHEMA, type Json, type ResourceType, type ScimBehaviour } from "./scim-store.js";

export { DEFAULT_BEHAVIOUR, type ScimBehaviour } from "./scim-store.js";

export interface ScimServerOptions {
  /** The bearer token it accepts (Default: a random one). */
  token?: string;
  /** Also (or instead, with `token: null`) accept HTTP Basic with these credentials. */
  basic?: { username: string; password: string };
  behaviour?: Partial<ScimBehaviour>;
  host?: string;
  port?: number;
}

/** One request as the server saw it, for tests that assert what a connector sent. */
export interface SeenRequest {
  method: string;
  /** The path under the SCIM base, e.g. `/Users/9f…`; the query string apart. */
  path: string;
  query: string;
  /** The If-Match header, when sent. */
  ifMatch?: string;
  body: unknown;
  status: number;
}

export interface ScimServer {
  /** `http://127.0.0.1:NNNN/scim/v2`: the base a connector's config names. */
  baseUrl: string;
  token: string;
  store: ScimStore;
  behaviour: ScimBehaviour;
  setBehaviour(change: Partial<ScimBehaviour>): void;
  /** Seeds a user directly (no request counted); returns its resource. */
  createUser(user: { userName: string; externalId?: string; emails?: string[]; active?: boolean; displayName?: string }): Json;
  createGroup(displayName: string, memberIds?: string[]): Json;
  addMember(groupId: string, userId: string): void;
  /** The current state, bypassing lag and projections; undefined when gone. */
  user(id: string): Json | undefined;
  group(id: string): Json | undefined;
  /** Mutating requests received (POST, PUT, PATCH, DELETE), whatever their answer. */
  writes(): number;
  /** Requests received, oldest first. */
  requests: SeenRequest[];
  /** The next request is answered 429 with `Retry-After: <seconds>`. */
  throttleNext(retryAfterSeconds: number): void;
  close(): Promise<void>;
}

const BASE = "/scim/v2";
const MAX_BODY_BYTES = 1_000_000;

export async function startScimServer(options: ScimServerOptions = {}): Promise<ScimServer> {
  const token = options.token ?? `scim-peer-${randomBytes(12).toString("hex")}`;
  const behaviour: ScimBehaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour };
  let origin = "";
  const store = new ScimStore((path) => `${origin}${BASE}${path}`, behaviour);
  const requests: SeenRequest[] = [];
  let writes = 0;
  let throttle: number | null = null;

  const authorized = (req: IncomingMessage) => {
    const header = req.headers.authorization ?? "";
    if (header === `Bearer ${token}`) return true;
    if (!options.basic) return false;
    const expected = `Basic ${Buffer.from(`${options.basic.username}:${options.basic.password}`).toString("base64")}`;
    return header === expected;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://scim-peer");
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD") writes++;
    const ifMatch = req.headers["if-match"];
    const seen: SeenRequest = {
      method,
      path: url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) : url.pathname,
      query: url.search,
      ...(typeof ifMatch === "string" ? { ifMatch } : {}),
      body: undefined,
      status: 0,
    };
    requests.push(seen);
    if (requests.length > 2_000) requests.shift();
    const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      seen.status = status;
      const text = body === undefined ? "" : JSON.stringify(body);
      res.writeHead(status, { ...(text ? { "content-type": "application/scim+json; charset=utf-8" } : {}), ...headers });
      res.end(text);
    };
    readBody(req)
      .then((body) => {
        seen.body = body;
        if (throttle !== null) {
          const seconds = throttle;
          throttle = null;
          throw new ScimProblem(429, "too many requests", undefined, { "retry-after": String(seconds) });
        }
        if (!authorized(req)) throw new ScimProblem(401, "authorization failed", undefined, { "www-authenticate": 'Bearer realm="scim-peer"' });
        return route(store, behaviour, method, url, body, req.headers["if-match"]);
      })
      .then((answer) => reply(answer.status, answer.body, answer.headers))
      .catch((error: unknown) => {
        const problem = error instanceof ScimProblem ? error : new ScimProblem(500, `internal error: ${String(error)}`);
        reply(problem.status, problem.body(), problem.headers);
      });
  });

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  origin = `http://${host}:${(server.address() as AddressInfo).port}`;

  const seedUser: ScimServer["createUser"] = (u) => store.create("Users", {
    schemas: [USER_SCHEMA],
    userName: u.userName,
    ...(u.externalId !== undefined ? { externalId: u.externalId } : {}),
    ...(u.displayName !== undefined ? { displayName: u.displayName } : {}),
    ...(u.emails ? { emails: u.emails.map((value, i) => ({ value, type: "work", primary: i === 0 })) } : {}),
    active: u.active ?? true,
  });

  return {
    baseUrl: `${origin}${BASE}`,
    token,
    store,
    behaviour,
    setBehaviour: (change) => void Object.assign(behaviour, change),
    createUser: seedUser,
    createGroup: (displayName, memberIds = []) => store.create("Groups", { schemas: [GROUP_SCHEMA], displayName, members: memberIds.map((value) => ({ value })) }),
    addMember(groupId, userId) {
      const g = store.get("Groups", groupId);
      const members = Array.isArray(g.data.members) ? (g.data.members as Json[]) : [];
      if (!members.some((m) => m.value === userId)) g.data.members = [...members, { value: userId }];
      g.version++;
    },
    user: (id) => (store.users.has(id) ? store.render("Users", store.get("Users", id)) : undefined),
    group: (id) => (store.groups.has(id) ? { ...store.render("Groups", store.get("Groups", id)), members: store.get("Groups", id).data.members ?? [] } : undefined),
    writes: () => writes,
    requests,
    throttleNext: (seconds) => void (throttle = seconds),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ScimProblem(413, "the body is too large");
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/scim+json" && type !== "application/json") throw new ScimProblem(415, "send application/scim+json (or application/json)");
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new ScimProblem(400, "the body is not JSON", "invalidSyntax");
  }
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const etag = (resource: Json) => ({ etag: String((resource.meta as Json | undefined)?.version ?? "") });

function serviceProviderConfig(behaviour: ScimBehaviour): Json {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    patch: { supported: behaviour.patchSupport !== "none" },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: 200 },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [{ type: "oauthbearertoken", name: "OAuth Bearer Token", description: "Authentication with a bearer token" }],
  };
}

/** PATCH as the behaviour allows it, before the RFC rules apply. */
function checkPatchSupport(behaviour: ScimBehaviour, body: unknown): void {
  if (behaviour.patchSupport === "none") throw new ScimProblem(501, "PATCH is not implemented");
  const operations = (body as { Operations?: unknown } | undefined)?.Operations;
  if (!Array.isArray(operations)) return;
  const withPath = operations.some((o) => typeof (o as Json)?.path === "string" && (o as Json).path !== "");
  const withoutPath = operations.some((o) => !(typeof (o as Json)?.path === "string" && (o as Json).path !== ""));
  if (behaviour.patchSupport === "no-path-only" && withPath) throw new ScimProblem(400, "operations with a path are not supported", "invalidPath");
  if (behaviour.patchSupport === "path-only" && withoutPath) throw new ScimProblem(500, "Unsupported attribute: null");
}

async function route(store: ScimStore, behaviour: ScimBehaviour, method: string, url: URL, body: unknown, ifMatchHeader: string | string[] | undefined): Promise<Answer> {
  if (!url.pathname.startsWith(`${BASE}/`)) throw new ScimProblem(404, `no such endpoint ${url.pathname}`);
  const segments = url.pathname.slice(BASE.length + 1).split("/").map((s) => decodeURIComponent(s));
  const ifMatch = Array.isArray(ifMatchHeader) ? ifMatchHeader[0] : ifMatchHeader;
  const [resource, id, extra] = segments;
  if (resource === "ServiceProviderConfig" && id === undefined && method === "GET") return { status: 200, body: serviceProviderConfig(behaviour) };
  if ((resource !== "Users" && resource !== "Groups") || extra !== undefined) throw new ScimProblem(404, `no such endpoint ${url.pathname}`);
  const type: ResourceType = resource;

  if (id === undefined || id === "") {
    if (method === "GET") return { status: 200, body: store.list(type, url.searchParams) };
    if (method === "POST") {
      const created = store.create(type, body);
      return { status: 201, body: created, headers: { ...etag(created), location: String((created.meta as Json).location) } };
    }
    throw new ScimProblem(405, `${method} is not allowed on /${type}`);
  }

  switch (method) {
    case "GET": {
      const found = store.read(type, id);
      return { status: 200, body: project(found, url.searchParams), headers: etag(found) };
    }
    case "PUT": {
      const saved = store.replace(type, id, body, ifMatch);
      return { status: 200, body: saved, headers: etag(saved) };
    }
    case "PATCH": {
      store.get(type, id);
      checkPatchSupport(behaviour, body);
      const saved = store.patch(type, id, body, ifMatch);
      return { status: 200, body: saved, headers: etag(saved) };
    }
    case "DELETE":
      store.remove(type, id, ifMatch);
      return { status: 204 };
    default:
      throw new ScimProblem(405, `${method} is not allowed on /${type}/:id`);
  }
}

