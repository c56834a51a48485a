/**
 * A fake GitHub REST API (one organization) for the github connector's tests and the bench, on
 * node:http, written from GitHub's documented request/response shapes (targets-reference §2, §13
 * `GH-OAS`, `GHEC-OAS`, `GH-RL`). No jest here.
 *
 * Auth as GitHub does it: `Authorization: Bearer <token>` (or `token <token>`) from the tokens it
 * was given, else 401 "Bad credentials"; no User-Agent → 403. Tokens are "app" (installation
 * token) or "pat": the fine-grained PAT endpoints answer a PAT 403 "only GitHub Apps".
 * Switches: `throttleNext(seconds, style)` in GitHub's styles (secondary limit with retry-after,
 * primary limit with x-ratelimit-remaining 0 + reset, secondary by message only), `patRevokeLagMs`
 * (the 202 revoke is a queued job), `samlEnforcedFor` tokens (403 SAML enforcement), a write counter.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";

export type ThrottleStyle = "secondary" | "primary" | "primary-429" | "secondary-message";

export interface GithubFakeOptions {
  org?: string;
  /** Milliseconds before a queued fine-grained PAT revoke (202) takes effect (Default: 0). */
  patRevokeLagMs?: number;
}

interface Credential {
  credential_id: number;
  login: string;
  credential_type: string;
}

interface PatGrant {
  id: number;
  owner: string;
  /** Epoch ms when a queued revoke takes effect. */
  revokeAt?: number;
}

export interface GithubFake {
  baseUrl: string;
  org: string;
  /** An installation token (`ghs_…`) and an org owner's PAT (`github_pat_…`) it accepts. */
  appToken: string;
  patToken: string;
  options: Required<GithubFakeOptions>;
  addMember(login: string, opts?: { role?: "member" | "admin"; state?: "active" | "pending" }): void;
  addOutsideCollaborator(login: string): void;
  addTeam(slug: string): void;
  addTeamMember(slug: string, login: string): void;
  /** Teams whose membership is synchronized with an IdP group: writes answer 403. */
  syncedTeams: Set<string>;
  addCredentialAuthorization(login: string, type?: string): number;
  addPatGrant(login: string): number;
  isMember(login: string): boolean;
  isOutsideCollaborator(login: string): boolean;
  inTeam(slug: string, login: string): boolean;
  credentialsOf(login: string): number[];
  /** Grants still effective (a queued revoke not yet run counts). */
  patGrantsOf(login: string): number[];
  /** Tokens GitHub refuses with 403 "Resource protected by organization SAML enforcement". */
  samlEnforcedFor: Set<string>;
  writes(): number;
  requests: { method: string; path: string; query: string; status: number }[];
  throttleNext(seconds: number, style?: ThrottleStyle): void;
  close(): Promise<void>;
}

const DOCS = "https://docs.github.com/rest";

export async function startGithubFake(options: GithubFakeOptions = {}): Promise<GithubFake> {
  const org = options.org ?? "acme";
  const settings: Required<GithubFakeOptions> = { org, patRevokeLagMs: options.patRevokeLagMs ?? 0 };
  const appToken = `ghs_${randomBytes(16).toString("hex")}`;
  const patToken = `github_pat_${randomBytes(16).toString("hex")}`;
  const tokens = new Map<string, "app" | "pat">([[appToken, "app"], [patToken, "pat"]]);
  const members = new Map<string, { id: number; role: string; state: string }>();
  const outside = new Set<string>();
  const teams = new Map<string, Set<string>>();
  const syncedTeams = new Set<string>();
  const credentials: Credential[] = [];
  const grants: PatGrant[] = [];
  const samlEnforcedFor = new Set<string>();
  const requests: GithubFake["requests"] = [];
  let nextId = 1000;
  let writes = 0;
  let throttle: { seconds: number; style: ThrottleStyle } | null = null;
  let origin = "";

  const key = (login: string) => login.toLowerCase();
  const effective = (g: PatGrant) => g.revokeAt === undefined || Date.now() < g.revokeAt;
  const user = (login: string) => ({ login, id: members.get(key(login))?.id ?? 0, type: "User", site_admin: false });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { message: String(error) }));
  });

  function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    res.writeHead(status, {
      "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", "x-ratelimit-used": "1", "x-ratelimit-reset": String(reset), "x-ratelimit-resource": "core",
      "x-github-api-version-selected": "2022-11-28",
      ...(body !== undefined ? { "content-type": "application/json; charset=utf-8" } : {}),
      ...headers,
    });
    res.end(body !== undefined ? JSON.stringify(body) : undefined);
  }

  /** A page of a listing with GitHub's Link header (docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api). */
  function page(res: ServerResponse, url: URL, items: unknown[]): void {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get("per_page") ?? 30)));
    const n = Math.max(1, Number(url.searchParams.get("page") ?? 1));
    const slice = items.slice((n - 1) * perPage, n * perPage);
    const headers: Record<string, string> = {};
    if (n * perPage < items.length) {
      const next = new URL(url.toString(), origin);
      next.searchParams.set("page", String(n + 1));
      next.searchParams.set("per_page", String(perPage));
      headers.link = `<${origin}${next.pathname}${next.search}>; rel="next"`;
    }
    send(res, 200, slice, headers);
  }

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    return text === "" ? null : (JSON.parse(text) as unknown);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", origin);
    const method = req.method ?? "GET";
    const path = url.pathname;
    const record = (status: number) => requests.push({ method, path, query: url.search, status });
    if (method !== "GET") writes++;
    const reply = (status: number, body?: unknown, headers?: Record<string, string>) => {
      record(status);
      send(res, status, body, headers);
    };

    if (throttle) {
      const { seconds, style } = throttle;
      throttle = null;
      // docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
      if (style === "secondary") return reply(403, { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api` }, { "retry-after": String(seconds) });
      if (style === "secondary-message") return reply(403, { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api` });
      const reset = String(Math.floor(Date.now() / 1000) + seconds);
      return reply(style === "primary" ? 403 : 429, { message: "API rate limit exceeded for installation ID 1.", documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api` }, { "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000", "x-ratelimit-reset": reset });
    }
    // docs.github.com/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent
    if (!req.headers["user-agent"]) return reply(403, { message: "Request forbidden by administrative rules. Please make sure your request has a User-Agent header." });
    // docs.github.com/rest/authentication/authenticating-to-the-rest-api (Bearer or token scheme; 401 "Bad credentials")
    const auth = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? "");
    const token = auth?.[1];
    const kind = token ? tokens.get(token) : undefined;
    if (!token || !kind) return reply(401, { message: "Bad credentials", documentation_url: `${DOCS}`, status: "401" });
    if (samlEnforcedFor.has(token)) return reply(403, { message: "Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.", documentation_url: `${DOCS}` });

    const m = /^\/orgs\/([^/]+)(\/.*)?$/.exec(path);
    if (!m || m[1]!.toLowerCase() !== org.toLowerCase()) return reply(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
    const rest = m[2] ?? "";
    let r: RegExpExecArray | null;

    // GET /orgs/{org} — docs.github.com/rest/orgs/orgs#get-an-organization
    if (rest === "" && method === "GET") return reply(200, { login: org, id: 1, url: `${origin}/orgs/${org}`, type: "Organization" });

    // GET|DELETE /orgs/{org}/memberships/{username} — docs.github.com/rest/orgs/members#get-organization-membership-for-a-user / #remove-organization-membership-for-a-user
    if ((r = /^\/memberships\/([^/]+)$/.exec(rest))) {
      const login = decodeURIComponent(r[1]!);
      const member = members.get(key(login));
      if (method === "GET") {
        if (!member) return reply(404, { message: "Not Found", documentation_url: `${DOCS}/orgs/members#get-organization-membership-for-a-user`, status: "404" });
        return reply(200, { url: `${origin}/orgs/${org}/memberships/${login}`, state: member.state, role: member.role, organization_url: `${origin}/orgs/${org}`, organization: { login: org, id: 1 }, user: user(login) });
      }
      if (method === "DELETE") {
        if (!member) return reply(404, { message: "Not Found", documentation_url: `${DOCS}/orgs/members#remove-organization-membership-for-a-user`, status: "404" });
        members.delete(key(login));
        // removal from the org takes the person out of every team
        for (const t of teams.values()) t.delete(key(login));
        return reply(204);
      }
    }

    // GET /orgs/{org}/outside_collaborators — docs.github.com/rest/orgs/outside-collaborators#list-outside-collaborators-for-an-organization
    if (rest === "/outside_collaborators" && method === "GET") {
      record(200);
      return page(res, url, [...outside].sort().map((login) => ({ login, id: 1, type: "User" })));
    }
    // DELETE /orgs/{org}/outside_collaborators/{username} — docs.github.com/rest/orgs/outside-collaborators#remove-outside-collaborator-from-an-organization (422 for a member)
    if ((r = /^\/outside_collaborators\/([^/]+)$/.exec(rest)) && method === "DELETE") {
      const login = decodeURIComponent(r[1]!);
      if (members.has(key(login))) return reply(422, { message: "You cannot specify an organization member to remove as an outside collaborator.", documentation_url: `${DOCS}/orgs/outside-collaborators` });
      outside.delete(key(login));
      return reply(204);
    }

    // GET|DELETE /orgs/{org}/teams/{team_slug}/memberships/{username} — docs.github.com/rest/teams/members#get-team-membership-for-a-user / #remove-team-membership-for-a-user
    if ((r = /^\/teams\/([^/]+)\/memberships\/([^/]+)$/.exec(rest))) {
      const slug = decodeURIComponent(r[1]!);
      const login = decodeURIComponent(r[2]!);
      const team = teams.get(slug);
      if (method === "GET") {
        if (!team?.has(key(login))) return reply(404, { message: "Not Found", documentation_url: `${DOCS}/teams/members#get-team-membership-for-a-user`, status: "404" });
        return reply(200, { url: `${origin}/orgs/${org}/teams/${slug}/memberships/${login}`, role: "member", state: "active" });
      }
      if (method === "DELETE") {
        // "you will see an error if you attempt to use the API to make changes to the team's membership" when team sync is on
        if (syncedTeams.has(slug)) return reply(403, { message: "This team is synchronized with an identity provider group; membership changes must be made in the identity provider.", documentation_url: `${DOCS}/teams/members` });
        if (!team?.has(key(login))) return reply(404, { message: "Not Found", documentation_url: `${DOCS}/teams/members#remove-team-membership-for-a-user`, status: "404" });
        team.delete(key(login));
        return reply(204);
      }
    }

    // GET /orgs/{org}/credential-authorizations?login= — docs.github.com/enterprise-cloud@latest/rest/orgs/orgs#list-saml-sso-authorizations-for-an-organization
    if (rest === "/credential-authorizations" && method === "GET") {
      const login = url.searchParams.get("login");
      const list = credentials.filter((c) => !login || key(c.login) === key(login)).map((c) => ({ login: c.login, credential_id: c.credential_id, credential_type: c.credential_type, token_last_eight: "abcd1234", credential_authorized_at: "2026-01-01T00:00:00Z", scopes: ["repo"], credential_accessed_at: null, authorized_credential_id: c.credential_id, authorized_credential_title: null, authorized_credential_note: null, authorized_credential_expires_at: null }));
      record(200);
      return page(res, url, list);
    }
    // DELETE /orgs/{org}/credential-authorizations/{credential_id} — docs.github.com/enterprise-cloud@latest/rest/orgs/orgs#remove-a-saml-sso-authorization-for-an-organization (204, 404)
    if ((r = /^\/credential-authorizations\/(\d+)$/.exec(rest)) && method === "DELETE") {
      const i = credentials.findIndex((c) => c.credential_id === Number(r![1]));
      if (i < 0) return reply(404, { message: "Not Found", documentation_url: `${DOCS}/orgs/orgs`, status: "404" });
      credentials.splice(i, 1);
      return reply(204);
    }

    // GET|POST /orgs/{org}/personal-access-tokens — docs.github.com/rest/orgs/personal-access-tokens ("Only GitHub Apps can use this endpoint")
    if (rest === "/personal-access-tokens") {
      if (kind !== "app") return reply(403, { message: "Resource not accessible by personal access token. Only GitHub Apps can use this endpoint.", documentation_url: `${DOCS}/orgs/personal-access-tokens`, status: "403" });
      if (method === "GET") {
        const owners = url.searchParams.getAll("owner").concat(url.searchParams.getAll("owner[]")).flatMap((o) => o.split(",")).map(key);
        const list = grants.filter(effective).filter((g) => owners.length === 0 || owners.includes(key(g.owner))).map((g) => ({ id: g.id, owner: { login: g.owner, id: 1, type: "User" }, repository_selection: "all", repositories_url: `${origin}/organizations/1/personal-access-tokens/${g.id}/repositories`, permissions: { organization: {}, repository: { contents: "read" } }, access_granted_at: "2026-01-01T00:00:00Z", token_id: g.id + 1, token_name: "laptop", token_expired: false, token_expires_at: null, token_last_used_at: null }));
        record(200);
        return page(res, url, list);
      }
      if (method === "POST") {
        const body = (await readJson(req)) as { action?: unknown; pat_ids?: unknown } | null;
        const ids = Array.isArray(body?.pat_ids) ? (body!.pat_ids as unknown[]) : [];
        if (body?.action !== "revoke" || ids.length < 1 || ids.length > 100 || !ids.every((id) => typeof id === "number")) return reply(422, { message: "Validation Failed", documentation_url: `${DOCS}/orgs/personal-access-tokens`, status: "422" });
        const at = Date.now() + settings.patRevokeLagMs;
        for (const g of grants) if (ids.includes(g.id) && g.revokeAt === undefined) g.revokeAt = at;
        // 202 Accepted: the revoke is a queued job
        return reply(202, { message: "Job queued to revoke access. It may take a few minutes to complete." });
      }
    }
    return reply(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl: origin,
    org,
    appToken,
    patToken,
    options: settings,
    syncedTeams,
    samlEnforcedFor,
    addMember(login, opts = {}) {
      members.set(key(login), { id: nextId++, role: opts.role ?? "member", state: opts.state ?? "active" });
    },
    addOutsideCollaborator(login) {
      outside.add(key(login));
    },
    addTeam(slug) {
      if (!teams.has(slug)) teams.set(slug, new Set());
    },
    addTeamMember(slug, login) {
      const team = teams.get(slug);
      if (!team) throw new Error(`the github fake has no team ${slug}`);
      team.add(key(login));
    },
    addCredentialAuthorization(login, type = "personal access token") {
      const id = nextId++;
      credentials.push({ credential_id: id, login, credential_type: type });
      return id;
    },
    addPatGrant(login) {
      const id = nextId++;
      grants.push({ id, owner: login });
      return id;
    },
    isMember: (login) => members.has(key(login)),
    isOutsideCollaborator: (login) => outside.has(key(login)),
    inTeam: (slug, login) => teams.get(slug)?.has(key(login)) ?? false,
    credentialsOf: (login) => credentials.filter((c) => key(c.login) === key(login)).map((c) => c.credential_id),
    patGrantsOf: (login) => grants.filter((g) => effective(g) && key(g.owner) === key(login)).map((g) => g.id),
    writes: () => writes,
    requests,
    throttleNext(seconds, style = "secondary") {
      throttle = { seconds, style };
    },
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    }),
  };
}
