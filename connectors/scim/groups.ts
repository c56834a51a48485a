/**
 * Groups as entitlements: which groups a user is in, whether a user is in one group, and the
 * steps that remove memberships with `PATCH /Groups/:id` `remove members[value eq "<user id>"]`
 * (RFC 7644 §3.5.2.2), never with a path-less or value-list remove, which an RFC service
 * provider reads as "remove every member".
 */
import { TargetError, type RevokeStep } from "../../src/connector-kit.js";
import { attr, eqFilter, groupPath, isResource, listOf, PATCH_OP, resourceOf, scimRequest, type Ctx, type Resource } from "./client.js";
import { errorBodyOf, scimError } from "./errors.js";
import { settingsOf, type ScimConfig } from "./config.js";
import { readUser } from "./users.js";

export interface GroupRef {
  id: string;
  /** "direct" or "indirect" (RFC 7643 §4.1.2), when the service provider says. */
  type?: string;
}

const PAGE_SIZE = 100;
/** A user in more groups than this is refused rather than half-handled (10,000 groups). */
const MAX_PAGES = 100;

/**
 * The groups `user` is a member of: its read-only `groups` attribute when the service provider
 * returns one (RFC 7643 §4.1.2), else `GET /Groups?filter=members.value eq "<id>"`, page by page.
 */
export async function groupsOfUser(ctx: Ctx, userId: string, user: Resource): Promise<{ groups: GroupRef[]; evidence: string }> {
  const listed = attr(user, "groups");
  if (Array.isArray(listed)) {
    const groups = listed.filter(isResource).flatMap((g): GroupRef[] => {
      const id = attr(g, "value");
      const type = attr(g, "type");
      return typeof id === "string" ? [{ id, ...(typeof type === "string" ? { type: type.toLowerCase() } : {}) }] : [];
    });
    return { groups, evidence: `groups=[${groups.map((g) => g.id).join(", ")}]` };
  }
  const what = "GET /Groups?filter=members.value eq …";
  const groups: GroupRef[] = [];
  let startIndex = 1;
  for (let page = 0; ; page++) {
    if (page === MAX_PAGES) throw new TargetError("permanent", `${what} lists more than ${MAX_PAGES * PAGE_SIZE} groups; the service provider probably ignores the filter`);
    const r = await scimRequest(ctx, {
      path: "/Groups",
      query: { filter: eqFilter("members.value", userId), attributes: "id,displayName", startIndex, count: PAGE_SIZE },
      call: { kind: "search", resource: "Groups", attribute: "members.value" },
    });
    const list = listOf(r.body, what);
    for (const g of list.resources) {
      const id = attr(g, "id");
      if (typeof id !== "string") throw new TargetError("permanent", `${what} answered a group without an id`);
      groups.push({ id });
    }
    startIndex += list.resources.length;
    if (list.resources.length === 0 || startIndex > list.totalResults) break;
  }
  return { groups, evidence: `${what} → ${groups.length} groups${groups.length ? ` [${groups.map((g) => g.id).join(", ")}]` : ""}` };
}

/**
 * Whether the user is a member of the group: `GET /Groups/:id?attributes=members` and its
 * `members`. A service provider that never returns members (some do not) is asked with
 * `filter=id eq "<group>" and members.value eq "<user>"`; an answer naming another group means the
 * filter was ignored, and nothing is concluded.
 */
export async function memberOf(ctx: Ctx, groupId: string, userId: string): Promise<{ member: boolean; evidence: string }> {
  const r = await scimRequest(ctx, { path: groupPath(groupId), query: { attributes: "members" }, call: { kind: "read", resource: "Groups" }, answers: [404] });
  if (r.status === 404) return { member: false, evidence: `${r.what} → 404 (no such group)` };
  const members = attr(resourceOf(r.body, groupId, r.what), "members");
  if (Array.isArray(members)) {
    const member = members.some((m) => isResource(m) && attr(m, "value") === userId);
    return { member, evidence: `${r.what} → ${members.length} members, ${userId} ${member ? "among them" : "not among them"}` };
  }
  if (members !== undefined) throw new TargetError("permanent", `${r.what} answered members that are not a list`);
  const what = `GET /Groups?filter=id eq "${groupId}" and members.value eq "${userId}"`;
  const search = await scimRequest(ctx, {
    path: "/Groups",
    query: { filter: `${eqFilter("id", groupId)} and ${eqFilter("members.value", userId)}`, attributes: "id" },
    call: { kind: "search", resource: "Groups", attribute: "members.value" },
  });
  const list = listOf(search.body, what);
  if (list.resources.some((g) => attr(g, "id") !== groupId)) throw new TargetError("permanent", `${what} answered other groups: the service provider ignores the filter, so membership cannot be observed`);
  const member = list.resources.length > 0;
  return { member, evidence: `${r.what} → no members shown; ${what} → ${member ? "1 group (a member)" : "0 groups (not a member)"}` };
}

/** The group an entitlement names: its id, or (groupEntitlements: displayName) the one group with that displayName. */
export async function groupOf(ctx: Ctx, entitlement: string): Promise<{ id: string } | { absent: string }> {
  if (settingsOf(ctx.config).groupEntitlements === "id") return { id: entitlement };
  const what = `GET /Groups?filter=displayName eq ${JSON.stringify(entitlement)}`;
  const r = await scimRequest(ctx, {
    path: "/Groups",
    query: { filter: eqFilter("displayName", entitlement), attributes: "id,displayName", count: 2 },
    call: { kind: "search", resource: "Groups", attribute: "displayName" },
  });
  const list = listOf(r.body, what);
  const same = (g: Resource) => typeof attr(g, "displayName") === "string" && (attr(g, "displayName") as string).toLowerCase() === entitlement.toLowerCase();
  if (!list.resources.every(same)) throw new TargetError("permanent", `${what} answered groups with other names: the service provider ignores the filter; set groupEntitlements: id`);
  if (list.resources.length > 1 || list.totalResults > 1) throw new TargetError("permanent", `${what} matched ${Math.max(list.totalResults, list.resources.length)} groups: name the group by id (groupEntitlements: id)`);
  const id = list.resources[0] ? attr(list.resources[0], "id") : undefined;
  if (list.resources.length === 1 && typeof id !== "string") throw new TargetError("permanent", `${what} answered a group without an id`);
  return typeof id === "string" ? { id } : { absent: `${what} → no such group` };
}

/** One PATCH remove; a 404 (no group) or 400 noTarget (not a member) means it is gone already. */
async function removeMember(ctx: Ctx, groupId: string, userId: string): Promise<"done" | "already-done"> {
  const call = { kind: "remove-member" } as const;
  const r = await scimRequest(ctx, {
    method: "PATCH",
    path: groupPath(groupId),
    json: { schemas: [PATCH_OP], Operations: [{ op: "remove", path: `members[${eqFilter("value", userId)}]` }] },
    call,
    answers: [400, 404],
  });
  if (r.status === 404 || (r.status === 400 && errorBodyOf(r.body).scimType === "noTarget")) return "already-done";
  if (r.status === 400) throw scimError(r.status, r.body, call, r.what);
  return "done";
}

function entitlementOf(ctx: Ctx): string {
  if (ctx.intent.kind !== "revoke-entitlement") throw new Error(`remove-group-membership runs for revoke-entitlement, not ${ctx.intent.kind}`);
  return ctx.intent.entitlement;
}

/** revoke-entitlement: the one group the policy mapped. */
export const removeGroupMembership: RevokeStep<ScimConfig> = {
  name: "remove-group-membership",
  async run(account, ctx) {
    const group = await groupOf(ctx, entitlementOf(ctx));
    if ("absent" in group) return "already-done";
    if (!(await memberOf(ctx, group.id, account.id)).member) return "already-done";
    return removeMember(ctx, group.id, account.id);
  },
};

async function removeAll(account: { id: string }, ctx: Ctx): Promise<"done" | "already-done"> {
  const read = await readUser(ctx, account.id);
  if ("gone" in read) return "already-done";
  const { groups } = await groupsOfUser(ctx, account.id, read.resource);
  let removed = 0;
  // Indirect memberships (through a nested group) go when the direct one does; they cannot be removed themselves.
  for (const group of groups.filter((g) => g.type !== "indirect")) if ((await removeMember(ctx, group.id, account.id)) === "done") removed++;
  return removed > 0 ? "done" : "already-done";
}

/** delete: every group the user is in, before the user goes (a soft-deleting service provider would keep them). */
export const removeGroupMemberships: RevokeStep<ScimConfig> = {
  name: "remove-group-memberships",
  run: removeAll,
};

/**
 * deactivate: the same, only with `removeGroupsOnDeactivate: true`; otherwise no request and
 * "already-done". Named apart from the delete plan's step on purpose: the engine skips a step whose
 * name a task already recorded, and a deactivation extended into a delete must still remove them.
 */
export const removeGroupMembershipsIfEnabled: RevokeStep<ScimConfig> = {
  name: "remove-group-memberships-if-enabled",
  async run(account, ctx) {
    if (!settingsOf(ctx.config).removeGroupsOnDeactivate) {
      ctx.log.info("Step remove-group-memberships-if-enabled made no request: removeGroupsOnDeactivate is false");
      return "already-done";
    }
    return removeAll(account, ctx);
  },
};
