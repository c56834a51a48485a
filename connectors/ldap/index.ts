/**
 * The ldap connector kind: OpenLDAP (and other RFC 4511 directories) and Active Directory, over
 * ldapts. See README.md for what it revokes, how each effect is verified, and the rights it needs.
 *
 * Plans: deactivate = remove-group-memberships → disable-account; delete =
 * remove-group-memberships → delete-account; revoke-entitlement = remove-group-membership (one
 * group). Every step reads before it writes and treats "already gone" (noSuchObject,
 * noSuchAttribute) as "already-done". Verify searches, read-only: the entry, its disable
 * attribute, and the groups under groupBase that still list it.
 */
import { TargetError, type Account, type Connector, type Probe, type RevokeStep, type TargetContext } from "../../src/connector-kit.js";
import { values, withLdap, type Ldap } from "./client.js";
import { configFields, configProblems, type LdapConfig } from "./config.js";
import { disableAccount, lockState } from "./disable.js";
import { LDAP } from "./errors.js";
import { userFilterFor } from "./filter.js";
import { groupOfEntitlement, isMemberOf, membershipsOf, removeFromGroup } from "./groups.js";

export type { LdapConfig } from "./config.js";

type Ctx = TargetContext<LdapConfig>;

/** The password policy request control: advertised by a server whose ppolicy overlay is loaded. */
export const PPOLICY_CONTROL = "1.3.6.1.4.1.42.2.27.8.5.1";

const quoted = (dn: string) => JSON.stringify(dn);

/** At most `max` DNs for evidence, and how many more there were. */
function listed(dns: string[], max = 5): string {
  if (dns.length === 0) return "no groups";
  const shown = dns.slice(0, max).join("; ");
  return `${dns.length} group${dns.length === 1 ? "" : "s"}: ${shown}${dns.length > max ? `; and ${dns.length - max} more` : ""}`;
}

function entitlementOf(ctx: Ctx, step: string): string {
  if (ctx.intent.kind !== "revoke-entitlement") throw new Error(`${step} runs for revoke-entitlement, not ${ctx.intent.kind}`);
  return ctx.intent.entitlement;
}

const removeGroupMemberships: RevokeStep<LdapConfig> = {
  name: "remove-group-memberships",
  run: (account, ctx) =>
    withLdap(ctx, async (ldap) => {
      const { groups } = await membershipsOf(ldap, account);
      let removed = 0;
      for (const group of groups) if ((await removeFromGroup(ldap, account, group)) === "done") removed++;
      return removed > 0 ? "done" : "already-done";
    }),
};

const removeGroupMembership: RevokeStep<LdapConfig> = {
  name: "remove-group-membership",
  run: (account, ctx) =>
    withLdap(ctx, async (ldap) => {
      const { dn } = await groupOfEntitlement(ldap, entitlementOf(ctx, "remove-group-membership"));
      return dn === null ? "already-done" : removeFromGroup(ldap, account, dn);
    }),
};

const disable: RevokeStep<LdapConfig> = {
  name: "disable-account",
  run: (account, ctx) => withLdap(ctx, (ldap) => disableAccount(ldap, account.id)),
};

const deleteAccount: RevokeStep<LdapConfig> = {
  name: "delete-account",
  run: (account, ctx) =>
    withLdap(ctx, async (ldap) => {
      const code = await ldap.del(account.id, [LDAP.noSuchObject, LDAP.notAllowedOnNonLeaf]);
      if (code === LDAP.notAllowedOnNonLeaf) {
        throw new TargetError("permanent", `cannot delete ${account.id}: it has entries below it (notAllowedOnNonLeaf); remove them, or deactivate with policy.deactivate: disable`);
      }
      return code === 0 ? "done" : "already-done";
    }),
};

async function verifyEntitlement(ldap: Ldap, account: Account, entitlement: string): Promise<Probe> {
  const group = await groupOfEntitlement(ldap, entitlement);
  if (group.dn === null) return { revoked: true, evidence: `${group.how} → no such group (nothing to be a member of)` };
  const { member, how } = await isMemberOf(ldap, account, group.dn);
  if (member === null) return { revoked: true, evidence: `${how} → noSuchObject (the group is gone)` };
  return member ? { revoked: false, evidence: `${how} → 1 entry (still a member)` } : { revoked: true, evidence: `${how} → 0 entries (not a member)` };
}

/**
 * Groups that list members in another attribute than memberAttribute would never be found, and
 * verify would call every membership gone: so validate looks for one group of each kind.
 */
async function checkMemberAttribute(ldap: Ldap): Promise<void> {
  const { settings } = ldap;
  const some = async (attribute: string) =>
    (await ldap.search(settings.groupBase, { scope: "sub", filter: `(${attribute}=*)`, attributes: ["1.1"], sizeLimit: 1 })).length > 0;
  if (await some(settings.memberAttribute)) return;
  for (const other of ["member", "uniqueMember", "memberUid"].filter((a) => a !== settings.memberAttribute)) {
    if (await some(other)) {
      throw new TargetError("permanent", `no group under ${quoted(settings.groupBase)} lists members in ${settings.memberAttribute}, but some use ${other}: set memberAttribute: ${other}`);
    }
  }
}

export default {
  id: "ldap",
  configFields,
  checkConfig: configProblems,

  async validate(ctx) {
    await withLdap(ctx, async (ldap) => {
      const { settings } = ldap;
      for (const [name, dn] of [["userBase", settings.userBase], ["groupBase", settings.groupBase]] as const) {
        if (!(await ldap.read(dn, ["1.1"]))) throw new TargetError("permanent", `config.${name} ${quoted(dn)} does not exist, or the bind DN may not read it`);
      }
      await checkMemberAttribute(ldap);
      if (settings.disable.style !== "openldap-ppolicy") return;
      const root = await ldap.read("", ["supportedControl"]);
      if (!root || !values(root, "supportedControl").includes(PPOLICY_CONTROL)) {
        throw new TargetError("permanent", `the directory does not advertise the password policy control (${PPOLICY_CONTROL}), so pwdAccountLockedTime would lock nothing: load the ppolicy overlay, or choose another disableStyle`);
      }
      if (settings.passwordPolicyDn) {
        const policy = await ldap.read(settings.passwordPolicyDn, ["pwdLockout"]);
        if (!policy) throw new TargetError("permanent", `config.passwordPolicyDn ${quoted(settings.passwordPolicyDn)} does not exist, or the bind DN may not read it`);
        if (values(policy, "pwdLockout")[0]?.toUpperCase() !== "TRUE") {
          throw new TargetError("permanent", `the password policy ${quoted(settings.passwordPolicyDn)} has no pwdLockout: TRUE, so ppolicy does not enforce pwdAccountLockedTime and a locked account could still bind; set pwdLockout: TRUE`);
        }
      }
    });
  },

  findAccount: (subject, ctx) =>
    withLdap(ctx, async (ldap) => {
      const { settings } = ldap;
      const filter = userFilterFor(settings.userFilter, subject);
      const memberUid = settings.memberAttribute === "memberUid";
      const found = await ldap.search(settings.userBase, { scope: "sub", filter, attributes: memberUid ? [settings.memberUidAttribute] : ["1.1"], sizeLimit: 2 });
      if (found.length === 0) return null;
      if (found.length > 1) {
        throw new TargetError("permanent", `config.userFilter ${filter} matches more than one entry under ${settings.userBase} (${found.map((e) => e.dn).join("; ")}); make it match one person`);
      }
      const entry = found[0]!;
      if (!memberUid) return { id: entry.dn };
      const uid = values(entry, settings.memberUidAttribute)[0];
      if (uid === undefined) throw new TargetError("permanent", `${entry.dn} has no ${settings.memberUidAttribute}, which memberUid groups list; set memberUidAttribute to an attribute the entry has`);
      return { id: entry.dn, data: { memberUid: uid } };
    }),

  plans: {
    deactivate: [removeGroupMemberships, disable],
    delete: [removeGroupMemberships, deleteAccount],
    "revoke-entitlement": [removeGroupMembership],
  },

  verify: (account, ctx) =>
    withLdap(ctx, async (ldap): Promise<Probe> => {
      const intent = ctx.intent;
      if (intent.kind === "revoke-entitlement") return verifyEntitlement(ldap, account, intent.entitlement);
      const memberships = await membershipsOf(ldap, account);
      const groups = `${memberships.how} → ${listed(memberships.groups)}`;
      let gone: boolean;
      let shown: string;
      if (intent.kind === "delete") {
        gone = (await ldap.read(account.id, ["1.1"])) === null;
        shown = gone ? "noSuchObject (the entry is gone)" : "the entry still exists";
      } else {
        const lock = await lockState(ldap, account.id);
        gone = !lock.exists || lock.disabled;
        shown = lock.shown;
      }
      return { revoked: gone && memberships.groups.length === 0, evidence: `search base ${quoted(account.id)} → ${shown}; ${groups}` };
    }),
} satisfies Connector<LdapConfig>;
