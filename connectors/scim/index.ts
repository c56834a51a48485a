/**
 * The `scim` connector kind: a downstream SCIM 2.0 service provider (RFC 7643/7644), which many
 * SaaS apps are. README.md beside this file is the app owner's guide.
 *
 * Finds: `GET /Users?filter=<matchAttribute> eq "<value>"` (userName by default), answer checked.
 * Revokes: deactivate = deactivate-user (PATCH with path, PATCH without path, PUT or DELETE, per
 * `deactivateWith`), then remove-group-memberships-if-enabled; delete = remove-group-memberships,
 * then delete-user; revoke-entitlement = remove-group-membership (one group).
 * Verifies: `GET /Users/:id` → active=false or 404; delete → 404; entitlement → the group's members.
 */
import { TargetError, type Connector, type Probe } from "../../src/connector-kit.js";
import { attr, eqFilter, isResource, listOf, scimRequest, type Ctx } from "./client.js";
import { configFields, configProblems, settingsOf, type ScimConfig } from "./config.js";
import { groupOf, groupsOfUser, memberOf, removeGroupMembership, removeGroupMemberships, removeGroupMembershipsIfEnabled } from "./groups.js";
import { activeOf, deactivateUser, deleteUser, findUser, readUser } from "./users.js";

export type { ScimConfig } from "./config.js";

const VALIDATE_VALUE = "scim-bridge-validate";

/** The ServiceProviderConfig (RFC 7643 §5), when the service provider shows it: a PATCH mode it says it lacks is refused up front. */
async function checkServiceProviderConfig(ctx: Ctx): Promise<void> {
  const settings = settingsOf(ctx.config);
  const r = await scimRequest(ctx, { path: "/ServiceProviderConfig", call: { kind: "read", resource: "Users" }, answers: [400, 401, 403, 404, 500, 501, 503] });
  if (r.status >= 400 || !isResource(r.body)) {
    ctx.log.info(`ServiceProviderConfig not readable (${r.status}); validate relies on the /Users probe alone`);
    return;
  }
  const supported = (feature: string) => {
    const f = attr(r.body as Record<string, unknown>, feature);
    return isResource(f) ? attr(f, "supported") : undefined;
  };
  if (settings.deactivateWith.startsWith("patch") && supported("patch") === false) {
    throw new TargetError("permanent", `GET /ServiceProviderConfig says patch.supported=false, so deactivateWith: ${settings.deactivateWith} cannot work: set deactivateWith: put (or delete)`);
  }
  if (supported("filter") === false) {
    throw new TargetError("permanent", "GET /ServiceProviderConfig says filter.supported=false: this connector finds accounts by filter, so it cannot serve this target");
  }
}

async function verify(account: { id: string }, ctx: Ctx): Promise<Probe> {
  const intent = ctx.intent;
  if (intent.kind === "revoke-entitlement") {
    const group = await groupOf(ctx, intent.entitlement);
    if ("absent" in group) return { revoked: true, evidence: group.absent };
    const { member, evidence } = await memberOf(ctx, group.id, account.id);
    return { revoked: !member, evidence };
  }
  const read = await readUser(ctx, account.id);
  if ("gone" in read) return { revoked: true, evidence: `${read.gone} → 404 (no such user)` };
  const active = activeOf(read.resource);
  if (intent.kind === "delete") return { revoked: false, evidence: `${read.what} → 200 (the user still exists, ${active.shown})` };
  if (active.value === "unknown") throw new TargetError("permanent", `${read.what} answered ${active.shown}; deactivation cannot be observed`);
  if (active.value) return { revoked: false, evidence: `${read.what} → ${active.shown}` };
  if (!settingsOf(ctx.config).removeGroupsOnDeactivate) return { revoked: true, evidence: `${read.what} → ${active.shown}` };
  const { groups, evidence } = await groupsOfUser(ctx, account.id, read.resource);
  return { revoked: groups.length === 0, evidence: `${read.what} → ${active.shown}; ${evidence}` };
}

export default {
  id: "scim",
  configFields,

  checkConfig: configProblems,

  async validate(ctx) {
    const { matchAttribute } = settingsOf(ctx.config);
    // One harmless search on the attribute findAccount uses: a wrong token is "auth", a wrong baseUrl or an unsupported filter "permanent".
    const r = await scimRequest(ctx, {
      path: "/Users",
      query: { filter: eqFilter(matchAttribute, VALIDATE_VALUE), count: 1 },
      call: { kind: "search", resource: "Users", attribute: matchAttribute },
    });
    listOf(r.body, `GET /Users?filter=${matchAttribute} eq …`);
    await checkServiceProviderConfig(ctx);
  },

  findAccount: findUser,

  plans: {
    deactivate: [deactivateUser, removeGroupMembershipsIfEnabled],
    delete: [removeGroupMemberships, deleteUser],
    "revoke-entitlement": [removeGroupMembership],
  },

  verify,
} satisfies Connector<ScimConfig>;

