/**
 * Group memberships: which groups under groupBase list the account, removing it from one, and
 * which group an entitlement names. Matching is the server's: a search `(member=<DN>)` and a
 * modify deleting that value use the attribute's own equality rule, so DN case and spacing
 * never make a membership look absent.
 */
import type { Account } from "../../src/connector-kit.js";
import { TargetError } from "../../src/connector-kit.js";
import type { Ldap } from "./client.js";
import type { Settings } from "./config.js";
import { looksLikeDn } from "./config.js";
import { LDAP } from "./errors.js";
import { equalityFilter } from "./filter.js";

/** The value groups list for this account: its DN, or for memberUid groups its uid. */
export function memberValue(account: Account, settings: Settings): string {
  if (settings.memberAttribute !== "memberUid") return account.id;
  const uid = account.data?.memberUid;
  if (typeof uid !== "string" || uid === "") {
    throw new TargetError("permanent", `account ${account.id} has no ${settings.memberUidAttribute} to look up memberUid groups with; set memberUidAttribute to an attribute the person's entry has`);
  }
  return uid;
}

export interface Memberships {
  groups: string[];
  /** How they were observed, for evidence. */
  how: string;
}

/** The groups under groupBase that list the account (a paged search, so large directories answer in full). */
export async function membershipsOf(ldap: Ldap, account: Account): Promise<Memberships> {
  const { settings } = ldap;
  const filter = equalityFilter(settings.memberAttribute, memberValue(account, settings));
  const entries = await ldap.search(settings.groupBase, { scope: "sub", filter, attributes: ["1.1"], paged: { pageSize: 500 } });
  return { groups: entries.map((e) => e.dn), how: `search sub ${JSON.stringify(settings.groupBase)} ${filter}` };
}

/** Whether one group lists the account; null when there is no such group. */
export async function isMemberOf(ldap: Ldap, account: Account, groupDn: string): Promise<{ member: boolean | null; how: string }> {
  const { settings } = ldap;
  const filter = equalityFilter(settings.memberAttribute, memberValue(account, settings));
  const how = `search base ${JSON.stringify(groupDn)} ${filter}`;
  const entries = await ldap.find(groupDn, { scope: "base", filter, attributes: ["1.1"] });
  if (!entries) return { member: null, how };
  return { member: entries.length > 0, how };
}

/**
 * Removes the account from one group. Gone already (the value or the group) is "already-done".
 * A group whose objectClass requires a member (groupOfNames, groupOfUniqueNames) refuses to lose
 * its last one: with emptyGroupPlaceholder the placeholder takes the person's place in the same
 * modify, otherwise it is a permanent failure saying so.
 */
export async function removeFromGroup(ldap: Ldap, account: Account, groupDn: string): Promise<"done" | "already-done"> {
  const { settings } = ldap;
  const attribute = settings.memberAttribute;
  const remove = { operation: "delete" as const, attribute, values: [memberValue(account, settings)] };
  const code = await ldap.modify(groupDn, [remove], [LDAP.noSuchAttribute, LDAP.noSuchObject, LDAP.objectClassViolation]);
  if (code === 0) return "done";
  if (code !== LDAP.objectClassViolation) return "already-done";
  if (!settings.emptyGroupPlaceholder) {
    throw new TargetError("permanent", `cannot remove ${account.id} from ${groupDn}: it is the group's last ${attribute} and the group's objectClass requires one; set emptyGroupPlaceholder to a DN that may stand in, or add another member`);
  }
  const swapped = await ldap.modify(groupDn, [{ operation: "add", attribute, values: [settings.emptyGroupPlaceholder] }, remove], [LDAP.noSuchAttribute, LDAP.noSuchObject]);
  return swapped === 0 ? "done" : "already-done";
}

/**
 * The DN of the group an entitlement names: a DN as it is, otherwise the one group under
 * groupBase whose groupNameAttribute equals it. Null when there is none (nothing to be a member of).
 */
export async function groupOfEntitlement(ldap: Ldap, entitlement: string): Promise<{ dn: string | null; how: string }> {
  if (looksLikeDn(entitlement)) return { dn: entitlement, how: `entitlement ${JSON.stringify(entitlement)} is a DN` };
  if (entitlement.trim() === "") throw new TargetError("permanent", "the entitlement is empty; map the IdP group to a group name or DN in the policy's entitlements");
  const { settings } = ldap;
  const filter = equalityFilter(settings.groupNameAttribute, entitlement);
  const how = `search sub ${JSON.stringify(settings.groupBase)} ${filter}`;
  const found = await ldap.search(settings.groupBase, { scope: "sub", filter, attributes: ["1.1"], sizeLimit: 2 });
  if (found.length > 1) {
    throw new TargetError("permanent", `entitlement ${JSON.stringify(entitlement)} names more than one group under ${settings.groupBase} (${found.map((e) => e.dn).join("; ")}); map it to the group's DN instead`);
  }
  return { dn: found[0]?.dn ?? null, how };
}
