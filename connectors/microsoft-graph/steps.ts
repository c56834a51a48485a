/**
 * validate, findAccount, the revoke steps and verify for Microsoft Graph / Entra ID
 * (targets-reference.md §4). Group members are removed by reference only
 * (`DELETE /groups/{g}/members/{u}/$ref`): without `/$ref`, an app that may also write users
 * deletes the user object itself (`MSG-GRPDEL`, §11.1).
 */
import { TargetError, type Probe, type RevokeStep, type Subject } from "../../src/connector-kit.js";
import { graphRequest, listAll, odataString, userPath, type Ctx, type Json } from "./client.js";
import { settingsOf, type GraphConfig } from "./config.js";

type Step = RevokeStep<GraphConfig>;

export async function validate(ctx: Ctx): Promise<void> {
  await graphRequest(ctx, { path: "/users", query: { $top: "1", $select: "id" }, call: "find-user" });
}

export async function findAccount(subject: Subject, ctx: Ctx): Promise<{ id: string; data: Json } | null> {
  const attribute = settingsOf(ctx.config).matchAttribute;
  const value = attribute === "mail" ? subject.emails[0] : subject.userName;
  if (!value) throw new TargetError("permanent", `the subject has no ${attribute === "mail" ? "email" : "userName"} to match ${attribute} with`);
  const r = await graphRequest(ctx, { path: "/users", query: { $filter: `${attribute} eq ${odataString(value)}`, $select: "id,userPrincipalName,mail,userType" }, call: "find-user" });
  const users = (r.body as Json | null)?.value;
  if (!Array.isArray(users)) throw new TargetError("permanent", `${r.what} answered a body that is not a Graph collection`);
  const matching = (users as Json[]).filter((u) => typeof u[attribute] === "string" && (u[attribute] as string).toLowerCase() === value.toLowerCase());
  if (matching.length !== users.length) throw new TargetError("permanent", `${r.what} answered users whose ${attribute} differs: the filter was not applied`);
  if (matching.length > 1) throw new TargetError("permanent", `${r.what} matched ${matching.length} users: ${attribute} is not unique here; use userPrincipalName`);
  const user = matching[0];
  if (!user) return null;
  if (typeof user.id !== "string" || user.id === "") throw new TargetError("permanent", `${r.what} answered a user without an id`);
  return { id: user.id, data: { userPrincipalName: user.userPrincipalName ?? null, userType: user.userType ?? null } };
}

/** The user's direct groups (memberOf also lists directory roles and administrative units: not groups, left alone). */
async function directGroups(ctx: Ctx, userId: string) {
  const list = await listAll(ctx, { path: `${userPath(userId)}/memberOf/microsoft.graph.group`, query: { $select: "id,displayName" }, call: "list-memberships", answers: [404] });
  return { ...list, groups: list.items.filter((g) => typeof g.id === "string") as { id: string; displayName?: string }[] };
}

async function appRoleAssignments(ctx: Ctx, userId: string) {
  return listAll(ctx, { path: `${userPath(userId)}/appRoleAssignments`, call: "list-app-roles", answers: [404] });
}

async function removeMember(ctx: Ctx, groupId: string, userId: string): Promise<"done" | "already-done"> {
  // by reference: `/$ref` removes the membership link, never the member object (MSG-GRPDEL)
  const r = await graphRequest(ctx, { method: "DELETE", path: `/groups/${encodeURIComponent(groupId)}/members/${encodeURIComponent(userId)}/$ref`, call: "remove-member", answers: [404] });
  return r.status === 404 ? "already-done" : "done";
}

export const revokeSignInSessions: Step = {
  name: "revoke-sign-in-sessions",
  observable: false,
  async run(account, ctx) {
    const r = await graphRequest(ctx, { method: "POST", path: `${userPath(account.id)}/revokeSignInSessions`, call: "revoke-sessions", answers: [404] });
    if (r.status === 404) return "already-done";
    // MSG-KNOWN: answers 200 {"value": true} whatever happened; any 2xx is the acknowledgement
    const expires = new Date(ctx.now().getTime() + settingsOf(ctx.config).accessTokenLifetimeMs);
    ctx.note?.({
      evidence: `${r.what} → ${r.status} (acknowledged: refresh tokens and session cookies invalidated; issued access tokens stay valid on non-CAE resources until ${expires.toISOString()})`,
      tokensExpireAt: expires,
    });
    return "done";
  },
};

function groupsStep(name: string): Step {
  return {
    name,
    async run(account, ctx) {
      const { groups, status } = await directGroups(ctx, account.id);
      if (status === 404) return "already-done";
      let removed = 0;
      for (const g of groups) if ((await removeMember(ctx, g.id, account.id)) === "done") removed++;
      if (groups.length > 0) ctx.note?.({ evidence: `DELETE /groups/{id}/members/${account.id}/$ref → removed ${removed} of ${groups.length} direct groups` });
      return removed > 0 ? "done" : "already-done";
    },
  };
}

export const removeGroupMemberships = groupsStep("remove-group-memberships");

export const removeAppRoleAssignments: Step = {
  name: "remove-app-role-assignments",
  async run(account, ctx) {
    const { items, status } = await appRoleAssignments(ctx, account.id);
    if (status === 404) return "already-done";
    let removed = 0;
    for (const a of items) {
      if (typeof a.id !== "string" || typeof a.resourceId !== "string") throw new TargetError("permanent", "an appRoleAssignment without id or resourceId");
      // MSG-APPROLE: the documented preferred form, through the resource service principal
      const r = await graphRequest(ctx, { method: "DELETE", path: `/servicePrincipals/${encodeURIComponent(a.resourceId)}/appRoleAssignedTo/${encodeURIComponent(a.id)}`, call: "remove-app-role", answers: [404] });
      if (r.status !== 404) removed++;
    }
    if (items.length > 0) ctx.note?.({ evidence: `DELETE /servicePrincipals/{resource}/appRoleAssignedTo/{id} → removed ${removed} of ${items.length} app role assignments` });
    return removed > 0 ? "done" : "already-done";
  },
};

async function readUser(ctx: Ctx, id: string) {
  return graphRequest(ctx, { path: userPath(id), query: { $select: "id,accountEnabled,signInSessionsValidFromDateTime" }, call: "read-user", answers: [404] });
}

export const disableUser: Step = {
  name: "disable-user",
  async run(account, ctx) {
    const read = await readUser(ctx, account.id);
    if (read.status === 404 || (read.body as Json).accountEnabled === false) return "already-done";
    const r = await graphRequest(ctx, { method: "PATCH", path: userPath(account.id), json: { accountEnabled: false }, call: "disable-user", answers: [404] });
    return r.status === 404 ? "already-done" : "done";
  },
};

export const deleteUser: Step = {
  name: "delete-user",
  async run(account, ctx) {
    const r = await graphRequest(ctx, { method: "DELETE", path: userPath(account.id), call: "delete-user", answers: [404] });
    if (r.status !== 404) ctx.note?.({ evidence: `${r.what} → ${r.status} (soft delete: restorable from /directory/deletedItems for 30 days)` });
    return r.status === 404 ? "already-done" : "done";
  },
};

export const removeGroupMembership: Step = {
  name: "remove-group-membership",
  async run(account, ctx) {
    if (ctx.intent.kind !== "revoke-entitlement") throw new TargetError("permanent", "remove-group-membership runs for revoke-entitlement only");
    return removeMember(ctx, ctx.intent.entitlement, account.id);
  },
};

/**
 * A 404 for the user. Deleted: `/directory/deletedItems/{id}` holds it (a soft delete, restorable
 * 30 days), which is an observation. Otherwise it may be replication lag (MSG-EC): not believed on
 * the first probe, believed from the second on (gone for good, or purged from deleted items).
 */
async function userMissing(ctx: Ctx, id: string, what: string): Promise<Probe> {
  const deleted = await graphRequest(ctx, { path: `/directory/deletedItems/${encodeURIComponent(id)}`, query: { $select: "id,deletedDateTime" }, call: "read-deleted", answers: [404] });
  if (deleted.status !== 404) {
    const at = (deleted.body as Json).deletedDateTime;
    return { revoked: true, evidence: `${what} → 404; ${deleted.what} → deleted${typeof at === "string" ? ` at ${at}` : ""} (soft-deleted, restorable for 30 days)` };
  }
  if ((ctx.probe ?? 1) < 2) return { revoked: false, evidence: `${what} → 404 and not in deleted items: possibly replication lag, probing again before believing it` };
  return { revoked: true, evidence: `${what} → 404 and not in deleted items on probe ${ctx.probe} (not replication lag: the user is gone)` };
}

export async function verify(account: { id: string }, ctx: Ctx): Promise<Probe> {
  const intent = ctx.intent;
  if (intent.kind === "revoke-entitlement") {
    const { groups, status, what } = await directGroups(ctx, account.id);
    if (status === 404) return userMissing(ctx, account.id, what);
    const still = groups.some((g) => g.id === intent.entitlement);
    return still
      ? { revoked: false, evidence: `${what} → ${intent.entitlement} still listed` }
      : { revoked: true, evidence: `${what} → ${groups.length} groups, ${intent.entitlement} not among them` };
  }
  const read = await readUser(ctx, account.id);
  if (read.status === 404) return userMissing(ctx, account.id, read.what);
  const user = read.body as Json;
  if (user.id !== account.id) throw new TargetError("permanent", `${read.what} answered another object`);
  if (intent.kind === "delete") return { revoked: false, evidence: `${read.what} → 200: the user still exists (accountEnabled=${String(user.accountEnabled)})` };
  if (typeof user.accountEnabled !== "boolean") throw new TargetError("permanent", `${read.what} answered no boolean accountEnabled (it is returned only on $select)`);
  if (user.accountEnabled) return { revoked: false, evidence: `${read.what} → accountEnabled=true` };
  const { groups, what: groupsWhat } = await directGroups(ctx, account.id);
  if (groups.length > 0) return { revoked: false, evidence: `${read.what} → accountEnabled=false; ${groupsWhat} → still in ${groups.length} groups` };
  const roles = await appRoleAssignments(ctx, account.id);
  if (roles.items.length > 0) return { revoked: false, evidence: `${read.what} → accountEnabled=false; ${roles.what} → ${roles.items.length} app role assignments left` };
  const since = typeof user.signInSessionsValidFromDateTime === "string" ? `, signInSessionsValidFromDateTime=${user.signInSessionsValidFromDateTime}` : "";
  return { revoked: true, evidence: `${read.what} → accountEnabled=false${since}; ${groupsWhat} → 0 groups; ${roles.what} → 0 app role assignments` };
}
