import { TargetError, type Connector, type StepNote, type TargetContext } from "../../src/connector-kit.js";
import { describeConformance, kitContext, kitUserName } from "../../test/support/conformance.js";
import { engineHarness, type EngineHarness } from "../../test/support/engine-harness.js";
import { googlePeer, type GooglePeer } from "../../test/support/peers/google-peer.js";
import { updateTargetPolicy } from "../../src/storage/targets-repo.js";
import connector, { SIGN_OUT_TAIL_MS, type GoogleWorkspaceConfig } from "./index.js";
import { configProblems } from "./config.js";

describeConformance(connector, () => googlePeer());

const step = (name: string) => [...connector.plans.deactivate, ...connector.plans.delete, ...connector.plans["revoke-entitlement"]].find((s) => s.name === name)!;

async function failure(promise: Promise<unknown>): Promise<TargetError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TargetError) return error;
    throw error;
  }
  throw new Error("expected a TargetError");
}

describe("google-workspace against the Google fake", () => {
  let peer: GooglePeer;
  const ctx = (intent: TargetContext["intent"] = { kind: "deactivate" }, extra: Partial<TargetContext<GoogleWorkspaceConfig>> = {}) => ({ ...kitContext(peer.config, intent), ...extra });
  const seeded = async (label: string, entitlements: string[] = []) => {
    const subject = await peer.seedAccount({ userName: kitUserName(label), entitlements });
    const account = await connector.findAccount(subject, ctx());
    return { subject, account: account! };
  };

  beforeAll(async () => {
    peer = await googlePeer();
  });
  afterAll(() => peer.close());

  it("sign-out is acknowledged, not observed: it records evidence and when the tokens it cannot reach expire", async () => {
    expect(step("sign-out-sessions").observable).toBe(false);
    const { account } = await seeded("sign-out");
    const notes: StepNote[] = [];
    const now = new Date("2026-12-03T12:00:00Z");
    await expect(step("sign-out-sessions").run(account, ctx(undefined, { note: (n) => notes.push(n), now: () => now }))).resolves.toBe("done");
    expect(peer.fake.user(account.id)!.signOuts).toBe(1);
    expect(notes).toEqual([{ evidence: `POST /users/${account.id}/signOut → 204; Google shows no session state to check`, tokensExpireAt: new Date(now.getTime() + SIGN_OUT_TAIL_MS) }]);
  });

  it("a 403 userRateLimitExceeded or quotaExceeded is throttling, not an auth failure (targets-reference §11.3)", async () => {
    for (const reason of ["userRateLimitExceeded", "quotaExceeded"]) {
      peer.fake.failNext(403, reason);
      const error = await failure(connector.validate(ctx()));
      expect(error.kind).toBe("rate-limited");
      expect(error.message).toContain(reason);
    }
  });

  it("a 403 forbidden (the admin lacks the privilege) is auth", async () => {
    peer.fake.failNext(403, "forbidden");
    expect((await failure(connector.validate(ctx()))).kind).toBe("auth");
  });

  it("delegation missing a scope: the token endpoint's unauthorized_client is auth, naming the fix", async () => {
    const narrow = await googlePeer({ delegatedScopes: ["https://www.googleapis.com/auth/admin.directory.user"] });
    try {
      const error = await failure(connector.validate(kitContext(narrow.config)));
      expect(error.kind).toBe("auth");
      expect(error.message).toContain("Domain-wide delegation");
      expect(error.message).not.toContain("PRIVATE KEY");
    } finally {
      await narrow.close();
    }
  });

  it("caches the access token per target, and after a 401 on a cached token fetches a new one and retries once", async () => {
    const fresh = await googlePeer();
    try {
      await connector.validate(kitContext(fresh.config));
      await connector.validate(kitContext(fresh.config));
      expect(fresh.fake.tokenRequests()).toBe(1);
      fresh.fake.revokeAccessTokens();
      await expect(connector.validate(kitContext(fresh.config))).resolves.toBeUndefined();
      expect(fresh.fake.tokenRequests()).toBe(2);
    } finally {
      await fresh.close();
    }
  });

  it("suspension alone is not revocation: verify stays not-revoked while an OAuth grant is left", async () => {
    const { account } = await seeded("suspend-only");
    await step("suspend-user").run(account, ctx());
    const probe = await connector.verify(account, ctx());
    expect(probe).toEqual({ revoked: false, evidence: `GET /users/${account.id} → suspended=true; GET …/tokens → 2 item(s)` });
  });

  it("a deleted user's first 404 is not believed; the second probe believes it", async () => {
    const { account } = await seeded("delete-404");
    await step("delete-user").run(account, ctx({ kind: "delete" }));
    expect(await connector.verify(account, ctx({ kind: "delete" }, { probe: 1 }))).toMatchObject({ revoked: false, evidence: expect.stringContaining("not believed on the first probe") });
    expect(await connector.verify(account, ctx({ kind: "delete" }, { probe: 2 }))).toMatchObject({ revoked: true, evidence: `GET /users/${account.id} → 404 (no such user)` });
  });

  it("nested membership survives members.delete: hasMember stays true and the evidence says why (targets-reference §3.3)", async () => {
    const parent = peer.fake.createGroup("parent@example.com");
    const { account } = await seeded("nested");
    const child = peer.fake.createGroup("child@example.com");
    peer.fake.addMember(child.id, account.id);
    peer.fake.addMember(parent.id, child.id);
    const intent = { kind: "revoke-entitlement" as const, entitlement: "parent@example.com" };
    peer.fake.addMember(parent.id, account.id); // direct too
    await expect(step("remove-group-membership").run(account, ctx(intent))).resolves.toBe("done");
    await expect(step("remove-group-membership").run(account, ctx(intent))).resolves.toBe("already-done"); // members.delete 404 notFound
    const probe = await connector.verify(account, ctx(intent));
    expect(probe.revoked).toBe(false);
    expect(probe.evidence).toContain("nested through another group");
  });

  it("finds the account by an alias, and keys every later call by the immutable id", async () => {
    const email = kitUserName("alias");
    const user = peer.fake.createUser(`renamed-${email}`, { aliases: [email] });
    const account = await connector.findAccount({ connectionId: "c", id: "s", userName: email, emails: [email] }, ctx());
    expect(account).toEqual({ id: user.id, data: { primaryEmail: `renamed-${email}` } });
  });

  it("rejects configs that cannot work, without quoting the key", () => {
    const problems = configProblems({ clientEmail: "nope", privateKey: "-----BEGIN RSA PRIVATE KEY-----\nsecret\n-----END RSA PRIVATE KEY-----", adminEmail: "a@b", tokenUri: "http://oauth.example.com/token", extra: 1 });
    expect(problems.join("\n")).not.toContain("secret");
    expect(problems).toEqual([
      expect.stringContaining("extra is not a google-workspace config field"),
      expect.stringContaining("clientEmail is required"),
      expect.stringContaining("PKCS#8"),
      expect.stringContaining("tokenUri must use https://"),
    ]);
  });

  describe("through the engine", () => {
    let h: EngineHarness;
    beforeAll(async () => {
      h = await engineHarness({ connectors: [connector as unknown as Connector] });
    }, 60_000);
    afterAll(() => h?.close());

    it("records sign-out-sessions as acknowledged with tokensExpireAt, and the rest as observed", async () => {
      const target = await h.addTarget("google-ack", connector.id, {}, peer.config as unknown as Record<string, unknown>);
      try {
        const subject = await peer.seedAccount({ userName: kitUserName("engine") });
        const id = await h.createUser(subject.userName, { emails: [{ value: subject.emails[0]!, type: "work", primary: true }] });
        await h.deactivate(id);
        await h.drain();
        const tasks = await h.tasks("t.operation_id in (select id from operations where subject_id = $1)", [id]);
        const signOut = tasks[0]!.steps.find((s) => s.name === "sign-out-sessions")!;
        expect(signOut).toMatchObject({ acknowledged: true, tokensExpireAt: expect.any(String) });
        expect(tasks[0]!.steps.filter((s) => s.name !== "sign-out-sessions").every((s) => !("acknowledged" in s))).toBe(true);
      } finally {
        await updateTargetPolicy(h.db, target.id, {}, false);
      }
    }, 30_000);
  });
});
