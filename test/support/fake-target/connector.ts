/**
 * The connector for the fake target (`server.ts`), written the way a real connector is: it imports
 * only the connector kit and talks to the target only through `ctx.http`. Built to
 * `dist/test/support/fake-target/connector.js` so a bridge process can load it.
 *
 * Revokes: sessions and tokens first, then the account (suspend, or delete), or one team.
 * Verifies: `GET /users/:id` for the task's intent. A 404 on a write is "already-done".
 */
import { TargetError, type Account, type Connector, type RevokeStep, type TargetContext } from "../../../src/connector-kit.js";

export interface FakeTargetConfig {
  /** The tenant's API root, `http://127.0.0.1:NNNN/t/<tenant>`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
}

/** A user as the fake target shows it. */
interface TargetUser {
  id: string;
  userName: string;
  active: boolean;
  sessions: number;
  tokens: number;
  teams: string[];
}

type Ctx = TargetContext<FakeTargetConfig>;

const headers = (ctx: Ctx) => ({ authorization: `Bearer ${ctx.config.token}` });
const userPath = (id: string) => `/users/${encodeURIComponent(id)}`;
const url = (ctx: Ctx, path: string) => ctx.config.baseUrl.replace(/\/+$/, "") + path;

/** The body as a user, or a permanent error: a probe never guesses from a shape it does not know. */
function asUser(body: unknown, what: string): TargetUser {
  const u = body as Partial<TargetUser> | null;
  const ok = typeof u === "object" && u !== null && typeof u.id === "string" && typeof u.active === "boolean"
    && typeof u.sessions === "number" && typeof u.tokens === "number" && Array.isArray(u.teams);
  if (!ok) throw new TargetError("permanent", `${what} answered an unexpected body`, { cause: body });
  return u as TargetUser;
}

/** Runs one write; 404 means the thing to revoke is already gone. */
async function write(ctx: Ctx, method: "POST" | "DELETE", path: string): Promise<{ status: number; body: unknown }> {
  return ctx.http.request(url(ctx, path), { method, headers: headers(ctx), accept: [404] });
}

const revokeSessions: RevokeStep<FakeTargetConfig> = {
  name: "revoke-sessions",
  async run(account, ctx) {
    const { status, body } = await write(ctx, "POST", `${userPath(account.id)}/revoke-sessions`);
    if (status === 404) return "already-done";
    return ((body as { revoked?: unknown } | null)?.revoked ?? 1) === 0 ? "already-done" : "done";
  },
};

const suspendUser: RevokeStep<FakeTargetConfig> = {
  name: "suspend-user",
  async run(account, ctx) {
    const { status, body } = await write(ctx, "POST", `${userPath(account.id)}/suspend`);
    return status === 404 || (body as { wasActive?: unknown } | null)?.wasActive === false ? "already-done" : "done";
  },
};

const deleteUser: RevokeStep<FakeTargetConfig> = {
  name: "delete-user",
  async run(account, ctx) {
    return (await write(ctx, "DELETE", userPath(account.id))).status === 404 ? "already-done" : "done";
  },
};

const removeFromTeam: RevokeStep<FakeTargetConfig> = {
  name: "remove-from-team",
  async run(account, ctx) {
    const team = teamOf(ctx);
    const path = `${userPath(account.id)}/teams/${encodeURIComponent(team)}`;
    return (await write(ctx, "DELETE", path)).status === 404 ? "already-done" : "done";
  },
};

function teamOf(ctx: Ctx): string {
  if (ctx.intent.kind !== "revoke-entitlement") throw new Error(`remove-from-team runs for revoke-entitlement, not ${ctx.intent.kind}`);
  return ctx.intent.entitlement;
}

async function probe(account: Account, ctx: Ctx) {
  const what = `GET ${userPath(account.id)}`;
  const { status, body } = await ctx.http.request(url(ctx, userPath(account.id)), { headers: headers(ctx), accept: [404] });
  return { what, user: status === 404 ? null : asUser(body, what) };
}

export default {
  id: "fake-target",
  configFields: [
    { name: "baseUrl", description: "The tenant's API root, http://127.0.0.1:NNNN/t/<tenant>", required: true },
    { name: "token", description: "The tenant's bearer token", required: true, secret: true },
  ],

  async validate(ctx) {
    // one harmless lookup: a wrong token surfaces as TargetError "auth" from ctx.http
    await ctx.http.request(url(ctx, "/users"), { headers: headers(ctx), query: { userName: "scim-bridge-validate" }, accept: [404] });
  },

  async findAccount(subject, ctx) {
    const { status, body } = await ctx.http.request(url(ctx, "/users"), { headers: headers(ctx), query: { userName: subject.userName }, accept: [404] });
    if (status === 404) return null;
    const user = asUser(body, "GET /users?userName");
    return { id: user.id, data: { userName: user.userName } };
  },

  plans: {
    deactivate: [revokeSessions, suspendUser],
    delete: [revokeSessions, deleteUser],
    "revoke-entitlement": [removeFromTeam],
  },

  async verify(account, ctx) {
    const { what, user } = await probe(account, ctx);
    const intent = ctx.intent;
    if (!user) return { revoked: true, evidence: `${what} → 404 (no such user)` };
    if (intent.kind === "delete") return { revoked: false, evidence: `${what} → 200 (the user still exists, active=${user.active})` };
    if (intent.kind === "revoke-entitlement") {
      const teams = `teams=[${user.teams.join(", ")}]`;
      return user.teams.includes(intent.entitlement)
        ? { revoked: false, evidence: `${what} → ${teams} (still in ${intent.entitlement})` }
        : { revoked: true, evidence: `${what} → ${teams} (not in ${intent.entitlement})` };
    }
    const evidence = `${what} → active=${user.active}, sessions=${user.sessions}, tokens=${user.tokens}`;
    return { revoked: !user.active && user.sessions === 0 && user.tokens === 0, evidence };
  },
} satisfies Connector<FakeTargetConfig>;
