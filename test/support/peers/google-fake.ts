/**
 * An in-process fake of Google's OAuth token endpoint and the Admin SDK Directory API routes the
 * google-workspace connector uses, following the documented shapes (targets-reference §3; `G-DISC`
 * = the Directory discovery document, googleapis/google-api-go-client admin/directory/v1/admin-api.json).
 * Auth as Google does it: a service account's RS256 JWT assertion exchanged for a bearer token,
 * checked for a delegated client, a known admin `sub` and authorised scopes; Admin calls need
 * the bearer and the call's scope. No jest here: the connector bench can reuse it.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey } from "jose";

const AUTH = "https://www.googleapis.com/auth/";
const S = {
  user: `${AUTH}admin.directory.user`,
  userRead: `${AUTH}admin.directory.user.readonly`,
  security: `${AUTH}admin.directory.user.security`,
  group: `${AUTH}admin.directory.group`,
  groupRead: `${AUTH}admin.directory.group.readonly`,
  member: `${AUTH}admin.directory.group.member`,
  memberRead: `${AUTH}admin.directory.group.member.readonly`,
};

export interface FakeUser {
  id: string;
  primaryEmail: string;
  aliases: string[];
  suspended: boolean;
  /** clientId → token */
  tokens: Map<string, { clientId: string; displayText: string; scopes: string[] }>;
  asps: Map<number, { codeId: number; name: string }>;
  codes: string[];
  signOuts: number;
}

interface FakeGroup {
  id: string;
  email: string;
  name: string;
  /** member ids: users' ids or other groups' ids (nested) */
  members: Set<string>;
}

export interface GoogleFakeOptions {
  /** Scopes the Admin console authorised for the service account's client id (Default: the connector's four). */
  delegatedScopes?: string[];
}

export interface GoogleFake {
  tokenUri: string;
  baseUrl: string;
  clientEmail: string;
  privateKey: string;
  adminEmail: string;
  /** Another key, not registered for the service account: its assertions get invalid_grant. */
  otherPrivateKey: string;
  createUser(primaryEmail: string, options?: { aliases?: string[]; tokens?: number; asps?: number; codes?: number }): FakeUser;
  createGroup(email: string): FakeGroup;
  /** Adds a user or a group (nested) to a group. */
  addMember(groupId: string, memberId: string): void;
  user(id: string): FakeUser | undefined;
  /** The next Admin SDK request answers 429 rateLimitExceeded with `Retry-After: seconds`. */
  throttleNext(seconds: number): void;
  /** The next Admin SDK request answers 403 with this reason (userRateLimitExceeded, quotaExceeded, forbidden…). */
  failNext(status: number, reason: string): void;
  /** Revokes every access token issued so far (their next use answers 401 authError). */
  revokeAccessTokens(): void;
  /** Mutating Admin SDK requests served (the token endpoint is not a write). */
  writes(): number;
  /** Token endpoint requests served. */
  tokenRequests(): number;
  close(): Promise<void>;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

/** Google's JSON error body (`{"error":{"code","message","errors":[{domain,reason,message}],"status"}}`). */
const gError = (status: number, reason: string, message: string, statusText: string): Reply => ({
  status,
  body: { error: { code: status, message, errors: [{ message, domain: "global", reason }], status: statusText } },
});
const notFound = (what: string) => gError(404, "notFound", `Resource Not Found: ${what}`, "NOT_FOUND");

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startGoogleFake(options: GoogleFakeOptions = {}): Promise<GoogleFake> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const other = await generateKeyPair("RS256", { extractable: true });
  const clientEmail = "scim-bridge@fake-project.iam.gserviceaccount.com";
  const adminEmail = "admin@example.com";
  const delegated = new Set(options.delegatedScopes ?? [S.user, S.security, S.member, S.groupRead]);
  const accessTokens = new Map<string, { scopes: Set<string>; expiresAt: number }>();
  const users = new Map<string, FakeUser>();
  const groups = new Map<string, FakeGroup>();
  let writes = 0;
  let tokenRequests = 0;
  let nextFailure: Reply | null = null;
  let nextId = 100000000000000000000n; // Google user ids are 21-digit numbers: a BigInt, so each one is different
  let nextCode = 1000;

  const userByKey = (key: string) => users.get(key) ?? [...users.values()].find((u) => u.primaryEmail === key.toLowerCase() || u.aliases.includes(key.toLowerCase()));
  const groupByKey = (key: string) => groups.get(key) ?? [...groups.values()].find((g) => g.email === key.toLowerCase());
  const isMember = (group: FakeGroup, id: string, seen = new Set<string>()): boolean => {
    if (group.members.has(id)) return true;
    seen.add(group.id);
    for (const m of group.members) {
      const nested = groups.get(m);
      if (nested && !seen.has(nested.id) && isMember(nested, id, seen)) return true;
    }
    return false;
  };
  const userResource = (u: FakeUser) => ({
    kind: "admin#directory#user", id: u.id, etag: `"${u.id}-${u.suspended}"`, primaryEmail: u.primaryEmail,
    name: { fullName: u.primaryEmail.split("@")[0] }, isAdmin: u.primaryEmail === adminEmail, suspended: u.suspended,
    ...(u.suspended ? { suspensionReason: "ADMIN" } : {}), ...(u.aliases.length ? { aliases: u.aliases } : {}), customerId: "C0fake",
  });
  const groupResource = (g: FakeGroup) => ({ kind: "admin#directory#group", id: g.id, etag: `"${g.id}"`, email: g.email, name: g.name, directMembersCount: String(g.members.size) });

  // POST /token — Google OAuth 2.0 for server-to-server (https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests): form body grant_type=jwt-bearer&assertion=<RS256 JWT>
  async function token(req: IncomingMessage, tokenUri: string): Promise<Reply> {
    tokenRequests++;
    if (!/application\/x-www-form-urlencoded/.test(req.headers["content-type"] ?? "")) return { status: 400, body: { error: "invalid_request", error_description: "Invalid content type" } };
    const form = new URLSearchParams(await readBody(req));
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return { status: 400, body: { error: "unsupported_grant_type", error_description: "Invalid grant_type" } };
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(form.get("assertion") ?? "", publicKey, { algorithms: ["RS256"], audience: tokenUri, issuer: clientEmail, maxTokenAge: "1h" }));
    } catch {
      return { status: 400, body: { error: "invalid_grant", error_description: "Invalid JWT Signature." } };
    }
    if (claims.sub !== adminEmail) return { status: 400, body: { error: "invalid_grant", error_description: "Invalid email or User ID" } };
    const scopes = String(claims.scope ?? "").split(" ").filter(Boolean);
    if (scopes.length === 0 || scopes.some((s) => !delegated.has(s))) {
      return { status: 401, body: { error: "unauthorized_client", error_description: "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested." } };
    }
    const accessToken = `ya29.fake-${randomBytes(16).toString("hex")}`;
    accessTokens.set(accessToken, { scopes: new Set(scopes), expiresAt: Date.now() + 3_599_000 });
    return { status: 200, body: { access_token: accessToken, expires_in: 3599, token_type: "Bearer" } };
  }

  /** The Admin SDK routes, under /admin/directory/v1. `needs`: any one of these scopes suffices (G-DISC per method). */
  async function admin(req: IncomingMessage, url: URL): Promise<Reply> {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const grant = bearer ? accessTokens.get(bearer) : undefined;
    if (!grant || grant.expiresAt < Date.now()) return gError(401, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "UNAUTHENTICATED");
    if (nextFailure) {
      const f = nextFailure;
      nextFailure = null;
      return f;
    }
    const method = req.method ?? "GET";
    const parts = url.pathname.replace(/^\/admin\/directory\/v1\//, "").split("/").map(decodeURIComponent);
    const route = (m: string, pattern: string) => {
      const p = pattern.split("/");
      if (m !== method || p.length !== parts.length) return null;
      const params: string[] = [];
      for (let i = 0; i < p.length; i++) {
        if (p[i] === "*") params.push(parts[i]!);
        else if (p[i] !== parts[i]) return null;
      }
      return params;
    };
    const scoped = (...needs: string[]) => needs.some((s) => grant.scopes.has(s));
    const insufficient = gError(403, "insufficientPermissions", "Request had insufficient authentication scopes.", "PERMISSION_DENIED");
    const write = (r: Reply) => {
      if (r.status < 300) writes++;
      return r;
    };
    let m: string[] | null;

    // users.get — GET admin/directory/v1/users/{userKey} (G-DISC directory.users.get)
    if ((m = route("GET", "users/*"))) {
      if (!scoped(S.user, S.userRead)) return insufficient;
      const u = userByKey(m[0]!);
      return u ? { status: 200, body: userResource(u) } : notFound("userKey");
    }
    // users.update — PUT admin/directory/v1/users/{userKey}, patch semantics (G-DISC directory.users.update)
    if ((m = route("PUT", "users/*"))) {
      if (!scoped(S.user)) return insufficient;
      const u = userByKey(m[0]!);
      if (!u) return notFound("userKey");
      const body = JSON.parse((await readBody(req)) || "{}") as { suspended?: unknown };
      if (typeof body.suspended === "boolean") u.suspended = body.suspended;
      return write({ status: 200, body: userResource(u) });
    }
    // users.delete — DELETE admin/directory/v1/users/{userKey} → 204 empty (G-DISC directory.users.delete)
    if ((m = route("DELETE", "users/*"))) {
      if (!scoped(S.user)) return insufficient;
      const u = userByKey(m[0]!);
      if (!u) return notFound("userKey");
      users.delete(u.id);
      for (const g of groups.values()) g.members.delete(u.id);
      return write({ status: 204 });
    }
    // users.signOut — POST admin/directory/v1/users/{userKey}/signOut, no response schema (G-DISC directory.users.signOut); 204 assumed
    if ((m = route("POST", "users/*/signOut"))) {
      if (!scoped(S.security)) return insufficient;
      const u = userByKey(m[0]!);
      if (!u) return notFound("userKey");
      u.signOuts++;
      return write({ status: 204 });
    }
    // tokens.list — GET admin/directory/v1/users/{userKey}/tokens → Tokens {kind, etag, items?} (G-DISC directory.tokens.list)
    if ((m = route("GET", "users/*/tokens"))) {
      if (!scoped(S.security)) return insufficient;
      const u = userByKey(m[0]!);
      if (!u) return notFound("userKey");
      const items = [...u.tokens.values()].map((t) => ({ kind: "admin#directory#token", ...t, anonymous: false, nativeApp: false, userKey: u.id, etag: `"${t.clientId}"` }));
      return { status: 200, body: { kind: "admin#directory#tokenList", etag: `"tokens-${u.id}"`, ...(items.length ? { items } : {}) } };
    }
    // tokens.delete — DELETE admin/directory/v1/users/{userKey}/tokens/{clientId} → 204 (G-DISC directory.tokens.delete)
    if ((m = route("DELETE", "users/*/tokens/*"))) {
      if (!scoped(S.security)) return insufficient;
      const u = userByKey(m[0]!);
      if (!u || !u.tokens.delete(m[1]!)) return notFound("clientId");
      return write({ status: 204 });
    }
    // asps.list — GET admin/directory/v1/users/{userKey}/asps → Asps {kind, etag, items?} (G-DISC directory.asps.list)
    if ((m = route("GET", "users/*/asps"))) {
      if (!scoped(S.security)) return insufficient;
      const u = userByKey(m[0]!);
      if (!u) return notFound("userKey");
      const items = [...u.asps.values()].map((a) => ({ kind: "admin#directory#asp", ...a, creationTime: "1700000000000", lastTimeUsed: "0", userKey: u.id, etag: `"${a.codeId}"` }));
      return { status: 200, body: { kind: "admin#directory#asps", etag: `"asps-${u.id}"`, ...(items.length ? { items } : {}) } };
    }
    // asps.delete — DELETE admin/directory/v1/users/{userKey}/asps/{codeId} (int32) → 204 (G-DISC directory.asps.delete)
    if ((m = route("DELETE", "users/*/asps/*"))) {
      if (!scoped(S.security)) return insufficient;
      const u = userByKey(m[0]!);
      if (!/^\d+$/.test(m[1]!)) return gError(400, "invalid", "Invalid value for: codeId", "INVALID_ARGUMENT");
      if (!u || !u.asps.delete(Number(m[1]))) return notFound("codeId");
      return write({ status: 204 });
    }
    // verificationCodes.list — GET admin/directory/v1/users/{userKey}/verificationCodes → VerificationCodes {items?} (G-DISC directory.verificationCodes.list)
    if ((m = route("GET", "users/*/verificationCodes"))) {
      if (!scoped(S.security)) return insufficient;
      const u = userByKey(m[0]!);
      if (!u) return notFound("userKey");
      const items = u.codes.map((c) => ({ kind: "admin#directory#verificationCode", userId: u.id, verificationCode: c, etag: `"${c}"` }));
      return { status: 200, body: { kind: "admin#directory#verificationCodesList", etag: `"codes-${u.id}"`, ...(items.length ? { items } : {}) } };
    }
    // verificationCodes.invalidate — POST admin/directory/v1/users/{userKey}/verificationCodes/invalidate → 204 (G-DISC directory.verificationCodes.invalidate)
    if ((m = route("POST", "users/*/verificationCodes/invalidate"))) {
      if (!scoped(S.security)) return insufficient;
      const u = userByKey(m[0]!);
      if (!u) return notFound("userKey");
      u.codes = [];
      return write({ status: 204 });
    }
    // groups.list?userKey — GET admin/directory/v1/groups?userKey=…&maxResults≤200&pageToken → Groups {groups?, nextPageToken?}; direct memberships (G-DISC directory.groups.list)
    if (route("GET", "groups")) {
      if (!scoped(S.group, S.groupRead)) return insufficient;
      const key = url.searchParams.get("userKey");
      if (!key) return gError(400, "badRequest", "Bad Request", "INVALID_ARGUMENT");
      const u = userByKey(key);
      if (!u) return notFound("userKey");
      const max = Math.min(200, Number(url.searchParams.get("maxResults") ?? 200));
      const start = Number(url.searchParams.get("pageToken") ?? 0);
      const all = [...groups.values()].filter((g) => g.members.has(u.id));
      const page = all.slice(start, start + max).map(groupResource);
      return { status: 200, body: { kind: "admin#directory#groups", etag: `"groups"`, ...(page.length ? { groups: page } : {}), ...(start + max < all.length ? { nextPageToken: String(start + max) } : {}) } };
    }
    // members.delete — DELETE admin/directory/v1/groups/{groupKey}/members/{memberKey} → 204; non-member 404 notFound (G-DISC; G-ISSUE-404)
    if ((m = route("DELETE", "groups/*/members/*"))) {
      if (!scoped(S.group, S.member)) return insufficient;
      const g = groupByKey(m[0]!);
      if (!g) return notFound("groupKey");
      const member = userByKey(m[1]!)?.id ?? groupByKey(m[1]!)?.id ?? m[1]!;
      if (!g.members.delete(member)) return notFound("memberKey");
      return write({ status: 204 });
    }
    // members.hasMember — GET admin/directory/v1/groups/{groupKey}/hasMember/{memberKey} → MembersHasMember {isMember}, direct or nested (G-DISC)
    if ((m = route("GET", "groups/*/hasMember/*"))) {
      if (!scoped(S.group, S.groupRead, S.member, S.memberRead)) return insufficient;
      const g = groupByKey(m[0]!);
      if (!g) return notFound("groupKey");
      const u = userByKey(m[1]!);
      if (!u) return notFound("memberKey");
      return { status: 200, body: { isMember: isMember(g, u.id) } };
    }
    return notFound(url.pathname);
  }

  let tokenUri = "";
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const handle = url.pathname === "/token" && req.method === "POST" ? token(req, tokenUri) : url.pathname.startsWith("/admin/directory/v1/") ? admin(req, url) : Promise.resolve(notFound(url.pathname));
    handle.then(
      (reply) => {
        const headers: Record<string, string> = { ...(reply.headers ?? {}) };
        if (reply.body !== undefined) headers["content-type"] = "application/json; charset=UTF-8";
        res.writeHead(reply.status, headers).end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
      },
      (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenUri = `${base}/token`;

  const fake: GoogleFake = {
    tokenUri,
    baseUrl: base,
    clientEmail,
    privateKey: await exportPKCS8(privateKey as CryptoKey),
    otherPrivateKey: await exportPKCS8(other.privateKey as CryptoKey),
    adminEmail,
    createUser(primaryEmail, o = {}) {
      const u: FakeUser = {
        id: String(nextId++), primaryEmail: primaryEmail.toLowerCase(), aliases: (o.aliases ?? []).map((a) => a.toLowerCase()), suspended: false,
        tokens: new Map(), asps: new Map(), codes: [], signOuts: 0,
      };
      for (let i = 0; i < (o.tokens ?? 0); i++) {
        const clientId = `${randomUUID()}.apps.googleusercontent.com`;
        u.tokens.set(clientId, { clientId, displayText: `App ${i}`, scopes: ["https://mail.google.com/"] });
      }
      for (let i = 0; i < (o.asps ?? 0); i++) {
        const codeId = nextCode++;
        u.asps.set(codeId, { codeId, name: `device ${i}` });
      }
      for (let i = 0; i < (o.codes ?? 0); i++) u.codes.push(String(10000000 + Math.floor(Math.random() * 89999999)));
      users.set(u.id, u);
      return u;
    },
    createGroup(email) {
      const g: FakeGroup = { id: `0${randomBytes(7).toString("hex")}`, email: email.toLowerCase(), name: email.split("@")[0]!, members: new Set() };
      groups.set(g.id, g);
      return g;
    },
    addMember(groupId, memberId) {
      const g = groups.get(groupId);
      if (!g) throw new Error(`no group ${groupId}`);
      g.members.add(memberId);
    },
    user: (id) => users.get(id),
    throttleNext(seconds) {
      // the account-wide limit: 429 rateLimitExceeded (G-LIMITS); Retry-After as seconds
      nextFailure = { ...gError(429, "rateLimitExceeded", "Rate Limit Exceeded", "RESOURCE_EXHAUSTED"), headers: { "retry-after": String(seconds) } };
    },
    failNext(status, reason) {
      nextFailure = gError(status, reason, reason === "forbidden" ? "Not Authorized to access this resource/api" : "Quota exceeded", status === 403 ? "PERMISSION_DENIED" : "UNKNOWN");
    },
    revokeAccessTokens: () => accessTokens.clear(),
    writes: () => writes,
    tokenRequests: () => tokenRequests,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((e) => (e ? reject(e) : resolve()));
    }),
  };
  fake.createUser(adminEmail);
  return fake;
}
