/**
 * A fake Slack org on node:http, written from Slack's docs (URLs per route, keys from
 * targets-reference.md §13), not from the connector: SCIM v2 users, the Web API methods the
 * `slack` kind calls, bearer-token auth with per-token scopes, HTTP 429 + Retry-After throttling,
 * a lag between a SCIM deactivation and users.info, and a write counter. No jest here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeUser {
  id: string;
  userName: string;
  email: string;
  active: boolean;
  /** users.info `deleted` (lags `active` by `infoLagReads` reads after a deactivation). */
  deleted: boolean;
  infoLag: number;
  /** team id → active session count. */
  sessions: Map<string, number>;
}

export interface SlackFakeOptions {
  /** users.info keeps answering deleted=false for this many reads after a SCIM DELETE (Default: 0). */
  infoLagReads?: number;
  teams?: string[];
}

export interface SlackFake {
  scimBaseUrl: string;
  webApiBaseUrl: string;
  scimToken: string;
  webToken: string;
  /** A web token missing usergroups:write (Slack answers missing_scope with `needed`). */
  readOnlyWebToken: string;
  teams: string[];
  createUser(input: { userName: string; email: string }): FakeUser;
  createUsergroup(name: string, users?: string[]): string;
  addToUsergroup(group: string, userId: string): void;
  users: Map<string, FakeUser>;
  usergroups: Map<string, { id: string; name: string; users: string[] }>;
  writes(): number;
  /** The next request (either API) answers HTTP 429 with `Retry-After: seconds`, as Slack does (SL-SCIM-RL, SL-RESET). */
  throttleNext(seconds: number): void;
  /** The next Web API call answers HTTP 200 `{ok:false, error}` (for error traps). */
  failNextWeb(error: string): void;
  close(): Promise<void>;
}

const SCOPES_ALL = ["users:read", "users:read.email", "usergroups:read", "usergroups:write", "admin.users:read", "admin.users:write"];
const NEEDS: Record<string, string> = {
  "auth.test": "",
  "users.lookupByEmail": "users:read.email",
  "users.info": "users:read",
  "usergroups.list": "usergroups:read",
  "usergroups.users.list": "usergroups:read",
  "usergroups.users.update": "usergroups:write",
  "admin.users.session.reset": "admin.users:write",
  "admin.users.session.list": "admin.users:read",
};

async function bodyOf(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString("utf8");
  if (raw === "") return {};
  if ((req.headers["content-type"] ?? "").includes("application/json")) {
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

export async function startSlackFake(options: SlackFakeOptions = {}): Promise<SlackFake> {
  const users = new Map<string, FakeUser>();
  const usergroups = new Map<string, { id: string; name: string; users: string[] }>();
  const teams = options.teams ?? ["T0000FAKE1", "T0000FAKE2"];
  const scimToken = "xoxp-scim-fake-admin";
  const webToken = "xoxp-web-fake-admin";
  const readOnlyWebToken = "xoxp-web-fake-readonly";
  const tokenScopes = new Map<string, string[]>([[webToken, SCOPES_ALL], [readOnlyWebToken, SCOPES_ALL.filter((s) => s !== "usergroups:write")]]);
  let writes = 0;
  let throttle: number | null = null;
  let failWeb: string | null = null;
  let seq = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(body === undefined ? "" : JSON.stringify(body));
  };
  // Slack SCIM error shape (docs.slack.dev/reference/scim-api/scim-api-2 "Errors": {"Errors": {"description", "code"}})
  const scimErr = (res: ServerResponse, code: number, description: string) => send(res, code, { Errors: { description, code } });
  const scimUser = (u: FakeUser) => ({
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    id: u.id,
    userName: u.userName,
    active: u.active,
    emails: [{ value: u.email, primary: true }],
  });
  const webUser = (u: FakeUser) => ({ id: u.id, name: u.userName, deleted: u.deleted, profile: { email: u.email } });

  async function scim(req: IncomingMessage, res: ServerResponse, path: string, url: URL) {
    if (req.headers.authorization !== `Bearer ${scimToken}`) return scimErr(res, 401, "invalid_authentication");
    // GET /scim/v2/Users — paginated list (docs.slack.dev/reference/scim-api/scim-api-2 "GET /Users")
    if (req.method === "GET" && path === "/Users") {
      const count = Number(url.searchParams.get("count") ?? 100);
      const all = [...users.values()];
      return send(res, 200, { schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: all.length, itemsPerPage: Math.min(count, all.length), startIndex: 1, Resources: all.slice(0, count).map(scimUser) });
    }
    const m = /^\/Users\/([^/]+)$/.exec(path);
    const user = m ? users.get(decodeURIComponent(m[1]!)) : undefined;
    if (m && !user) return scimErr(res, 404, "user_not_found"); // 404 for unknown ids: inferred (targets-reference §12 open question)
    // GET /scim/v2/Users/{id} — single user (docs.slack.dev/reference/scim-api/scim-api-2 "GET /Users/<id>")
    if (req.method === "GET" && user) return send(res, 200, scimUser(user));
    // DELETE /scim/v2/Users/{id} — "Sets a Slack user to deactivated" (docs.slack.dev/reference/scim-api/scim-api-2)
    if (req.method === "DELETE" && user) {
      writes++;
      user.active = false;
      user.infoLag = options.infoLagReads ?? 0;
      for (const team of user.sessions.keys()) user.sessions.set(team, 0); // deactivation signs the user out
      if (user.infoLag === 0) user.deleted = true;
      res.writeHead(204).end();
      return;
    }
    return scimErr(res, 404, "not_found");
  }

  async function web(req: IncomingMessage, res: ServerResponse, method: string, url: URL) {
    const args = { ...Object.fromEntries(url.searchParams), ...(req.method === "POST" ? await bodyOf(req) : {}) };
    const ok = (body: Record<string, unknown>) => send(res, 200, { ok: true, ...body });
    const fail = (error: string, extra: Record<string, unknown> = {}) => send(res, 200, { ok: false, error, ...extra });
    const auth = req.headers.authorization?.replace(/^Bearer /, "") ?? args.token;
    if (!auth) return fail("not_authed");
    const scopes = tokenScopes.get(auth);
    if (!scopes) return fail("invalid_auth");
    const needed = NEEDS[method];
    if (needed === undefined) return fail("unknown_method");
    if (needed !== "" && !scopes.includes(needed)) return fail("missing_scope", { needed, provided: scopes.join(",") });
    if (failWeb) {
      const error = failWeb;
      failWeb = null;
      return fail(error);
    }
    switch (method) {
      // auth.test (docs.slack.dev/reference/methods/auth.test): who the token is
      case "auth.test":
        return ok({ url: "https://fake.slack.com/", team: "Fake", user: "admin", team_id: teams[0], user_id: "UADMIN" });
      // users.lookupByEmail (docs.slack.dev/reference/methods/users.lookupByEmail): users_not_found when none
      case "users.lookupByEmail": {
        // "If the user has been deactivated, users_not_found will be returned instead of a user object"
        const u = [...users.values()].find((x) => x.email === (args.email ?? "").toLowerCase() && x.active);
        return u ? ok({ user: webUser(u) }) : fail("users_not_found");
      }
      // users.info (api.slack.com/methods/users.info; user type's `deleted`, SL-USER): user_not_found when none
      case "users.info": {
        const u = users.get(args.user ?? "");
        if (!u) return fail("user_not_found");
        if (!u.active && !u.deleted && --u.infoLag <= 0) {
          const answer = webUser(u);
          u.deleted = true;
          return ok({ user: answer });
        }
        return ok({ user: webUser(u) });
      }
      // usergroups.list (api.slack.com/methods/usergroups.list): include_users adds `users` to each group
      case "usergroups.list":
        return ok({ usergroups: [...usergroups.values()].map((g) => ({ id: g.id, team_id: teams[0], name: g.name, user_count: g.users.length, ...(args.include_users === "true" || args.include_users === "1" ? { users: [...g.users] } : {}) })) });
      // usergroups.users.list (api.slack.com/methods/usergroups.users.list): {"ok":true,"users":[…]}; no_such_subteam
      case "usergroups.users.list": {
        const g = usergroups.get(args.usergroup ?? "");
        return g ? ok({ users: [...g.users] }) : fail("no_such_subteam");
      }
      // usergroups.users.update (api.slack.com/methods/usergroups.users.update): `users` is the entire list; empty → no_users_provided
      case "usergroups.users.update": {
        const g = usergroups.get(args.usergroup ?? "");
        if (!g) return fail("no_such_subteam");
        const list = (args.users ?? "").split(",").filter((u) => u !== "");
        if (list.length === 0) return fail("no_users_provided");
        if (list.some((u) => !users.has(u))) return fail("invalid_users");
        writes++;
        g.users = list;
        return ok({ usergroup: { id: g.id, name: g.name, users: [...g.users] } });
      }
      // admin.users.session.reset (docs.slack.dev/reference/methods/admin.users.session.reset): wipes every session
      case "admin.users.session.reset": {
        const u = users.get(args.user_id ?? "");
        if (!u) return fail("user_not_found");
        writes++;
        for (const team of u.sessions.keys()) u.sessions.set(team, 0);
        return ok({});
      }
      // admin.users.session.list (docs.slack.dev/reference/methods/admin.users.session.list): user_id and team_id together
      case "admin.users.session.list": {
        if ((args.user_id === undefined) !== (args.team_id === undefined)) return fail("invalid_arguments");
        const u = users.get(args.user_id ?? "");
        const n = u?.sessions.get(args.team_id ?? "") ?? 0;
        return ok({ active_sessions: Array.from({ length: n }, (_, i) => ({ user_id: u?.id, team_id: args.team_id, session_id: 1000 + i, created: { device_hardware: "fake", os: "fake", slack_client_version: "4" } })), response_metadata: { next_cursor: "" } });
      }
    }
    return fail("unknown_method");
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    if (throttle !== null) {
      const seconds = throttle;
      throttle = null;
      // Slack throttles both APIs with HTTP 429 + Retry-After (SL-SCIM-RL; Web API: docs.slack.dev/apis/web-api/rate-limits)
      return url.pathname.startsWith("/api/")
        ? send(res, 429, { ok: false, error: "ratelimited" }, { "retry-after": String(seconds) })
        : send(res, 429, { Errors: { description: "rate_limited", code: 429 } }, { "retry-after": String(seconds) });
    }
    const handle = url.pathname.startsWith("/scim/v2/") ? scim(req, res, url.pathname.slice("/scim/v2".length), url)
      : url.pathname.startsWith("/api/") ? web(req, res, url.pathname.slice("/api/".length), url)
      : Promise.resolve(send(res, 404, { error: "not_found" }));
    handle.catch((error: unknown) => send(res, 500, { ok: false, error: `fake_error: ${String(error)}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    scimBaseUrl: `${base}/scim/v2`,
    webApiBaseUrl: `${base}/api`,
    scimToken,
    webToken,
    readOnlyWebToken,
    teams,
    users,
    usergroups,
    createUser({ userName, email }) {
      const id = `U${String(++seq).padStart(8, "0")}`;
      const user: FakeUser = { id, userName, email: email.toLowerCase(), active: true, deleted: false, infoLag: 0, sessions: new Map(teams.map((t) => [t, 2])) };
      users.set(id, user);
      return user;
    },
    createUsergroup(name, members = []) {
      const id = `S${String(++seq).padStart(8, "0")}`;
      usergroups.set(id, { id, name, users: [...members] });
      return id;
    },
    addToUsergroup(group, userId) {
      const g = usergroups.get(group);
      if (!g) throw new Error(`no usergroup ${group}`);
      if (!g.users.includes(userId)) g.users.push(userId);
    },
    writes: () => writes,
    throttleNext(seconds) {
      throttle = seconds;
    },
    failNextWeb(error) {
      failWeb = error;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
