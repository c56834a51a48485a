import { planFor, TargetError, type Account, type StepNote, type TargetContext } from "../../src/connector-kit.js";
import { describeConformance, kitContext, kitUserName } from "../../test/support/conformance.js";
import { slackPeer, type SlackPeer } from "../../test/support/peers/slack-peer.js";
import slack from "./index.js";
import type { SlackConfig } from "./config.js";

describeConformance(slack, () => slackPeer());
// Business+: no session API, the plan is user groups then deactivation
describeConformance(slack, () => slackPeer({ config: { enterpriseGrid: false, sessionTeamIds: [] } }));

async function thrown(promise: Promise<unknown>): Promise<TargetError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TargetError);
    return error as TargetError;
  }
  throw new Error("expected a failure");
}

describe("slack specifics", () => {
  let peer: SlackPeer;
  beforeAll(async () => {
    peer = await slackPeer({ fake: { infoLagReads: 2 } });
  });
  afterAll(() => peer.close());

  const withNotes = (config: SlackConfig, intent: TargetContext["intent"] = { kind: "deactivate" }) => {
    const notes: StepNote[] = [];
    const ctx: TargetContext<SlackConfig> = { ...kitContext(config, intent), note: (n) => notes.push(n) };
    return { ctx, notes };
  };
  const seed = async (label: string, groups: string[] = []) => {
    const subject = await peer.seedAccount({ userName: kitUserName(label), entitlements: groups });
    const account = await slack.findAccount(subject, kitContext(peer.config));
    expect(account).not.toBeNull();
    return account as Account;
  };

  it("plans: sessions first, then user groups, then the account; Business+ has no session step; delete = deactivate", () => {
    expect(planFor(slack, "deactivate", peer.config).map((s) => s.name)).toEqual(["reset-sessions", "remove-usergroup-memberships", "deactivate-user"]);
    expect(planFor(slack, "delete", peer.config)).toEqual(planFor(slack, "deactivate", peer.config));
    const business = { ...peer.config, enterpriseGrid: false, sessionTeamIds: [] };
    expect(planFor(slack, "deactivate", business).map((s) => s.name)).toEqual(["remove-usergroup-memberships", "deactivate-user"]);
    expect(planFor(slack, "revoke-entitlement", peer.config).map((s) => s.name)).toEqual(["remove-usergroup-membership"]);
  });

  it("Grid without sessionTeamIds: the reset is acknowledged, recorded with tokensExpireAt", async () => {
    const config = { ...peer.config, sessionTeamIds: [] };
    const [step] = planFor(slack, "deactivate", config);
    expect(step!.name).toBe("reset-sessions");
    expect(step!.observable).toBe(false);
    const account = await seed("ack");
    const { ctx, notes } = withNotes(config);
    await expect(step!.run(account, ctx)).resolves.toBe("done");
    expect(notes[0]!.tokensExpireAt).toBeInstanceOf(Date);
    expect(notes[0]!.evidence).toContain("admin.users.session.reset → ok (acknowledged");
    expect([...peer.fake.users.get(account.id)!.sessions.values()]).toEqual([0, 0]);
  });

  it("users.info lags the SCIM deactivation: verify says not revoked until deleted=true shows", async () => {
    const account = await seed("lag");
    const ctx = kitContext(peer.config);
    for (const step of planFor(slack, "deactivate", peer.config)) await step.run(account, ctx);
    const first = await slack.verify(account, ctx);
    expect(first).toMatchObject({ revoked: false });
    expect(first.evidence).toContain("active=false");
    expect(first.evidence).toContain("deleted=false");
    await slack.verify(account, ctx);
    const third = await slack.verify(account, ctx);
    expect(third).toMatchObject({ revoked: true });
    expect(third.evidence).toContain("deleted=true");
  });

  it("a SCIM 404 is not believed on the first probe, and is from the second on", async () => {
    const account = await seed("gone");
    peer.fake.users.get(account.id)!.deleted = true;
    for (const s of peer.fake.users.get(account.id)!.sessions.keys()) peer.fake.users.get(account.id)!.sessions.set(s, 0);
    peer.fake.users.delete(account.id);
    const ctx = kitContext(peer.config);
    await expect(slack.verify(account, { ...ctx, probe: 1 })).resolves.toMatchObject({ revoked: false, evidence: expect.stringContaining("not believed") });
    // from probe 2, SCIM 404 and users.info user_not_found agree: gone
    await expect(slack.verify(account, { ...ctx, probe: 2 })).resolves.toMatchObject({ revoked: true, evidence: expect.stringContaining("user_not_found") });
  });

  it("users.info user_not_found while SCIM still shows the user is no proof: permanent", async () => {
    const account = await seed("split");
    peer.fake.failNextWeb("user_not_found");
    expect((await thrown(slack.verify(account, kitContext(peer.config)))).kind).toBe("permanent");
  });

  it("a deactivated user is not found by email (Slack's lookupByEmail hides them): nothing to revoke", async () => {
    const subject = await peer.seedAccount({ userName: kitUserName("hidden") });
    const account = await slack.findAccount(subject, kitContext(peer.config));
    peer.fake.users.get(account!.id)!.active = false;
    await expect(slack.findAccount(subject, kitContext(peer.config))).resolves.toBeNull();
  });

  it("delete evidence says Slack does not delete users", async () => {
    const account = await seed("delete");
    const ctx = kitContext(peer.config, { kind: "delete" });
    for (const step of planFor(slack, "delete", peer.config)) await step.run(account, ctx);
    let probe = await slack.verify(account, ctx);
    for (let i = 0; i < 3 && !probe.revoked; i++) probe = await slack.verify(account, ctx);
    expect(probe).toMatchObject({ revoked: true, evidence: expect.stringContaining("Slack does not delete users") });
  });

  it("trap: the person is a user group's last member: Slack refuses an empty group, permanent with the fix", async () => {
    const account = await seed("last");
    const lonely = peer.fake.createUsergroup("lonely", [account.id]);
    const writes = peer.fake.writes();
    const error = await thrown(planFor(slack, "revoke-entitlement", peer.config)[0]!.run(account, kitContext(peer.config, { kind: "revoke-entitlement", entitlement: lonely })));
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain("no_users_provided");
    expect(error.message).toContain("usergroups.disable");
    expect(peer.fake.writes()).toBe(writes);
    peer.fake.usergroups.delete(lonely);
  });

  it("revoking a user group that no longer exists is already-done, and verified", async () => {
    const account = await seed("nogroup");
    const ctx = kitContext(peer.config, { kind: "revoke-entitlement", entitlement: "S404" });
    await expect(planFor(slack, "revoke-entitlement", peer.config)[0]!.run(account, ctx)).resolves.toBe("already-done");
    await expect(slack.verify(account, ctx)).resolves.toMatchObject({ revoked: true, evidence: expect.stringContaining("no_such_subteam") });
  });

  it("Web API ok:false on HTTP 200: missing_scope is auth naming the scope; ratelimited is rate-limited", async () => {
    const account = await seed("scope", [peer.entitlement!]);
    const readOnly = { ...peer.config, webToken: peer.fake.readOnlyWebToken };
    const step = planFor(slack, "revoke-entitlement", readOnly)[0]!;
    const error = await thrown(step.run(account, kitContext(readOnly, { kind: "revoke-entitlement", entitlement: peer.entitlement! })));
    expect(error.kind).toBe("auth");
    expect(error.message).toContain("usergroups:write");
    expect(error.message).not.toContain(peer.fake.webToken);
    peer.fake.failNextWeb("ratelimited");
    expect((await thrown(slack.verify(account, kitContext(peer.config)))).kind).toBe("rate-limited");
  });

  it("a 429 on the SCIM API (per-org budget shared with the IdP) is rate-limited with retryAfterMs", async () => {
    const account = await seed("scim429");
    peer.fake.throttleNext(30);
    const error = await thrown(slack.verify(account, kitContext(peer.config)));
    expect(error.kind).toBe("rate-limited");
    expect(error.detail.retryAfterMs).toBe(30_000);
  });

  it("trap: the IdP may already write Slack SCIM: registration warns", () => {
    const config = peer.config as unknown as Record<string, unknown>;
    expect(slack.registrationWarnings({ ...config, idpProvisionsScim: true }).join(" ")).toContain("second writer");
    const { idpProvisionsScim: _, ...unstated } = config;
    expect(slack.registrationWarnings(unstated).join(" ")).toContain("idpProvisionsScim is not set");
    expect(slack.registrationWarnings(config)).toEqual([]);
    expect(slack.registrationWarnings({ ...config, enterpriseGrid: false, sessionTeamIds: undefined }).join(" ")).toContain("no session-reset API");
  });

  it("checkConfig names each bad field with its fix", () => {
    expect(slack.checkConfig({ scimToken: "", webToken: "x", scimBaseUrl: "http://slack.example/scim/v2/Users", sessionTeamIds: ["T1"], bogus: 1 })).toEqual([
      expect.stringContaining("bogus is not a slack config field"),
      expect.stringContaining("scimToken is required"),
      expect.stringContaining("scimBaseUrl must use https://"),
      expect.stringContaining("sessionTeamIds needs enterpriseGrid: true"),
    ]);
  });

  it("evidence and errors never carry a token", async () => {
    const account = await seed("secret", [peer.entitlement!]);
    const { ctx, notes } = withNotes(peer.config);
    for (const step of planFor(slack, "deactivate", peer.config)) await step.run(account, ctx);
    const probe = await slack.verify(account, ctx);
    const all = JSON.stringify([notes, probe]);
    for (const token of [peer.fake.scimToken, peer.fake.webToken]) expect(all).not.toContain(token);
  });
});
