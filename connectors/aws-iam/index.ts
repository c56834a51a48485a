/**
 * The `aws-iam` connector kind: IAM users in one AWS account, through `@aws-sdk/client-iam`.
 * README.md beside this file is the account owner's guide.
 *
 * Finds: `GetUser` by the IAM user name `userNameTemplate` makes from the SCIM userName
 * (Default: its local part). AWS has no "disable user": the deactivate plan denies the user's
 * earlier STS sessions, removes every credential and every grant, and leaves the user; the delete
 * plan does the same and then deletes the user. revoke-entitlement = RemoveUserFromGroup (one group).
 * Verifies: every List and Get call shows nothing left; delete → GetUser NoSuchEntity (believed from the
 * second probe on); entitlement → ListGroupsForUser without the group.
 */
import { DeleteUserCommand, DeleteUserPolicyCommand, GetUserCommand, GetUserPolicyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { TargetError, type Account, type Connector, type Probe, type RevokeStep, type Subject } from "../../src/connector-kit.js";
import { iam, iamOrGone, type Ctx } from "./client.js";
import { configFields, configProblems, iamUserNameOf, settingsOf, type AwsIamConfig } from "./config.js";
import { DENY_POLICY, groupMemberships, holdingStep, HOLDINGS, remaining } from "./holdings.js";

export type { AwsIamConfig } from "./config.js";

/**
 * The longest an IAM user's STS credentials live: GetSessionToken and GetFederationToken allow
 * up to 36 hours (AWS STS API reference, DurationSeconds); role sessions the user assumed, up to 12.
 */
export const STS_MAX_LIFETIME_MS = 36 * 60 * 60 * 1000;

const VALIDATE_USER = "scim-bridge-validate";

/** The deny-all policy for credentials issued before `at` (targets-reference §6.2, AWS-TEMP). */
export function denyDocument(at: Date): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Sid: "ScimBridgeDenyEarlierSessions", Effect: "Deny", Action: "*", Resource: "*", Condition: { DateLessThan: { "aws:TokenIssueTime": at.toISOString() } } }],
  });
}

/** The cut-off time in a deny policy IAM returned (URL-encoded JSON, as IAM returns policy documents). */
export function cutOffOf(document: string | undefined): Date | null {
  if (!document) return null;
  for (const text of [document, safeDecode(document)]) {
    try {
      const parsed = JSON.parse(text) as { Statement?: { Condition?: { DateLessThan?: Record<string, string> } }[] };
      const at = parsed.Statement?.[0]?.Condition?.DateLessThan?.["aws:TokenIssueTime"];
      if (at && !Number.isNaN(Date.parse(at))) return new Date(at);
    } catch {
      // not this encoding
    }
  }
  return null;
}
const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

async function readDeny(ctx: Ctx, user: string): Promise<string | null> {
  const r = await iamOrGone(ctx, `GetUserPolicy(${user}, ${DENY_POLICY})`, (c, o) => c.send(new GetUserPolicyCommand({ UserName: user, PolicyName: DENY_POLICY }), o));
  return r?.PolicyDocument ?? null;
}

/**
 * Step 0 of §6.1: an inline Deny on everything for credentials issued before now. Issued STS
 * credentials cannot be revoked or listed (§6.2), so the effect is acknowledged, not observed.
 */
const denyEarlierSessions: RevokeStep<AwsIamConfig> = {
  name: "deny-earlier-sessions",
  observable: false,
  async run(account, ctx) {
    const user = account.id;
    const existing = await readDeny(ctx, user);
    const cutOff = cutOffOf(existing ?? undefined);
    if (existing !== null && cutOff) {
      ctx.note?.({ evidence: `GetUserPolicy(${user}, ${DENY_POLICY}) → present, denying credentials issued before ${cutOff.toISOString()}`, tokensExpireAt: new Date(cutOff.getTime() + STS_MAX_LIFETIME_MS) });
      return "already-done";
    }
    const now = ctx.now();
    const put = await iamOrGone(ctx, `PutUserPolicy(${user}, ${DENY_POLICY})`, (c, o) => c.send(new PutUserPolicyCommand({ UserName: user, PolicyName: DENY_POLICY, PolicyDocument: denyDocument(now) }), o));
    if (put === null) {
      ctx.note?.({ evidence: `PutUserPolicy(${user}) → NoSuchEntity (the user is gone)` });
      return "already-done";
    }
    ctx.note?.({
      evidence: `PutUserPolicy(${user}, ${DENY_POLICY}) → ok: Deny * for aws:TokenIssueTime < ${now.toISOString()}; issued STS sessions cannot be listed, so their end is not observable`,
      tokensExpireAt: new Date(now.getTime() + STS_MAX_LIFETIME_MS),
    });
    return "done";
  },
};

/** Removes the session deny (DeleteUser refuses a user with inline policies), then the user; puts the deny back if DeleteUser fails. */
const deleteUser: RevokeStep<AwsIamConfig> = {
  name: "delete-user",
  async run(account, ctx) {
    const user = account.id;
    const deny = await readDeny(ctx, user);
    if (deny !== null) await iamOrGone(ctx, `DeleteUserPolicy(${user}, ${DENY_POLICY})`, (c, o) => c.send(new DeleteUserPolicyCommand({ UserName: user, PolicyName: DENY_POLICY }), o));
    try {
      const r = await iamOrGone(ctx, `DeleteUser(${user})`, (c, o) => c.send(new DeleteUserCommand({ UserName: user }), o));
      ctx.note?.({ evidence: r === null ? `DeleteUser(${user}) → NoSuchEntity (already gone)` : `DeleteUser(${user}) → ok` });
      return r === null ? "already-done" : "done";
    } catch (error) {
      // Leave no window in which earlier sessions regain what is still attached (§6.1 ordering note).
      if (deny !== null) await iam(ctx, `PutUserPolicy(${user}, ${DENY_POLICY})`, (c, o) => c.send(new PutUserPolicyCommand({ UserName: user, PolicyName: DENY_POLICY, PolicyDocument: safeDecode(deny) }), o)).catch(() => undefined);
      throw error;
    }
  },
};

/** revoke-entitlement: the one mapped group (its name). */
const removeGroupMembership: RevokeStep<AwsIamConfig> = {
  name: "remove-group-membership",
  async run(account, ctx) {
    if (ctx.intent.kind !== "revoke-entitlement") throw new TargetError("permanent", "remove-group-membership runs only for revoke-entitlement");
    const group = ctx.intent.entitlement;
    const groups = await groupMemberships.list(ctx, account.id);
    if (groups === null || !groups.includes(group)) {
      ctx.note?.({ evidence: groups === null ? `ListGroupsForUser(${account.id}) → NoSuchEntity (the user is gone)` : `ListGroupsForUser(${account.id}) → not in ${group}` });
      return "already-done";
    }
    await groupMemberships.remove(ctx, account.id, group);
    ctx.note?.({ evidence: `RemoveUserFromGroup(${group}, ${account.id}) → ok` });
    return "done";
  },
};

const credentialSteps = HOLDINGS.map(holdingStep);

async function findAccount(subject: Subject, ctx: Ctx): Promise<Account | null> {
  const { userNameTemplate } = settingsOf(ctx.config);
  const name = iamUserNameOf(subject.userName, userNameTemplate);
  if (name === null) throw new TargetError("permanent", `userNameTemplate ${userNameTemplate} makes no valid IAM user name ([\\w+=,.@-], 1–64 characters) of this subject's userName: change userNameTemplate`);
  const r = await iamOrGone(ctx, `GetUser(${name})`, (c, o) => c.send(new GetUserCommand({ UserName: name }), o));
  if (r === null || !r.User) return null;
  return { id: r.User.UserName ?? name, data: { userId: r.User.UserId ?? null, arn: r.User.Arn ?? null } };
}

/** The user as it is now: gone, another user under the same name (recreated), or the same one. */
async function userNow(account: Account, ctx: Ctx): Promise<{ state: "gone" | "replaced" | "same"; evidence: string }> {
  const r = await iamOrGone(ctx, `GetUser(${account.id})`, (c, o) => c.send(new GetUserCommand({ UserName: account.id }), o));
  if (r === null || !r.User) return { state: "gone", evidence: `GetUser(${account.id}) → NoSuchEntity` };
  const known = typeof account.data?.userId === "string" ? account.data.userId : null;
  if (known && r.User.UserId && r.User.UserId !== known) return { state: "replaced", evidence: `GetUser(${account.id}) → UserId ${r.User.UserId}, not ${known}: the user found was deleted and the name reused` };
  return { state: "same", evidence: `GetUser(${account.id}) → UserId ${r.User.UserId ?? "?"}` };
}

async function verify(account: Account, ctx: Ctx): Promise<Probe> {
  const intent = ctx.intent;
  if (intent.kind === "revoke-entitlement") {
    const groups = await groupMemberships.list(ctx, account.id);
    if (groups === null) return { revoked: true, evidence: `ListGroupsForUser(${account.id}) → NoSuchEntity (the user is gone)` };
    return { revoked: !groups.includes(intent.entitlement), evidence: `ListGroupsForUser(${account.id}) → ${groups.length === 0 ? "no groups" : groups.join(", ")}` };
  }
  const now = await userNow(account, ctx);
  if (now.state === "gone" && intent.kind === "delete" && ctx.probe === 1) {
    // IAM is eventually consistent (AWS-EC): a first NoSuchEntity is believed from the second probe on.
    return { revoked: false, evidence: `${now.evidence} on the first probe; believed when a later probe sees it too` };
  }
  if (now.state !== "same") return { revoked: true, evidence: now.evidence };
  if (intent.kind === "delete") return { revoked: false, evidence: `${now.evidence}: the user still exists` };
  const rest = await remaining(ctx, account.id);
  if (rest.gone) return { revoked: true, evidence: `${now.evidence}, then the lists answered NoSuchEntity: the user is gone` };
  if (rest.left.length > 0) return { revoked: false, evidence: `${now.evidence}; still there: ${rest.left.join("; ")}` };
  return { revoked: true, evidence: `${now.evidence}; no ${rest.seen.join(", no ")} (the List calls empty, GetLoginProfile NoSuchEntity)` };
}

export default {
  id: "aws-iam",
  configFields,
  checkConfig: configProblems,

  registrationWarnings(config) {
    const warnings: string[] = [];
    if (config.accessKeyId === undefined) warnings.push("no accessKeyId: the bridge uses the default AWS credential chain of the host it runs on");
    warnings.push("AWS has no disabled IAM user: deactivate removes every credential, group and policy and leaves the user; STS sessions issued before are denied by an inline policy, not observed ended");
    return warnings;
  },

  async validate(ctx) {
    // One harmless read findAccount also makes: bad keys are auth (InvalidClientTokenId / SignatureDoesNotMatch), a missing iam:GetUser is auth (AccessDenied).
    const r = await iamOrGone(ctx, `GetUser(${VALIDATE_USER})`, (c, o) => c.send(new GetUserCommand({ UserName: VALIDATE_USER }), o));
    if (r !== null) ctx.log.info(`an IAM user named ${VALIDATE_USER} exists; validate only needed the call to be answered`);
  },

  findAccount,

  plans: {
    deactivate: [denyEarlierSessions, ...credentialSteps],
    delete: [denyEarlierSessions, ...credentialSteps, deleteUser],
    "revoke-entitlement": [removeGroupMembership],
  },

  verify,
} satisfies Connector<AwsIamConfig>;
