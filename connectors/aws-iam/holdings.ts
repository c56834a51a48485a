/**
 * What an IAM user holds, one kind per row of targets-reference §6.1's teardown table: how to
 * list it (read-only, for the step and for verify) and how to remove one item. A step built from a
 * holding lists, removes what it found, and answers already-done when the list was empty.
 */
import {
  DeactivateMFADeviceCommand, DeleteAccessKeyCommand, DeleteLoginProfileCommand, DeleteServiceSpecificCredentialCommand,
  DeleteSigningCertificateCommand, DeleteSSHPublicKeyCommand, DeleteUserPolicyCommand, DeleteVirtualMFADeviceCommand,
  DetachUserPolicyCommand, GetLoginProfileCommand, ListAccessKeysCommand, ListAttachedUserPoliciesCommand, ListGroupsForUserCommand,
  ListMFADevicesCommand, ListServiceSpecificCredentialsCommand, ListSigningCertificatesCommand, ListSSHPublicKeysCommand,
  ListUserPoliciesCommand, RemoveUserFromGroupCommand,
} from "@aws-sdk/client-iam";
import type { Account, RevokeStep } from "../../src/connector-kit.js";
import { iamOrGone, listAll, type Ctx } from "./client.js";
import type { AwsIamConfig } from "./config.js";

/** The inline policy the deny-earlier-sessions step adds; the inline-policy step leaves it, delete-user removes it last. */
export const DENY_POLICY = "scim-bridge-deny-earlier-sessions";

export interface Holding {
  /** The step's name: "delete-access-keys". */
  step: string;
  /** Plural noun for evidence: "access keys". */
  noun: string;
  /** The list call's name, for evidence: "ListAccessKeys". */
  lister: string;
  remover: string;
  /** The items' ids (key ids, group names, ARNs); null when the user does not exist. */
  list(ctx: Ctx, user: string): Promise<string[] | null>;
  /** Removes one item; NoSuchEntity (gone meanwhile) is not a failure. */
  remove(ctx: Ctx, user: string, item: string): Promise<void>;
  /** How an item is shown in evidence (an access key id by its last 4 characters). */
  show?(item: string): string;
}

const w = (action: string, user: string) => `${action}(${user})`;
const str = (values: (string | undefined)[] | undefined): string[] => (values ?? []).filter((v): v is string => typeof v === "string");

export const accessKeys: Holding = {
  step: "delete-access-keys", noun: "access keys", lister: "ListAccessKeys", remover: "DeleteAccessKey",
  list: (ctx, user) => listAll(ctx, w("ListAccessKeys", user), (Marker) => async (c, o) => {
    const r = await c.send(new ListAccessKeysCommand({ UserName: user, Marker }), o);
    return { items: str(r.AccessKeyMetadata?.map((k) => k.AccessKeyId)), marker: r.Marker, truncated: r.IsTruncated };
  }),
  remove: async (ctx, user, id) => void (await iamOrGone(ctx, w("DeleteAccessKey", user), (c, o) => c.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: id }), o))),
  show: (id) => `…${id.slice(-4)}`,
};

export const loginProfile: Holding = {
  step: "delete-login-profile", noun: "console password", lister: "GetLoginProfile", remover: "DeleteLoginProfile",
  // GetLoginProfile: NoSuchEntity "if the user does not exist or does not have a password" (AWS-GETLP): both read as none here.
  list: async (ctx, user) => ((await iamOrGone(ctx, w("GetLoginProfile", user), (c, o) => c.send(new GetLoginProfileCommand({ UserName: user }), o))) ? ["password"] : []),
  remove: async (ctx, user) => void (await iamOrGone(ctx, w("DeleteLoginProfile", user), (c, o) => c.send(new DeleteLoginProfileCommand({ UserName: user }), o))),
};

export const signingCertificates: Holding = {
  step: "delete-signing-certificates", noun: "signing certificates", lister: "ListSigningCertificates", remover: "DeleteSigningCertificate",
  list: (ctx, user) => listAll(ctx, w("ListSigningCertificates", user), (Marker) => async (c, o) => {
    const r = await c.send(new ListSigningCertificatesCommand({ UserName: user, Marker }), o);
    return { items: str(r.Certificates?.map((x) => x.CertificateId)), marker: r.Marker, truncated: r.IsTruncated };
  }),
  remove: async (ctx, user, id) => void (await iamOrGone(ctx, w("DeleteSigningCertificate", user), (c, o) => c.send(new DeleteSigningCertificateCommand({ UserName: user, CertificateId: id }), o))),
};

export const sshPublicKeys: Holding = {
  step: "delete-ssh-public-keys", noun: "SSH public keys", lister: "ListSSHPublicKeys", remover: "DeleteSSHPublicKey",
  list: (ctx, user) => listAll(ctx, w("ListSSHPublicKeys", user), (Marker) => async (c, o) => {
    const r = await c.send(new ListSSHPublicKeysCommand({ UserName: user, Marker }), o);
    return { items: str(r.SSHPublicKeys?.map((x) => x.SSHPublicKeyId)), marker: r.Marker, truncated: r.IsTruncated };
  }),
  remove: async (ctx, user, id) => void (await iamOrGone(ctx, w("DeleteSSHPublicKey", user), (c, o) => c.send(new DeleteSSHPublicKeyCommand({ UserName: user, SSHPublicKeyId: id }), o))),
};

export const serviceSpecificCredentials: Holding = {
  step: "delete-service-specific-credentials", noun: "service-specific credentials", lister: "ListServiceSpecificCredentials", remover: "DeleteServiceSpecificCredential",
  list: async (ctx, user) => {
    const r = await iamOrGone(ctx, w("ListServiceSpecificCredentials", user), (c, o) => c.send(new ListServiceSpecificCredentialsCommand({ UserName: user }), o));
    return r === null ? null : str(r.ServiceSpecificCredentials?.map((x) => x.ServiceSpecificCredentialId));
  },
  remove: async (ctx, user, id) => void (await iamOrGone(ctx, w("DeleteServiceSpecificCredential", user), (c, o) => c.send(new DeleteServiceSpecificCredentialCommand({ UserName: user, ServiceSpecificCredentialId: id }), o))),
};

/** A virtual MFA device's serial number is its ARN `arn:aws:iam::<account>:mfa/<name>`; hardware and FIDO serials are not. */
export const isVirtualMfa = (serial: string) => /^arn:aws[\w-]*:iam::\d{12}:mfa\//.test(serial);

export const mfaDevices: Holding = {
  step: "delete-mfa-devices", noun: "MFA devices", lister: "ListMFADevices", remover: "DeactivateMFADevice (+ DeleteVirtualMFADevice)",
  list: (ctx, user) => listAll(ctx, w("ListMFADevices", user), (Marker) => async (c, o) => {
    const r = await c.send(new ListMFADevicesCommand({ UserName: user, Marker }), o);
    return { items: str(r.MFADevices?.map((x) => x.SerialNumber)), marker: r.Marker, truncated: r.IsTruncated };
  }),
  remove: async (ctx, user, serial) => {
    await iamOrGone(ctx, w("DeactivateMFADevice", user), (c, o) => c.send(new DeactivateMFADeviceCommand({ UserName: user, SerialNumber: serial }), o));
    if (isVirtualMfa(serial)) await iamOrGone(ctx, w("DeleteVirtualMFADevice", user), (c, o) => c.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: serial }), o));
  },
};

export const groupMemberships: Holding = {
  step: "remove-group-memberships", noun: "groups", lister: "ListGroupsForUser", remover: "RemoveUserFromGroup",
  list: (ctx, user) => listAll(ctx, w("ListGroupsForUser", user), (Marker) => async (c, o) => {
    const r = await c.send(new ListGroupsForUserCommand({ UserName: user, Marker }), o);
    return { items: str(r.Groups?.map((g) => g.GroupName)), marker: r.Marker, truncated: r.IsTruncated };
  }),
  remove: async (ctx, user, group) => void (await iamOrGone(ctx, w("RemoveUserFromGroup", user), (c, o) => c.send(new RemoveUserFromGroupCommand({ UserName: user, GroupName: group }), o))),
};

export const managedPolicies: Holding = {
  step: "detach-managed-policies", noun: "attached managed policies", lister: "ListAttachedUserPolicies", remover: "DetachUserPolicy",
  list: (ctx, user) => listAll(ctx, w("ListAttachedUserPolicies", user), (Marker) => async (c, o) => {
    const r = await c.send(new ListAttachedUserPoliciesCommand({ UserName: user, Marker }), o);
    return { items: str(r.AttachedPolicies?.map((p) => p.PolicyArn)), marker: r.Marker, truncated: r.IsTruncated };
  }),
  remove: async (ctx, user, arn) => void (await iamOrGone(ctx, w("DetachUserPolicy", user), (c, o) => c.send(new DetachUserPolicyCommand({ UserName: user, PolicyArn: arn }), o))),
};

/** Inline policies other than the connector's own session deny. */
export const inlinePolicies: Holding = {
  step: "delete-inline-policies", noun: "inline policies (besides the session deny)", lister: "ListUserPolicies", remover: "DeleteUserPolicy",
  list: async (ctx, user) => {
    const all = await listAll(ctx, w("ListUserPolicies", user), (Marker) => async (c, o) => {
      const r = await c.send(new ListUserPoliciesCommand({ UserName: user, Marker }), o);
      return { items: str(r.PolicyNames), marker: r.Marker, truncated: r.IsTruncated };
    });
    return all === null ? null : all.filter((name) => name !== DENY_POLICY);
  },
  remove: async (ctx, user, name) => void (await iamOrGone(ctx, w("DeleteUserPolicy", user), (c, o) => c.send(new DeleteUserPolicyCommand({ UserName: user, PolicyName: name }), o))),
};

/** Every credential first (sessions were denied before), then every allow source: §6.1's order. */
export const HOLDINGS: readonly Holding[] = [accessKeys, loginProfile, signingCertificates, sshPublicKeys, serviceSpecificCredentials, mfaDevices, groupMemberships, managedPolicies, inlinePolicies];

const shown = (h: Holding, items: string[]) => items.map((i) => (h.show ? h.show(i) : i)).join(", ");

/** A step that lists the holding and removes each item; already-done when nothing (or no user) is there. */
export function holdingStep(h: Holding): RevokeStep<AwsIamConfig> {
  return {
    name: h.step,
    async run(account: Account, ctx: Ctx) {
      const items = await h.list(ctx, account.id);
      if (items === null) {
        ctx.note?.({ evidence: `${h.lister}(${account.id}) → NoSuchEntity (the user is gone)` });
        return "already-done";
      }
      if (items.length === 0) {
        ctx.note?.({ evidence: `${h.lister}(${account.id}) → no ${h.noun}` });
        return "already-done";
      }
      for (const item of items) await h.remove(ctx, account.id, item);
      ctx.note?.({ evidence: `${h.lister}(${account.id}) → ${items.length} ${h.noun} (${shown(h, items)}); ${h.remover} each → ok` });
      return "done";
    },
  };
}

/** What verify reports of one holding: none, or what is left. */
export async function remaining(ctx: Ctx, user: string): Promise<{ gone: true } | { gone: false; left: string[]; seen: string[] }> {
  const left: string[] = [];
  const seen: string[] = [];
  for (const h of HOLDINGS) {
    const items = await h.list(ctx, user);
    if (items === null) return { gone: true };
    if (items.length > 0) left.push(`${h.lister} → ${items.length} ${h.noun} (${shown(h, items)})`);
    else seen.push(h.noun);
  }
  return { gone: false, left, seen };
}
