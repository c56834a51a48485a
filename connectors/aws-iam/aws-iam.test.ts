import { planFor, type Account, type Intent, type StepNote, type TargetContext } from "../../src/connector-kit.js";
import { describeConformance, kitContext } from "../../test/support/conformance.js";
import { engineHarness } from "../../test/support/engine-harness.js";
import { startIamFake, type IamFake } from "../../test/support/peers/aws-iam-fake.js";
import { awsIamPeer, FULL_SEED } from "../../test/support/peers/aws-iam-peer.js";
import { targetErrorOf as errorOf } from "../../test/support/target-error-of.js";
import type { AwsIamConfig } from "./config.js";
import { DENY_POLICY } from "./holdings.js";
import connector, { cutOffOf, STS_MAX_LIFETIME_MS } from "./index.js";

describeConformance(connector, () => awsIamPeer());

describe("with userNameTemplate {userName} (the whole e-mail as the IAM user name)", () => {
  describeConformance(connector, () => awsIamPeer({ config: { userNameTemplate: "{userName}" } }));
});

let fake: IamFake;
let config: AwsIamConfig;
beforeAll(async () => {
  fake = await startIamFake();
  fake.createGroup("Engineering");
  fake.createGroup("Operations");
  config = { region: fake.region, endpoint: fake.endpoint, ...fake.credentials };
});
afterAll(async () => {
  await fake?.close();
});

let seq = 0;
/** A context that records what steps note, with an optional probe number. */
function ctx(intent: Intent = { kind: "deactivate" }, options: { probe?: number; c?: AwsIamConfig } = {}) {
  const notes: StepNote[] = [];
  const base = kitContext(options.c ?? config, intent);
  const c: TargetContext<AwsIamConfig> = { ...base, note: (n) => notes.push(n), ...(options.probe !== undefined ? { probe: options.probe } : {}) };
  return { c, notes };
}
async function seed(groups: string[] = ["Engineering"]) {
  const userName = `person${++seq}@example.com`;
  const name = `person${seq}`;
  fake.createUser(name, { ...FULL_SEED, groups });
  const account = await connector.findAccount({ connectionId: "c", id: `s-${seq}`, userName, emails: [userName] }, ctx().c);
  expect(account).toMatchObject({ id: name });
  return { name, account: account! };
}
async function run(account: Account, intent: Intent = { kind: "deactivate" }) {
  const out: { step: string; outcome: string; note: StepNote }[] = [];
  for (const step of planFor(connector, intent.kind)) {
    const { c, notes } = ctx(intent);
    out.push({ step: step.name, outcome: await step.run(account, c), note: Object.assign({}, ...notes) as StepNote });
  }
  return out;
}

describe("aws-iam connector against the IAM Query API fake", () => {
  it("deactivate: denies earlier sessions first, removes every credential and grant, and leaves the user (AWS has no disabled user)", async () => {
    const { name, account } = await seed(["Engineering", "Operations"]);
    const result = await run(account);
    expect(result.map((r) => r.step)).toEqual([
      "deny-earlier-sessions", "delete-access-keys", "delete-login-profile", "delete-signing-certificates", "delete-ssh-public-keys",
      "delete-service-specific-credentials", "delete-mfa-devices", "remove-group-memberships", "detach-managed-policies", "delete-inline-policies",
    ]);
    expect(result.every((r) => r.outcome === "done")).toBe(true);
    const u = fake.user(name)!;
    expect(u).toBeDefined();
    expect([u.accessKeys.size, u.signingCertificates.size, u.sshPublicKeys.size, u.serviceSpecificCredentials.size, u.mfa.size, u.groups.size, u.attached.size]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(u.loginProfile).toBeNull();
    expect([...u.inline.keys()]).toEqual([DENY_POLICY]);
    // the virtual device is deleted after deactivation; a hardware one is only deactivated (it is not an IAM object to delete)
    expect(fake.virtualMfaDevices()).not.toContain(`arn:aws:iam::123456789012:mfa/${name}`);
    const evidence = result.find((r) => r.step === "delete-access-keys")!.note.evidence!;
    expect(evidence).toMatch(new RegExp(`^ListAccessKeys\\(${name}\\) → 2 access keys \\(…\\w{4}, …\\w{4}\\); DeleteAccessKey each → ok$`));
    for (const key of [...fake.calls].map((c) => c.params.AccessKeyId).filter(Boolean)) expect(evidence).not.toContain(key);
    const probe = await connector.verify(account, ctx().c);
    expect(probe.revoked).toBe(true);
    expect(probe.evidence).toContain("no access keys, no console password");
  });

  it("the STS tail is acknowledged, with tokensExpireAt 36 h after the cut-off, and the deny policy it adds is the documented one", async () => {
    const { name, account } = await seed();
    const step = planFor(connector, "deactivate")[0]!;
    expect(step).toMatchObject({ name: "deny-earlier-sessions", observable: false });
    const first = ctx();
    const before = Date.now();
    expect(await step.run(account, first.c)).toBe("done");
    const doc = JSON.parse(fake.user(name)!.inline.get(DENY_POLICY)!);
    expect(doc.Statement[0]).toMatchObject({ Effect: "Deny", Action: "*", Resource: "*" });
    const cutOff = Date.parse(doc.Statement[0].Condition.DateLessThan["aws:TokenIssueTime"]);
    expect(cutOff).toBeGreaterThanOrEqual(before - 1000);
    expect(first.notes[0]!.tokensExpireAt!.getTime()).toBe(cutOff + STS_MAX_LIFETIME_MS);
    expect(first.notes[0]!.evidence).toContain("not observable");
    // twice: already-done, the same cut-off and expiry (read back from GetUserPolicy's URL-encoded document)
    const second = ctx();
    expect(await step.run(account, second.c)).toBe("already-done");
    expect(second.notes[0]!.tokensExpireAt!.getTime()).toBe(cutOff + STS_MAX_LIFETIME_MS);
    expect(cutOffOf(encodeURIComponent(JSON.stringify(doc)))!.getTime()).toBe(cutOff);
  });

  it("through the engine, the deny step is recorded acknowledged with tokensExpireAt", async () => {
    const h = await engineHarness({ connectors: [connector as never] });
    try {
      await h.addTarget("aws", "aws-iam", {}, config as unknown as Record<string, unknown>);
      fake.createUser("engine-person", { ...FULL_SEED });
      const id = await h.createUser("engine-person@example.com", { emails: [{ value: "engine-person@example.com", type: "work", primary: true }] });
      await h.deactivate(id);
      await h.drain();
      const [task] = await h.tasks();
      expect(task!.state).toBe("verified");
      const deny = task!.steps.find((s) => s.name === "deny-earlier-sessions")!;
      expect(deny).toMatchObject({ outcome: "done", acknowledged: true });
      expect(Date.parse(deny.tokensExpireAt!)).toBe(Date.parse(deny.at) + STS_MAX_LIFETIME_MS);
      expect(task!.steps.filter((s) => s.acknowledged)).toHaveLength(1);
    } finally {
      await h.close();
    }
  }, 30_000);

  it("delete: removes the deny last, then the user; a first NoSuchEntity is believed only from probe 2", async () => {
    const { name, account } = await seed();
    const result = await run(account, { kind: "delete" });
    expect(result.at(-1)).toMatchObject({ step: "delete-user", outcome: "done", note: { evidence: `DeleteUser(${name}) → ok` } });
    expect(fake.user(name)).toBeUndefined();
    expect(await connector.verify(account, ctx({ kind: "delete" }, { probe: 1 }).c)).toEqual({ revoked: false, evidence: `GetUser(${name}) → NoSuchEntity on the first probe; believed when a later probe sees it too` });
    expect(await connector.verify(account, ctx({ kind: "delete" }, { probe: 2 }).c)).toEqual({ revoked: true, evidence: `GetUser(${name}) → NoSuchEntity` });
    // every step again: already-done, the user is gone
    expect((await run(account, { kind: "delete" })).map((r) => r.outcome).every((o) => o === "already-done")).toBe(true);
  });

  it("delete-user: DeleteConflict (something attached meanwhile) is permanent, and the session deny is put back", async () => {
    const { name, account } = await seed();
    await run(account);
    fake.user(name)!.accessKeys.set("AKIANEWKEY0000000", { Status: "Active", CreateDate: new Date().toISOString() });
    const del = planFor(connector, "delete").at(-1)!;
    const error = await errorOf(del.run(account, ctx({ kind: "delete" }).c));
    expect(error).toMatchObject({ kind: "permanent", detail: { status: 409 } });
    expect(error.message).toContain(`DeleteUser(${name}) answered 409 DeleteConflict`);
    expect([...fake.user(name)!.inline.keys()]).toEqual([DENY_POLICY]);
  });

  it("a user deleted and recreated under the same name is not the account found: verify says the original is gone", async () => {
    const { name, account } = await seed();
    await run(account, { kind: "delete" });
    fake.createUser(name, { accessKeys: 1 });
    const probe = await connector.verify(account, ctx({ kind: "delete" }, { probe: 2 }).c);
    expect(probe.revoked).toBe(true);
    expect(probe.evidence).toMatch(/the user found was deleted and the name reused/);
  });

  it("stale reads after the plan (IAM is eventually consistent): verify answers not revoked, then revoked once reads catch up", async () => {
    const { name, account } = await seed();
    fake.staleReads(12);
    await run(account); // the steps' own lists also read stale state here, but the writes go through
    const stale = await connector.verify(account, ctx().c);
    expect(stale.revoked).toBe(false);
    expect(stale.evidence).toContain(`GetUser(${name})`);
    const fresh = await connector.verify(account, ctx().c);
    expect(fresh.revoked).toBe(true);
  });

  it("revoke-entitlement removes the one mapped group, leaves the other, and is already-done for a group the user is not in", async () => {
    const { name, account } = await seed(["Engineering", "Operations"]);
    const intent: Intent = { kind: "revoke-entitlement", entitlement: "Engineering" };
    expect(await connector.verify(account, ctx(intent).c)).toEqual({ revoked: false, evidence: `ListGroupsForUser(${name}) → Engineering, Operations` });
    expect((await run(account, intent)).map((r) => r.outcome)).toEqual(["done"]);
    expect([...fake.user(name)!.groups]).toEqual(["Operations"]);
    expect(fake.user(name)!.accessKeys.size).toBe(2);
    expect((await run(account, intent)).map((r) => r.outcome)).toEqual(["already-done"]);
  });

  it("400 Throttling (IAM's signal, no Retry-After) is rate-limited, and the SDK does not retry it itself", async () => {
    fake.throttleNext(0.3);
    const before = fake.calls.length;
    const error = await errorOf(connector.validate(ctx().c));
    expect(error).toMatchObject({ kind: "rate-limited", detail: { status: 400 } });
    expect(error.detail.retryAfterMs).toBeUndefined();
    expect(error.message).toContain("answered 400 Throttling");
    expect(fake.calls.length - before).toBe(1);
    await new Promise((r) => setTimeout(r, 350));
    await expect(connector.validate(ctx().c)).resolves.toBeUndefined();
  });

  it.each([
    ["an unknown access key id", { accessKeyId: "AKIAUNKNOWN00000000" }, "InvalidClientTokenId"],
    ["a wrong secret", { secretAccessKey: "wrong" }, "SignatureDoesNotMatch"],
  ])("%s is auth (%s)", async (_, change, code) => {
    const error = await errorOf(connector.validate(ctx({ kind: "deactivate" }, { c: { ...config, ...change } }).c));
    expect(error).toMatchObject({ kind: "auth", detail: { status: 403 } });
    expect(error.message).toContain(code);
    expect(error.message).not.toContain(fake.credentials.secretAccessKey);
  });

  it("a principal without iam:DeleteAccessKey gets auth naming the README's permissions; the step can be re-run after the grant", async () => {
    const own = await startIamFake();
    try {
      own.createUser("denied", { accessKeys: 1 });
      own.deny(["DeleteAccessKey"]);
      const c: AwsIamConfig = { region: own.region, endpoint: own.endpoint, ...own.credentials };
      const step = planFor(connector, "deactivate").find((s) => s.name === "delete-access-keys")!;
      const error = await errorOf(step.run({ id: "denied" }, kitContext(c)));
      expect(error).toMatchObject({ kind: "auth", detail: { status: 403 } });
      expect(error.message).toContain("DeleteAccessKey(denied) answered 403 AccessDenied; grant the connector's principal the IAM actions listed in the aws-iam README");
    } finally {
      await own.close();
    }
  });

  it("findAccount maps the userName by the template, and refuses a template result that cannot be an IAM user name", async () => {
    fake.createUser("dana.lee", {});
    const subject = { connectionId: "c", id: "s", userName: "dana.lee@example.com", emails: [] };
    await expect(connector.findAccount(subject, ctx().c)).resolves.toMatchObject({ id: "dana.lee", data: { userId: expect.stringMatching(/^AIDA/) } });
    const error = await errorOf(connector.findAccount({ ...subject, userName: "dana lee (contractor)@example.com" }, ctx().c));
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain("change userNameTemplate");
    expect(error.message).not.toContain("dana");
  });
});
