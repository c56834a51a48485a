/**
 * The microsoft-graph kind against the in-process Graph fake: the conformance kit, then the traps
 * of targets-reference.md §4/§11 that apply (member removal by `/$ref` only, replication-lag 404s,
 * the sign-out acknowledgement's token tail, soft delete, throttling, token caching).
 */
import type { Account, StepNote } from "../../src/connector-kit.js";
import { TargetError } from "../../src/connector-kit.js";
import { describeConformance, kitContext, kitUserName } from "../../test/support/conformance.js";
import { graphPeer, type GraphPeer } from "../../test/support/peers/graph-peer.js";
import graph from "./index.js";
import { forgetTokens } from "./client.js";

describeConformance(graph, () => graphPeer());

describe("microsoft-graph specifics", () => {
  let peer: GraphPeer;
  beforeAll(async () => {
    peer = await graphPeer();
  });
  afterAll(async () => {
    await peer.close();
  });

  const seed = async (entitlements: string[] = []) => {
    const subject = await peer.seedAccount({ userName: kitUserName("graph"), entitlements });
    const account = (await graph.findAccount(subject, kitContext(peer.config)))!;
    return { subject, account };
  };
  const runPlan = async (account: Account, kind: "deactivate" | "delete", notes: Record<string, StepNote> = {}) => {
    for (const step of kind === "delete" ? graph.plans.delete : graph.plans.deactivate) {
      const ctx = { ...kitContext(peer.config, { kind }), note: (n: StepNote) => void (notes[step.name] = { ...notes[step.name], ...n }) };
      await step.run(account, ctx);
    }
    return notes;
  };

  it("removes memberships with DELETE …/members/{id}/$ref, never the member object: the user still exists after", async () => {
    const { account } = await seed([peer.entitlement!, peer.otherEntitlement!]);
    const ctx = kitContext(peer.config, { kind: "revoke-entitlement", entitlement: peer.entitlement! });
    const from = peer.fake.requests.length;
    await expect(graph.plans["revoke-entitlement"][0]!.run(account, ctx)).resolves.toBe("done");
    const deletes = peer.fake.requests.slice(from).filter((r) => r.method === "DELETE");
    expect(deletes.map((r) => r.path)).toEqual([`/v1.0/groups/${peer.entitlement}/members/${account.id}/$ref`]);
    expect(peer.fake.users.has(account.id)).toBe(true);
    expect(peer.fake.groups.get(peer.otherEntitlement!)!.members.has(account.id)).toBe(true);

    await runPlan(account, "deactivate");
    const all = peer.fake.requests.slice(from).filter((r) => r.method === "DELETE" && r.path.startsWith("/v1.0/groups/"));
    expect(all.length).toBeGreaterThan(1);
    for (const r of all) expect(r.path).toMatch(/\/members\/[^/]+\/\$ref$/);
    expect(peer.fake.users.get(account.id)).toMatchObject({ accountEnabled: false });
  });

  it("never sends DELETE /users/{id} in the deactivate or revoke-entitlement plans", async () => {
    const { account } = await seed([peer.entitlement!]);
    const from = peer.fake.requests.length;
    await runPlan(account, "deactivate");
    expect(peer.fake.requests.slice(from).some((r) => r.method === "DELETE" && r.path.startsWith("/v1.0/users/") && !r.path.includes("/appRoleAssignments/"))).toBe(false);
    expect(peer.fake.deleted.has(account.id)).toBe(false);
  });

  it("records revoke-sign-in-sessions as acknowledged, with tokensExpireAt = now + 90 min (Entra's 60–90 min default)", async () => {
    const { account } = await seed();
    const step = graph.plans.deactivate.find((s) => s.name === "revoke-sign-in-sessions")!;
    expect(step.observable).toBe(false);
    const before = Date.now();
    const notes = await runPlan(account, "deactivate");
    const note = notes["revoke-sign-in-sessions"]!;
    expect(note.tokensExpireAt!.getTime()).toBeGreaterThanOrEqual(before + 90 * 60_000);
    expect(note.tokensExpireAt!.getTime()).toBeLessThan(Date.now() + 90 * 60_000 + 1000);
    expect(note.evidence).toMatch(/revokeSignInSessions → 200 \(acknowledged/);
    expect(note.evidence).not.toContain(peer.fake.clientSecret);
  });

  it("accessTokenLifetimeMinutes moves the acknowledged tail", async () => {
    const { account } = await seed();
    let note: StepNote = {};
    const ctx = { ...kitContext({ ...peer.config, accessTokenLifetimeMinutes: 1440 }), note: (n: StepNote) => void (note = n) };
    await graph.plans.deactivate[0]!.run(account, ctx);
    expect(note.tokensExpireAt!.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
  });

  it("a first 404 on the user is not believed (replication lag); from probe 2 on it is", async () => {
    const { account } = await seed();
    await runPlan(account, "deactivate");
    peer.fake.lagNext(1);
    await expect(graph.verify(account, { ...kitContext(peer.config), probe: 1 })).resolves.toMatchObject({ revoked: false, evidence: expect.stringMatching(/replication lag/) });
    // the lag passed: the real state shows
    await expect(graph.verify(account, { ...kitContext(peer.config), probe: 2 })).resolves.toMatchObject({ revoked: true, evidence: expect.stringMatching(/accountEnabled=false/) });
    // a user purged for good: 404 and not in deleted items, believed on probe 2
    peer.fake.users.delete(account.id);
    await expect(graph.verify(account, { ...kitContext(peer.config), probe: 1 })).resolves.toMatchObject({ revoked: false });
    await expect(graph.verify(account, { ...kitContext(peer.config), probe: 2 })).resolves.toMatchObject({ revoked: true, evidence: expect.stringMatching(/not replication lag/) });
  });

  it("a lagging read of a still-enabled user is never taken as disabled", async () => {
    const { account } = await seed();
    peer.fake.lagNext(1);
    await expect(graph.verify(account, { ...kitContext(peer.config), probe: 1 })).resolves.toMatchObject({ revoked: false });
    await expect(graph.verify(account, { ...kitContext(peer.config), probe: 2 })).resolves.toMatchObject({ revoked: false, evidence: expect.stringMatching(/accountEnabled=true/) });
  });

  it("delete is a soft delete, verified through /directory/deletedItems on the first probe", async () => {
    const { account } = await seed([peer.entitlement!]);
    const notes = await runPlan(account, "delete");
    expect(notes["delete-user"]!.evidence).toMatch(/soft delete/);
    const probe = await graph.verify(account, { ...kitContext(peer.config, { kind: "delete" }), probe: 1 });
    expect(probe).toMatchObject({ revoked: true });
    expect(probe.evidence).toMatch(/deletedItems.*restorable for 30 days/);
  });

  it("verify of deactivate reads accountEnabled with $select (a plain GET does not return it)", async () => {
    const { account } = await seed();
    const from = peer.fake.requests.length;
    await graph.verify(account, kitContext(peer.config));
    const read = peer.fake.requests.slice(from).find((r) => r.path === `/v1.0/users/${account.id}`)!;
    expect(decodeURIComponent(read.query)).toContain("$select=id,accountEnabled");
  });

  it("follows @odata.nextLink when listing memberships", async () => {
    const { account } = await seed([peer.entitlement!, peer.otherEntitlement!]);
    const third = peer.fake.createGroup("Third");
    peer.fake.addMember(third.id, account.id);
    peer.fake.pageSize = 1;
    try {
      await runPlan(account, "deactivate");
      expect([...peer.fake.groups.values()].some((g) => g.members.has(account.id))).toBe(false);
      await expect(graph.verify(account, kitContext(peer.config))).resolves.toMatchObject({ revoked: true });
    } finally {
      peer.fake.pageSize = 100;
    }
  });

  it("a dynamic group's 403 names both causes (permission, or a dynamic/synced/role-assignable group), and verify keeps saying not revoked", async () => {
    const { account } = await seed();
    const dynamic = peer.fake.createGroup("All employees", { dynamic: true });
    peer.fake.addMember(dynamic.id, account.id);
    const step = graph.plans.deactivate.find((s) => s.name === "remove-group-memberships")!;
    const error = await step.run(account, kitContext(peer.config)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect(error).toMatchObject({ kind: "auth", message: expect.stringMatching(/GroupMember\.ReadWrite\.All.*dynamic/) });
    await graph.plans.deactivate.find((s) => s.name === "disable-user")!.run(account, kitContext(peer.config));
    await expect(graph.verify(account, kitContext(peer.config))).resolves.toMatchObject({ revoked: false, evidence: expect.stringMatching(/still in 1 groups/) });
    peer.fake.groups.delete(dynamic.id);
  });

  it("503 with Retry-After is retryable with retryAfterMs; an expired token is fetched again", async () => {
    peer.fake.unavailableNext(3);
    const error = await graph.validate(kitContext(peer.config)).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "retryable", detail: { status: 503, retryAfterMs: 3000 } });

    const tokensBefore = peer.fake.tokenRequests();
    await graph.validate(kitContext(peer.config));
    expect(peer.fake.tokenRequests()).toBe(tokensBefore); // cached
    peer.fake.expireTokens();
    await expect(graph.validate(kitContext(peer.config))).rejects.toMatchObject({ kind: "auth" });
    await graph.validate(kitContext(peer.config)); // the 401 dropped the cached token
    expect(peer.fake.tokenRequests()).toBe(tokensBefore + 1);
  });

  it("an unknown tenant is auth, and no error message carries the secret", async () => {
    forgetTokens();
    const error = await graph.validate(kitContext({ ...peer.config, tenantId: "nobody.example.com" })).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "auth" });
    expect((error as Error).message).not.toContain(peer.fake.clientSecret);
    const bad = await graph.validate(kitContext(peer.badCredentials)).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/invalid_client/);
    expect((bad as Error).message).not.toContain(peer.fake.clientSecret);
  });

  it("findAccount quotes the value as an OData string, so a quote cannot add clauses", async () => {
    const userName = `o'brien-${kitUserName("q")}`;
    peer.fake.createUser({ userPrincipalName: userName });
    const found = await graph.findAccount({ connectionId: "c", id: "s", userName, emails: [] }, kitContext(peer.config));
    expect(found).not.toBeNull();
    // quoted, the injection is one literal that matches nobody (unquoted it would match every user: two or more, refused)
    await expect(graph.findAccount({ connectionId: "c", id: "s", userName: "x' or userPrincipalName ne 'y", emails: [] }, kitContext(peer.config))).resolves.toBeNull();
  });
});
