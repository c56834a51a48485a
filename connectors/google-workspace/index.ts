/**
 * The `google-workspace` kind: a Google Workspace domain through the Admin SDK Directory API
 * (targets-reference §3), as a service account with domain-wide delegation impersonating an admin.
 * README.md beside this file is the admin's guide.
 *
 * Finds: `GET users/{email}` for each of the subject's emails (primary, alias or id all work).
 * Revokes, sessions and tokens first: sign-out-sessions (ack-only), delete-oauth-tokens,
 * delete-app-passwords, invalidate-backup-codes; then remove-group-memberships (direct ones);
 * then suspend-user (deactivate) or delete-user (delete). revoke-entitlement: remove-group-membership.
 * Verifies: users.get suspended=true (404 believed from probe 2), tokens/asps/verificationCodes
 * lists empty, groups.list?userKey empty; delete → 404; entitlement → hasMember false.
 */
import { TargetError, type Account, type Connector, type Probe, type RevokeStep, type Subject } from "../../src/connector-kit.js";
import { google, seg, type Ctx } from "./client.js";
import { configFields, configProblems, settingsOf, type GoogleWorkspaceConfig } from "./config.js";

export type { GoogleWorkspaceConfig } from "./config.js";

type Step = RevokeStep<GoogleWorkspaceConfig>;
type Item = Record<string, unknown>;

/** How long after sign-out access may remain: Google's access tokens live an hour, and "up to 60 minutes to log out the user from current Gmail HTTP sessions" (`G-COOKIES`). */
export const SIGN_OUT_TAIL_MS = 60 * 60_000;

const user = (account: Account) => `/users/${seg(account.id)}`;
const itemsOf = (body: unknown): Item[] => (Array.isArray((body as { items?: unknown } | null)?.items) ? ((body as { items: Item[] }).items) : []);

// ---- sessions and tokens -------------------------------------------------------------------

const signOut: Step = {
  name: "sign-out-sessions",
  observable: false,
  async run(account, ctx) {
    // users.signOut (G-DISC): no response schema, no state to read back
    const r = await google(ctx, { method: "POST", path: `${user(account)}/signOut`, answers: [404] });
    if (r.status === 404) return "already-done"; // no such user: no sessions
    ctx.note?.({ evidence: `POST /users/${account.id}/signOut → ${r.status}; Google shows no session state to check`, tokensExpireAt: new Date(ctx.now().getTime() + SIGN_OUT_TAIL_MS) });
    return "done";
  },
};

/** A list-then-delete step over one of the user's credential lists (tokens, asps). */
function deleteEach(name: string, list: string, idField: string): Step {
  return {
    name,
    async run(account, ctx) {
      const listed = await google(ctx, { path: `${user(account)}/${list}`, answers: [404] });
      if (listed.status === 404) return "already-done";
      const ids = itemsOf(listed.body).map((i) => i[idField]).filter((v): v is string | number => typeof v === "string" || typeof v === "number");
      if (ids.length === 0) return "already-done";
      for (const id of ids) await google(ctx, { method: "DELETE", path: `${user(account)}/${list}/${seg(id)}`, answers: [404] });
      ctx.note?.({ evidence: `GET /users/${account.id}/${list} → ${ids.length}; DELETE each (${ids.length})` });
      return "done";
    },
  };
}

const deleteTokens = deleteEach("delete-oauth-tokens", "tokens", "clientId");
const deleteAsps = deleteEach("delete-app-passwords", "asps", "codeId");

const invalidateCodes: Step = {
  name: "invalidate-backup-codes",
  async run(account, ctx) {
    const listed = await google(ctx, { path: `${user(account)}/verificationCodes`, answers: [404] });
    if (listed.status === 404 || itemsOf(listed.body).length === 0) return "already-done";
    await google(ctx, { method: "POST", path: `${user(account)}/verificationCodes/invalidate` });
    ctx.note?.({ evidence: `GET /users/${account.id}/verificationCodes → ${itemsOf(listed.body).length}; POST …/invalidate` });
    return "done";
  },
};

// ---- entitlements --------------------------------------------------------------------------

/** The groups the user is a direct member of (groups.list?userKey, paginated, maxResults ≤200). */
async function groupsOf(ctx: Ctx, account: Account): Promise<{ gone: boolean; groups: { id: string; email: string }[] }> {
  const groups: { id: string; email: string }[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < 50; page++) {
    const r = await google(ctx, { path: "/groups", query: { userKey: account.id, maxResults: 200, pageToken }, answers: [404] });
    if (r.status === 404) return { gone: true, groups };
    const body = r.body as { groups?: Item[]; nextPageToken?: string } | null;
    for (const g of body?.groups ?? []) if (typeof g.id === "string") groups.push({ id: g.id, email: String(g.email ?? g.id) });
    pageToken = body?.nextPageToken;
    if (!pageToken) return { gone: false, groups };
  }
  throw new TargetError("permanent", "GET /groups?userKey=… returned more than 50 pages; refusing to guess");
}

async function removeMember(ctx: Ctx, groupKey: string, account: Account): Promise<boolean> {
  // members.delete: a non-member (or an unknown group) answers 404 notFound (G-ISSUE-404)
  const r = await google(ctx, { method: "DELETE", path: `/groups/${seg(groupKey)}/members/${seg(account.id)}`, answers: [404] });
  return r.status !== 404;
}

const removeGroups: Step = {
  name: "remove-group-memberships",
  async run(account, ctx) {
    const { groups } = await groupsOf(ctx, account);
    let removed = 0;
    for (const g of groups) if (await removeMember(ctx, g.id, account)) removed++;
    if (removed === 0) return "already-done";
    ctx.note?.({ evidence: `GET /groups?userKey=${account.id} → ${groups.length}; DELETE member from each (${removed} removed)` });
    return "done";
  },
};

const removeGroup: Step = {
  name: "remove-group-membership",
  async run(account, ctx) {
    if (ctx.intent.kind !== "revoke-entitlement") throw new TargetError("permanent", "remove-group-membership runs only for revoke-entitlement");
    const removed = await removeMember(ctx, ctx.intent.entitlement, account);
    if (removed) ctx.note?.({ evidence: `DELETE /groups/${ctx.intent.entitlement}/members/${account.id} → 204` });
    return removed ? "done" : "already-done";
  },
};

// ---- the account ---------------------------------------------------------------------------

const suspend: Step = {
  name: "suspend-user",
  async run(account, ctx) {
    const read = await google(ctx, { path: user(account), answers: [404] });
    if (read.status === 404 || (read.body as Item).suspended === true) return "already-done";
    // users.update has patch semantics: only `suspended` changes (G-DISC)
    const r = await google(ctx, { method: "PUT", path: user(account), json: { suspended: true }, answers: [404] });
    if (r.status === 404) return "already-done";
    ctx.note?.({ evidence: `PUT /users/${account.id} {suspended:true} → suspended=${String((r.body as Item).suspended)}` });
    return "done";
  },
};

const deleteUser: Step = {
  name: "delete-user",
  async run(account, ctx) {
    const r = await google(ctx, { method: "DELETE", path: user(account), answers: [404] });
    if (r.status === 404) return "already-done";
    ctx.note?.({ evidence: `DELETE /users/${account.id} → ${r.status}` });
    return "done";
  },
};

// ---- verify --------------------------------------------------------------------------------

/** A 404 for the user: believed from the second probe on (a first one may be propagation lag, `G-INSERT`). */
function userGone(account: Account, ctx: Ctx): Probe {
  if (ctx.probe === 1) return { revoked: false, evidence: `GET /users/${account.id} → 404; not believed on the first probe (propagation), re-probing` };
  return { revoked: true, evidence: `GET /users/${account.id} → 404 (no such user)` };
}

async function verify(account: Account, ctx: Ctx): Promise<Probe> {
  const intent = ctx.intent;
  if (intent.kind === "revoke-entitlement") {
    // members.hasMember: direct or nested membership (G-DISC)
    const r = await google<{ isMember?: unknown }>(ctx, { path: `/groups/${seg(intent.entitlement)}/hasMember/${seg(account.id)}`, answers: [404] });
    if (r.status === 404) return { revoked: true, evidence: `GET /groups/${intent.entitlement}/hasMember/${account.id} → 404 (no such group or user)` };
    if (typeof r.body?.isMember !== "boolean") throw new TargetError("permanent", `GET /groups/…/hasMember answered ${r.status} without isMember; cannot observe membership`);
    if (!r.body.isMember) return { revoked: true, evidence: `GET /groups/${intent.entitlement}/hasMember/${account.id} → isMember=false` };
    const direct = (await groupsOf(ctx, account)).groups.some((g) => g.id === intent.entitlement || g.email.toLowerCase() === intent.entitlement.toLowerCase());
    return {
      revoked: false,
      evidence: `GET /groups/${intent.entitlement}/hasMember/${account.id} → isMember=true${direct ? " (direct member)" : " (not a direct member: the membership is nested through another group, which members.delete cannot remove; remove the parent group's membership)"}`,
    };
  }

  const read = await google(ctx, { path: user(account), answers: [404] });
  if (read.status === 404) return userGone(account, ctx);
  if (intent.kind === "delete") return { revoked: false, evidence: `GET /users/${account.id} → 200 (the user still exists)` };
  const suspended = (read.body as Item).suspended;
  if (typeof suspended !== "boolean") throw new TargetError("permanent", `GET /users/${account.id} answered without a suspended field; cannot observe suspension`);
  const left: string[] = [];
  for (const list of ["tokens", "asps", "verificationCodes"] as const) {
    const r = await google(ctx, { path: `${user(account)}/${list}`, answers: [404] });
    const n = r.status === 404 ? 0 : itemsOf(r.body).length;
    left.push(`${list}: ${n}`);
    if (n > 0) return { revoked: false, evidence: `GET /users/${account.id} → suspended=${suspended}; GET …/${list} → ${n} item(s)` };
  }
  const { groups } = await groupsOf(ctx, account);
  const evidence = `GET /users/${account.id} → suspended=${suspended}; ${left.join(", ")}; GET /groups?userKey → ${groups.length} group(s)`;
  return { revoked: suspended && groups.length === 0, evidence };
}

// ---- find, validate ------------------------------------------------------------------------

async function findAccount(subject: Subject, ctx: Ctx): Promise<Account | null> {
  const keys = [...new Set([...subject.emails, subject.userName].map((e) => e.trim().toLowerCase()).filter((e) => e.includes("@")))];
  for (const key of keys) {
    const r = await google(ctx, { path: `/users/${seg(key)}`, answers: [404] });
    if (r.status === 404) continue;
    const u = r.body as Item;
    if (typeof u.id !== "string") throw new TargetError("permanent", `GET /users/{masked} answered ${r.status} without an id`);
    const emails = [u.primaryEmail, ...(Array.isArray(u.aliases) ? u.aliases : []), ...(Array.isArray(u.nonEditableAliases) ? u.nonEditableAliases : [])].map((e) => String(e).toLowerCase());
    if (!emails.includes(key)) throw new TargetError("permanent", `GET /users/{masked} answered a user whose primaryEmail and aliases do not include the address asked for; refusing to act on it`);
    return { id: u.id, data: { primaryEmail: String(u.primaryEmail) } };
  }
  return null;
}

export default {
  id: "google-workspace",
  configFields,
  checkConfig: configProblems,
  registrationWarnings(config) {
    const warnings = ["sign-out-sessions is acknowledged, never observed: Google shows no session state, and Gmail web sessions may last up to 60 minutes after it (support.google.com/a/answer/178854)"];
    if (typeof config.tokenUri === "string" && !config.tokenUri.startsWith("https://oauth2.googleapis.com/")) warnings.push(`tokenUri is not Google's (${config.tokenUri}): fine for a test server, wrong for a real domain`);
    return warnings;
  },
  async validate(ctx) {
    const s = settingsOf(ctx.config);
    // a token for every scope (unauthorized_client when delegation lacks one), then a read as the admin
    const r = await google(ctx, { path: `/users/${seg(s.adminEmail)}`, answers: [404] });
    if (r.status === 404) throw new TargetError("auth", "GET /users/{adminEmail} → 404: adminEmail is not a user of this domain");
  },
  findAccount,
  plans: {
    deactivate: [signOut, deleteTokens, deleteAsps, invalidateCodes, removeGroups, suspend],
    delete: [signOut, deleteTokens, deleteAsps, invalidateCodes, deleteUser],
    "revoke-entitlement": [removeGroup],
  },
  verify,
} satisfies Connector<GoogleWorkspaceConfig>;
