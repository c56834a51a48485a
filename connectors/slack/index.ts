/**
 * The `slack` connector kind: Slack Business+ / Enterprise Grid through SCIM (deactivation) and the
 * Web API (sessions, user groups, reads). Slack does not delete users: the delete plan deactivates.
 * See README.md for the order, the probes and the scopes.
 */
import { TargetError, type Account, type Connector, type IntentKind, type Probe, type RevokeStep, type Subject } from "../../src/connector-kit.js";
import { configFields, configProblems, registrationWarnings, settingsOf, type SlackConfig } from "./config.js";
import { isObject, scimRequest, userPath, webCall, type Ctx } from "./client.js";

type Step = RevokeStep<SlackConfig>;

const teamArg = (ctx: Ctx) => settingsOf(ctx.config).usergroupTeamId;

/** Users of a user group (usergroups.users.list), or null when Slack says the group does not exist. */
async function usergroupUsers(ctx: Ctx, usergroup: string): Promise<{ users: string[]; what: string } | null> {
  // "revoke" use: no_such_subteam reads as gone (the group, and so the grant, is not there)
  const r = await webCall(ctx, "usergroups.users.list", { usergroup, include_disabled: true, team_id: teamArg(ctx) }, "revoke");
  if (!r.ok) return null;
  const users = r.body.users;
  if (!Array.isArray(users) || !users.every((u) => typeof u === "string")) throw new TargetError("permanent", `${r.what} answered no users list`);
  return { users: users as string[], what: r.what };
}

/** Every user group (usergroups.list include_users), with its members. */
async function allUsergroups(ctx: Ctx): Promise<{ groups: { id: string; users: string[] }[]; what: string }> {
  const r = await webCall(ctx, "usergroups.list", { include_users: true, include_disabled: true, team_id: teamArg(ctx) }, "read");
  if (!r.ok) throw new TargetError("permanent", `${r.what} answered not found`);
  const list = r.body.usergroups;
  if (!Array.isArray(list)) throw new TargetError("permanent", `${r.what} answered no usergroups list`);
  const groups = list.map((g) => {
    if (!isObject(g) || typeof g.id !== "string") throw new TargetError("permanent", `${r.what} answered a user group without an id`);
    // include_users=true: each group carries `users`; a group without it cannot be judged
    if (!Array.isArray(g.users)) throw new TargetError("permanent", `${r.what} answered user group ${g.id} without its users`);
    return { id: g.id, users: g.users.filter((u): u is string => typeof u === "string") };
  });
  return { groups, what: r.what };
}

/** Replaces the group's users with the list minus the person (usergroups.users.update takes the entire list). */
async function removeFrom(ctx: Ctx, usergroup: string, users: string[], userId: string): Promise<"done" | "already-done"> {
  const rest = users.filter((u) => u !== userId);
  const r = await webCall(ctx, "usergroups.users.update", { usergroup, users: rest.join(","), team_id: teamArg(ctx) }, "revoke", true);
  if (!r.ok) return "already-done";
  ctx.note?.({ evidence: `${r.what} ${usergroup} → ${rest.length} users left, ${userId} not among them` });
  return "done";
}

/** Active sessions per configured workspace (admin.users.session.list, user_id + team_id together). */
async function sessions(ctx: Ctx, userId: string): Promise<{ team: string; count: number }[]> {
  const out: { team: string; count: number }[] = [];
  for (const team of settingsOf(ctx.config).sessionTeamIds) {
    const r = await webCall(ctx, "admin.users.session.list", { user_id: userId, team_id: team }, "read", true);
    if (!r.ok) throw new TargetError("permanent", `${r.what} answered not found`);
    const list = r.body.active_sessions;
    if (!Array.isArray(list)) throw new TargetError("permanent", `${r.what} answered no active_sessions list`);
    out.push({ team, count: list.length });
  }
  return out;
}

async function reset(account: Account, ctx: Ctx): Promise<"done" | "already-done"> {
  const r = await webCall(ctx, "admin.users.session.reset", { user_id: account.id }, "revoke", true);
  return r.ok ? "done" : "already-done";
}

/** Grid, with team ids to list sessions in: the reset is observed by the probe. */
export const resetSessions: Step = {
  name: "reset-sessions",
  async run(account, ctx) {
    const live = await sessions(ctx, account.id);
    if (live.every((s) => s.count === 0)) return "already-done";
    const outcome = await reset(account, ctx);
    ctx.note?.({ evidence: `POST admin.users.session.reset → ok (${live.map((s) => `${s.team}: ${s.count} sessions before`).join(", ")})` });
    return outcome;
  },
};

/**
 * Grid without team ids: nothing can list the sessions, so the step is acknowledged. Slack documents
 * the reset as immediate ("wipes a user session, leaving the user unauthenticated", SL-RESET), and the
 * plan's deactivate-user ends every session anyway, so the tail is bounded by now.
 */
export const resetSessionsAcknowledged: Step = {
  name: "reset-sessions",
  observable: false,
  async run(account, ctx) {
    const outcome = await reset(account, ctx);
    ctx.note?.({ evidence: outcome === "done" ? "POST admin.users.session.reset → ok (acknowledged; sessions not listable without sessionTeamIds)" : "POST admin.users.session.reset → user_not_found", tokensExpireAt: ctx.now() });
    return outcome;
  },
};

export const removeUsergroupMemberships: Step = {
  name: "remove-usergroup-memberships",
  async run(account, ctx) {
    const { groups } = await allUsergroups(ctx);
    const mine = groups.filter((g) => g.users.includes(account.id));
    if (mine.length === 0) return "already-done";
    for (const g of mine) await removeFrom(ctx, g.id, g.users, account.id);
    return "done";
  },
};

export const removeUsergroupMembership: Step = {
  name: "remove-usergroup-membership",
  async run(account, ctx) {
    if (ctx.intent.kind !== "revoke-entitlement") throw new TargetError("permanent", "remove-usergroup-membership runs only for revoke-entitlement");
    const group = await usergroupUsers(ctx, ctx.intent.entitlement);
    if (!group || !group.users.includes(account.id)) return "already-done";
    return removeFrom(ctx, ctx.intent.entitlement, group.users, account.id);
  },
};

/** SCIM `active` of the user, or "gone" on 404. */
async function scimActive(ctx: Ctx, id: string): Promise<{ gone: true; what: string } | { gone: false; active: boolean; what: string }> {
  const r = await scimRequest(ctx, "GET", userPath(id), [404]);
  if (r.status === 404) return { gone: true, what: r.what };
  if (!isObject(r.body) || r.body.id !== id) throw new TargetError("permanent", `${r.what} answered a body that is not this SCIM user`);
  const active = r.body.active;
  if (typeof active !== "boolean") throw new TargetError("permanent", `${r.what} answered a user without a boolean active`);
  return { gone: false, active, what: r.what };
}

/** SCIM DELETE: in Slack it "Sets a Slack user to deactivated" (SL-SCIM2), it does not delete. */
export const deactivateUser: Step = {
  name: "deactivate-user",
  async run(account, ctx) {
    const read = await scimActive(ctx, account.id);
    if (read.gone || !read.active) return "already-done";
    const r = await scimRequest(ctx, "DELETE", userPath(account.id), [404]);
    ctx.note?.({ evidence: `${r.what} → ${r.status}` });
    return r.status === 404 ? "already-done" : "done";
  },
};

const BUSINESS_PLAN: readonly Step[] = [removeUsergroupMemberships, deactivateUser];
const GRID_OBSERVED: readonly Step[] = [resetSessions, removeUsergroupMemberships, deactivateUser];
const GRID_ACKNOWLEDGED: readonly Step[] = [resetSessionsAcknowledged, removeUsergroupMemberships, deactivateUser];
const ENTITLEMENT_PLAN: readonly Step[] = [removeUsergroupMembership];

function accountPlan(config: SlackConfig): readonly Step[] {
  const s = settingsOf(config);
  if (!s.enterpriseGrid) return BUSINESS_PLAN;
  return s.sessionTeamIds.length > 0 ? GRID_OBSERVED : GRID_ACKNOWLEDGED;
}

async function verifyAccount(account: Account, ctx: Ctx): Promise<Probe> {
  const seen: string[] = [];
  const live: string[] = [];
  const scim = await scimActive(ctx, account.id);
  if (scim.gone) {
    // Slack keeps deactivated users; a 404 is unexpected: believed only from the second probe on
    if ((ctx.probe ?? 1) < 2) return { revoked: false, evidence: `${scim.what} → 404 (not believed on the first probe)` };
    seen.push(`${scim.what} → 404 on probe ${ctx.probe}`);
  } else {
    seen.push(`${scim.what} → active=${scim.active}`);
    if (scim.active) live.push("SCIM active=true");
  }
  // "find" use: user_not_found comes back as not-ok; believed only where SCIM's 404 was believed
  const info = await webCall(ctx, "users.info", { user: account.id }, "find");
  if (!info.ok) {
    if (!scim.gone) throw new TargetError("permanent", `${info.what} answered user_not_found while SCIM shows the user: cannot tell whether access remains`);
    seen.push(`${info.what} → user_not_found`);
  } else {
    const user = info.body.user;
    if (!isObject(user) || user.id !== account.id || typeof user.deleted !== "boolean") throw new TargetError("permanent", `${info.what} answered no user with a boolean deleted`);
    seen.push(`${info.what} → deleted=${user.deleted}`);
    if (!user.deleted) live.push("users.info deleted=false");
  }
  const { groups, what } = await allUsergroups(ctx);
  const mine = groups.filter((g) => g.users.includes(account.id)).map((g) => g.id);
  seen.push(mine.length === 0 ? `${what} → ${groups.length} groups, ${account.id} in none` : `${what} → still in ${mine.join(", ")}`);
  if (mine.length > 0) live.push(`member of ${mine.join(", ")}`);
  for (const s of await sessions(ctx, account.id)) {
    seen.push(`POST admin.users.session.list team ${s.team} → ${s.count} active sessions`);
    if (s.count > 0) live.push(`${s.count} sessions in ${s.team}`);
  }
  const note = ctx.intent.kind === "delete" ? " (Slack does not delete users: deactivated is the end state)" : "";
  return live.length === 0 ? { revoked: true, evidence: seen.join("; ") + note } : { revoked: false, evidence: seen.join("; ") };
}

async function verifyEntitlement(account: Account, entitlement: string, ctx: Ctx): Promise<Probe> {
  const group = await usergroupUsers(ctx, entitlement);
  if (!group) return { revoked: true, evidence: `GET usergroups.users.list ${entitlement} → no_such_subteam` };
  return group.users.includes(account.id)
    ? { revoked: false, evidence: `${group.what} ${entitlement} → ${group.users.length} users, ${account.id} among them` }
    : { revoked: true, evidence: `${group.what} ${entitlement} → ${group.users.length} users, ${account.id} not among them` };
}

export default {
  id: "slack",
  configFields,
  checkConfig: configProblems,
  registrationWarnings,
  async validate(ctx) {
    const who = await webCall(ctx, "auth.test", {}, "read");
    if (!who.ok) throw new TargetError("auth", "auth.test answered not found");
    await scimRequest(ctx, "GET", "/Users", [], { count: 1 });
  },
  async findAccount(subject: Subject, ctx) {
    const email = subject.emails[0] ?? (subject.userName.includes("@") ? subject.userName.toLowerCase() : undefined);
    if (!email) throw new TargetError("permanent", "the subject has no email: Slack accounts are found by email (users.lookupByEmail)");
    // users_not_found also for a deactivated user (api.slack.com/methods/users.lookupByEmail): nothing left to revoke
    const r = await webCall(ctx, "users.lookupByEmail", { email }, "find");
    if (!r.ok) return null;
    const user = r.body.user;
    if (!isObject(user) || typeof user.id !== "string" || user.id === "") throw new TargetError("permanent", `${r.what} answered a user without an id`);
    return { id: user.id };
  },
  plans: {
    deactivate: BUSINESS_PLAN,
    "revoke-entitlement": ENTITLEMENT_PLAN,
  },
  plansFor(config: SlackConfig, intent: IntentKind) {
    // delete = deactivate: Slack has no user deletion (SCIM DELETE deactivates)
    return intent === "revoke-entitlement" ? ENTITLEMENT_PLAN : accountPlan(config);
  },
  async verify(account, ctx) {
    return ctx.intent.kind === "revoke-entitlement" ? verifyEntitlement(account, ctx.intent.entitlement, ctx) : verifyAccount(account, ctx);
  },
} satisfies Connector<SlackConfig>;
