/**
 * A small, in-process fake of the Microsoft identity platform token endpoint and the Microsoft
 * Graph v1.0 calls the `microsoft-graph` connector makes, on node:http, following the documented
 * request and response shapes (targets-reference.md §4 and §13). No jest here: the bench reuses it.
 *
 * Switches for tests: `throttleNext(seconds)` (Graph's 429 + Retry-After), `unavailableNext`
 * (503 + Retry-After), `lagNext(n)` (the next n user reads answer 404: Entra replication lag,
 * MSG-EC), `expireTokens()`, a dynamic group (400 on member removal), the write counter and the
 * request log. Bearer tokens are opaque, issued by the token endpoint, checked on every Graph call.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes, randomUUID } from "node:crypto";

export interface FakeUser {
  id: string;
  userPrincipalName: string;
  mail: string | null;
  displayName: string;
  accountEnabled: boolean;
  userType: "Member" | "Guest";
  signInSessionsValidFromDateTime: string;
}
export interface FakeGroup { id: string; displayName: string; members: Set<string>; dynamic: boolean }
export interface FakeAssignment { id: string; principalId: string; resourceId: string; appRoleId: string; resourceDisplayName: string; createdDateTime: string }
export interface SeenRequest { method: string; path: string; query: string; status: number }

export interface GraphFake {
  /** `http://127.0.0.1:N` : the authorityUrl (the token endpoint is `/{tenant}/oauth2/v2.0/token`). */
  authorityUrl: string;
  /** `http://127.0.0.1:N/v1.0`: the graphUrl. */
  graphUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  users: Map<string, FakeUser>;
  deleted: Map<string, FakeUser & { deletedDateTime: string }>;
  groups: Map<string, FakeGroup>;
  assignments: Map<string, FakeAssignment>;
  createUser(u: { userPrincipalName: string; mail?: string | null; displayName?: string }): FakeUser;
  createGroup(displayName: string, options?: { dynamic?: boolean }): FakeGroup;
  addMember(groupId: string, userId: string): void;
  /** An app role assignment of the user to a resource service principal. */
  assignAppRole(userId: string, resourceId?: string): FakeAssignment;
  /** Graph writes served (POST, PATCH, DELETE under /v1.0), whatever their answer; the token endpoint not counted. */
  writes(): number;
  tokenRequests(): number;
  requests: SeenRequest[];
  throttleNext(retryAfterSeconds: number): void;
  unavailableNext(retryAfterSeconds: number): void;
  lagNext(reads: number): void;
  expireTokens(): void;
  /** Members per memberOf page (Default: 100; small to exercise @odata.nextLink). */
  pageSize: number;
  close(): Promise<void>;
}

const DEFAULT_USER_PROPERTIES = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"];

class Answer {
  constructor(readonly status: number, readonly body?: unknown, readonly headers: Record<string, string> = {}) {}
}
/** Graph's error body: `{"error": {"code", "message", "innerError"}}` (Graph docs, "Microsoft Graph error responses", learn.microsoft.com/graph/errors). */
const graphError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  new Answer(status, { error: { code, message, innerError: { date: new Date().toISOString(), "request-id": randomUUID(), "client-request-id": randomUUID() } } }, headers);
const notFound = (id: string) => graphError(404, "Request_ResourceNotFound", `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);

export async function startGraphFake(options: { tenantId?: string; clientId?: string; clientSecret?: string; tokenLifetimeSeconds?: number } = {}): Promise<GraphFake> {
  const tenantId = options.tenantId ?? randomUUID();
  const clientId = options.clientId ?? randomUUID();
  const clientSecret = options.clientSecret ?? `fake~${randomBytes(16).toString("base64url")}`;
  const issued = new Map<string, number>();
  const users = new Map<string, FakeUser>();
  const deleted = new Map<string, FakeUser & { deletedDateTime: string }>();
  const groups = new Map<string, FakeGroup>();
  const assignments = new Map<string, FakeAssignment>();
  const requests: SeenRequest[] = [];
  let writes = 0;
  let tokenRequests = 0;
  let throttle: number | null = null;
  let unavailable: number | null = null;
  let lag = 0;
  let origin = "";

  const select = (object: Record<string, unknown>, query: URLSearchParams, defaults: string[]) => {
    const wanted = query.get("$select")?.split(",").map((s) => s.trim()).filter(Boolean) ?? defaults;
    return Object.fromEntries(wanted.filter((k) => k in object).map((k) => [k, object[k]]));
  };
  const userJson = (u: FakeUser) => ({ ...u } as unknown as Record<string, unknown>);

  function token(body: URLSearchParams, tenant: string): Answer {
    tokenRequests++;
    // Microsoft identity platform, client credentials grant (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow)
    const oauth = (status: number, error: string, code: number, description: string) => new Answer(status, { error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], timestamp: new Date().toISOString(), trace_id: randomUUID(), correlation_id: randomUUID() });
    if (tenant !== tenantId) return oauth(400, "invalid_request", 90002, `Tenant '${tenant}' not found.`);
    if (body.get("grant_type") !== "client_credentials") return oauth(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
    if (body.get("client_id") !== clientId) return oauth(400, "unauthorized_client", 700016, "Application was not found in the directory.");
    if (body.get("client_secret") !== clientSecret) return oauth(401, "invalid_client", 7000215, "Invalid client secret provided.");
    if (body.get("scope") !== `${origin}/.default`) return oauth(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid.");
    const access = `fake-at-${randomBytes(24).toString("base64url")}`;
    const lifetime = options.tokenLifetimeSeconds ?? 3599;
    issued.set(access, Date.now() + lifetime * 1000);
    return new Answer(200, { token_type: "Bearer", expires_in: lifetime, ext_expires_in: lifetime, access_token: access });
  }

  function graph(method: string, segments: string[], query: URLSearchParams, body: unknown): Answer {
    const [collection, id, sub, subId, ref] = segments;
    if (collection === "users" && id === undefined && method === "GET") {
      // GET /users?$filter=…&$select=… (learn.microsoft.com/graph/api/user-list)
      let list = [...users.values()];
      const filter = query.get("$filter");
      if (filter !== null) {
        const m = /^(userPrincipalName|mail) eq '((?:[^']|'')*)'$/.exec(filter);
        if (!m) return graphError(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property.");
        const value = m[2]!.replace(/''/g, "'").toLowerCase();
        list = list.filter((u) => (u[m[1] as "mail"] ?? "").toLowerCase() === value);
      }
      const top = Number(query.get("$top") ?? 100);
      return new Answer(200, { "@odata.context": `${origin}/v1.0/$metadata#users`, value: list.slice(0, top).map((u) => select(userJson(u), query, DEFAULT_USER_PROPERTIES)) });
    }
    if (collection === "users" && id !== undefined) {
      const user = users.get(id);
      if (sub === undefined) {
        if (method === "GET") {
          // GET /users/{id}?$select= (learn.microsoft.com/graph/api/user-get); accountEnabled only on $select (MSG-USER)
          if (lag > 0) {
            lag--;
            return notFound(id);
          }
          return user ? new Answer(200, { "@odata.context": `${origin}/v1.0/$metadata#users/$entity`, ...select(userJson(user), query, DEFAULT_USER_PROPERTIES) }) : notFound(id);
        }
        if (method === "PATCH") {
          // PATCH /users/{id} → 204 (MSG-UPDATE)
          if (!user) return notFound(id);
          const b = body as Record<string, unknown>;
          if (typeof b?.accountEnabled === "boolean") user.accountEnabled = b.accountEnabled;
          return new Answer(204);
        }
        if (method === "DELETE") {
          // DELETE /users/{id} → 204; the user moves to deleted items for 30 days (user-delete; directory-deleteditems-get)
          if (!user) return notFound(id);
          removeUser(id);
          deleted.set(id, { ...user, deletedDateTime: new Date().toISOString() });
          return new Answer(204);
        }
      }
      if (!user) return notFound(id);
      if (sub === "revokeSignInSessions" && method === "POST") {
        // POST /users/{id}/revokeSignInSessions → 200 {"value": true} (MSG-REVOKE, MSG-KNOWN: 200, not the documented 204)
        user.signInSessionsValidFromDateTime = new Date().toISOString();
        return new Answer(200, { "@odata.context": `${origin}/v1.0/$metadata#Edm.Boolean`, value: true });
      }
      if (sub === "memberOf" && method === "GET" && (subId === undefined || subId === "microsoft.graph.group")) {
        // GET /users/{id}/memberOf[/microsoft.graph.group], paged with @odata.nextLink (user-list-memberof; MSG-USERS-OVERVIEW)
        const all = [...groups.values()].filter((g) => g.members.has(id)).sort((a, b) => a.id.localeCompare(b.id));
        const skip = Number(query.get("$skiptoken") ?? 0);
        const page = all.slice(skip, skip + fake.pageSize);
        const next = skip + fake.pageSize < all.length ? { "@odata.nextLink": `${origin}/v1.0/users/${id}/memberOf${subId ? `/${subId}` : ""}?$skiptoken=${skip + fake.pageSize}` } : {};
        return new Answer(200, { value: page.map((g) => ({ "@odata.type": "#microsoft.graph.group", ...select({ id: g.id, displayName: g.displayName }, query, ["id", "displayName"]) })), ...next });
      }
      if (sub === "appRoleAssignments" && method === "GET" && subId === undefined) {
        // GET /users/{id}/appRoleAssignments (user-list-approleassignments)
        return new Answer(200, { value: [...assignments.values()].filter((a) => a.principalId === id).map((a) => ({ ...a, principalType: "User" })) });
      }
    }
    if (collection === "groups" && id !== undefined && sub === "members" && subId !== undefined && method === "DELETE") {
      const group = groups.get(id);
      if (!group) return notFound(id);
      // a dynamic group's members cannot be edited (MSG-GRPDEL); observed answer: 403 Authorization_RequestDenied (microsoft-graph-docs#14806)
      if (group.dynamic) return graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
      if (ref === "$ref") {
        // DELETE /groups/{id}/members/{memberId}/$ref → 204 (MSG-GRPDEL)
        if (!group.members.has(subId)) return notFound(subId);
        group.members.delete(subId);
        return new Answer(204);
      }
      if (ref === undefined) {
        // the trap (MSG-GRPDEL): without /$ref, an app allowed to write users deletes the member object itself
        const user = users.get(subId);
        if (!user || !group.members.has(subId)) return notFound(subId);
        removeUser(subId);
        deleted.set(subId, { ...user, deletedDateTime: new Date().toISOString() });
        return new Answer(204);
      }
    }
    if (collection === "servicePrincipals" && id !== undefined && sub === "appRoleAssignedTo" && subId !== undefined && method === "DELETE") {
      // DELETE /servicePrincipals/{id}/appRoleAssignedTo/{appRoleAssignment-id} → 204 (MSG-APPROLE)
      const a = assignments.get(subId);
      if (!a || a.resourceId !== id) return notFound(subId);
      assignments.delete(subId);
      return new Answer(204);
    }
    if (collection === "directory" && id === "deletedItems" && sub !== undefined && method === "GET") {
      // GET /directory/deletedItems/{id} (directory-deleteditems-get)
      const d = deleted.get(sub);
      return d ? new Answer(200, { "@odata.type": "#microsoft.graph.user", ...select(d as unknown as Record<string, unknown>, query, [...DEFAULT_USER_PROPERTIES, "deletedDateTime"]) }) : notFound(sub);
    }
    return graphError(400, "BadRequest", `Resource not found for the segment '${segments.join("/")}'.`);
  }

  function removeUser(id: string) {
    users.delete(id);
    for (const g of groups.values()) g.members.delete(id);
    for (const [aid, a] of assignments) if (a.principalId === id) assignments.delete(aid);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://graph-fake");
    const method = req.method ?? "GET";
    const seen: SeenRequest = { method, path: url.pathname, query: url.search, status: 0 };
    requests.push(seen);
    const send = (a: Answer) => {
      seen.status = a.status;
      const text = a.body === undefined ? "" : JSON.stringify(a.body);
      res.writeHead(a.status, { ...(text ? { "content-type": "application/json; odata.metadata=minimal" } : {}), ...a.headers });
      res.end(text);
    };
    readBody(req).then((raw) => {
      const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
      if (tokenPath && method === "POST") {
        if ((req.headers["content-type"] ?? "").split(";")[0] !== "application/x-www-form-urlencoded") return send(new Answer(400, { error: "invalid_request", error_description: "AADSTS900144: The request body must contain the following parameter: 'grant_type'.", error_codes: [900144] }));
        return send(token(new URLSearchParams(raw), decodeURIComponent(tokenPath[1]!)));
      }
      if (!url.pathname.startsWith("/v1.0/")) return send(graphError(404, "NotFound", "no such endpoint"));
      if (method !== "GET") writes++;
      // throttling: 429 + Retry-After seconds (MSG-THROTTLE); 503 + Retry-After under load
      if (throttle !== null) {
        const s = throttle;
        throttle = null;
        return send(graphError(429, "TooManyRequests", "Too many requests.", { "retry-after": String(s) }));
      }
      if (unavailable !== null) {
        const s = unavailable;
        unavailable = null;
        return send(graphError(503, "serviceNotAvailable", "The service is temporarily unavailable.", { "retry-after": String(s) }));
      }
      const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
      const expiry = auth ? issued.get(auth[1]!) : undefined;
      if (!auth) return send(graphError(401, "InvalidAuthenticationToken", "Access token is empty."));
      if (expiry === undefined || expiry < Date.now()) return send(graphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.", { "www-authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"' }));
      let body: unknown;
      if (raw !== "") {
        try {
          body = JSON.parse(raw);
        } catch {
          return send(graphError(400, "BadRequest", "Unable to read JSON request payload."));
        }
      }
      const segments = url.pathname.slice("/v1.0/".length).split("/").map((s) => decodeURIComponent(s));
      return send(graph(method, segments, url.searchParams, body));
    }).catch((error: unknown) => send(graphError(500, "InternalServerError", String(error))));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: GraphFake = {
    authorityUrl: origin,
    graphUrl: `${origin}/v1.0`,
    tenantId, clientId, clientSecret,
    users, deleted, groups, assignments,
    createUser(u) {
      const user: FakeUser = { id: randomUUID(), userPrincipalName: u.userPrincipalName, mail: u.mail === undefined ? u.userPrincipalName : u.mail, displayName: u.displayName ?? u.userPrincipalName, accountEnabled: true, userType: "Member", signInSessionsValidFromDateTime: new Date(Date.now() - 86_400_000).toISOString() };
      users.set(user.id, user);
      return user;
    },
    createGroup(displayName, o = {}) {
      const group: FakeGroup = { id: randomUUID(), displayName, members: new Set(), dynamic: o.dynamic ?? false };
      groups.set(group.id, group);
      return group;
    },
    addMember(groupId, userId) {
      groups.get(groupId)!.members.add(userId);
    },
    assignAppRole(userId, resourceId = randomUUID()) {
      const a: FakeAssignment = { id: randomBytes(24).toString("base64url"), principalId: userId, resourceId, appRoleId: "00000000-0000-0000-0000-000000000000", resourceDisplayName: "Fake App", createdDateTime: new Date().toISOString() };
      assignments.set(a.id, a);
      return a;
    },
    writes: () => writes,
    tokenRequests: () => tokenRequests,
    requests,
    throttleNext: (s) => void (throttle = s),
    unavailableNext: (s) => void (unavailable = s),
    lagNext: (n) => void (lag = n),
    expireTokens: () => issued.clear(),
    pageSize: 100,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
  return fake;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
