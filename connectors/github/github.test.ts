import { planFor, type Account, type Intent, type Subject } from "../../src/connector-kit.js";
import { describeConformance, kitContext } from "../../test/support/conformance.js";
import { githubPeer, type GithubPeer } from "../../test/support/peers/github-peer.js";
import { targetErrorOf as errorOf } from "../../test/support/target-error-of.js";
import type { GithubConfig } from "./config.js";
import connector from "./index.js";

describeConformance(connector, () => githubPeer());

describe("with an owner's PAT, no SAML SSO and no fine-grained PAT step", () => {
  describeConformance(connector, async () => {
    const peer = await githubPeer({ config: { samlSso: false, fineGrainedTokens: false } });
    peer.config.token = peer.fake.patToken;
    return peer;
  });
});

const peers: GithubPeer[] = [];
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
});

async function target(options: Parameters<typeof githubPeer>[0] = {}) {
  const peer = await githubPeer(options);
  peers.push(peer);
  const ctx = (intent: Intent = { kind: "deactivate" }, config: GithubConfig = peer.config) => kitContext(config, intent);
  const subject = (login: string): Subject => ({ connectionId: "c", id: `s-${login}`, userName: `${login}@example.com`, emails: [`${login}@example.com`] });
  const run = async (account: Account, intent: Intent = { kind: "deactivate" }) => {
    const outcomes: string[] = [];
    for (const step of planFor(connector, intent.kind, peer.config)) outcomes.push(await step.run(account, ctx(intent)));
    return outcomes;
  };
  return { peer, fake: peer.fake, ctx, subject, run };
}

describe("github: plans and what they revoke", () => {
  it("orders tokens before the account, and delete is the same plan (GitHub has no org-level disable)", async () => {
    const { peer } = await target();
    const names = planFor(connector, "deactivate", peer.config).map((s) => s.name);
    expect(names).toEqual(["revoke-sso-credential-authorizations", "revoke-fine-grained-token-access", "remove-org-membership", "remove-outside-collaborator"]);
    expect(planFor(connector, "delete", peer.config).map((s) => s.name)).toEqual(names);
    expect(planFor(connector, "deactivate", { ...peer.config, samlSso: false, fineGrainedTokens: false }).map((s) => s.name)).toEqual(["remove-org-membership", "remove-outside-collaborator"]);
    expect(planFor(connector, "revoke-entitlement", peer.config).map((s) => s.name)).toEqual(["remove-team-membership"]);
  });

  it("every step is observable: nothing is acknowledged-only (there is no org API for web sessions, and removal ends org access for them)", () => {
    for (const step of [...connector.plans.deactivate, ...connector.plans["revoke-entitlement"]]) expect(step.observable).toBeUndefined();
  });

  it("deactivate revokes the person's SSO authorizations and PAT grants, removes them and their teams, and leaves another member alone", async () => {
    const { fake, ctx, subject, run } = await target();
    fake.addMember("alice");
    fake.addTeamMember("engineering", "alice");
    fake.addCredentialAuthorization("alice");
    fake.addPatGrant("alice");
    fake.addMember("bob");
    fake.addTeamMember("engineering", "bob");
    const bobCredential = fake.addCredentialAuthorization("bob");
    const bobGrant = fake.addPatGrant("bob");
    const account = (await connector.findAccount(subject("alice"), ctx()))!;
    expect(account).toMatchObject({ id: "alice", data: { relation: "member", state: "active" } });
    const notes: string[] = [];
    const c = { ...ctx(), note: (n: { evidence?: string }) => notes.push(n.evidence ?? "") };
    for (const step of planFor(connector, "deactivate", c.config)) await step.run(account, c);
    expect(notes[0]).toMatch(/DELETE \/orgs\/…\/credential-authorizations\/\{id\} → 204 for 1/);
    expect(notes[1]).toMatch(/→ 202 \(queued/);
    expect(notes[2]).toMatch(/DELETE \/orgs\/acme\/memberships\/alice → 204/);
    expect(fake.isMember("alice")).toBe(false);
    expect(fake.inTeam("engineering", "alice")).toBe(false);
    expect(fake.credentialsOf("alice")).toEqual([]);
    expect(fake.patGrantsOf("alice")).toEqual([]);
    expect(fake.isMember("bob")).toBe(true);
    expect(fake.credentialsOf("bob")).toEqual([bobCredential]);
    expect(fake.patGrantsOf("bob")).toEqual([bobGrant]);
    const probe = await connector.verify(account, ctx());
    expect(probe).toMatchObject({ revoked: true });
    expect(probe.evidence).toContain("GET /orgs/acme/memberships/alice → 404");
    expect(probe.evidence).toContain("0 SSO credential authorization(s)");
    expect(await run(account)).toEqual(["already-done", "already-done", "already-done", "already-done"]);
  });

  it("a queued 202 PAT revoke is verified by a later listing, not believed on acceptance", async () => {
    const { fake, ctx, subject, run } = await target({ fake: { patRevokeLagMs: 300 } });
    fake.addMember("carol");
    fake.addPatGrant("carol");
    const account = (await connector.findAccount(subject("carol"), ctx()))!;
    await run(account);
    const early = await connector.verify(account, ctx());
    expect(early).toMatchObject({ revoked: false });
    expect(early.evidence).toContain("1 fine-grained PAT grant(s) for the login (a queued revoke may not have run yet)");
    await new Promise((r) => setTimeout(r, 350));
    await expect(connector.verify(account, ctx())).resolves.toMatchObject({ revoked: true });
  });

  it("an outside collaborator is found, removed, and verified absent from the listing (paginated)", async () => {
    const { fake, ctx, subject, run } = await target();
    for (let i = 0; i < 120; i++) fake.addOutsideCollaborator(`aa-filler-${String(i).padStart(3, "0")}`);
    fake.addOutsideCollaborator("zed");
    const account = (await connector.findAccount(subject("zed"), ctx()))!;
    expect(account).toMatchObject({ id: "zed", data: { relation: "outside-collaborator" } });
    await expect(connector.verify(account, ctx())).resolves.toMatchObject({ revoked: false });
    expect(await run(account)).toEqual(["already-done", "already-done", "already-done", "done"]);
    expect(fake.isOutsideCollaborator("zed")).toBe(false);
    const probe = await connector.verify(account, ctx());
    expect(probe).toMatchObject({ revoked: true });
    expect(probe.evidence).toContain("GET /orgs/acme/outside_collaborators → 120 listed, the login not among them");
    expect(fake.requests.some((r) => r.query.includes("page=2"))).toBe(true);
  });

  it("a pending invitation counts as access and is cancelled by remove-org-membership", async () => {
    const { fake, ctx, subject, run } = await target({ config: { samlSso: false, fineGrainedTokens: false } });
    fake.addMember("dave", { state: "pending" });
    const account = (await connector.findAccount(subject("dave"), ctx()))!;
    expect(account.data).toMatchObject({ state: "pending" });
    expect(await run(account)).toEqual(["done", "already-done"]);
    expect(fake.isMember("dave")).toBe(false);
  });

  it("revoke-entitlement removes the one mapped team and leaves the other", async () => {
    const { fake, ctx, subject, run } = await target();
    fake.addMember("erin");
    fake.addTeamMember("engineering", "erin");
    fake.addTeamMember("operations", "erin");
    const intent: Intent = { kind: "revoke-entitlement", entitlement: "engineering" };
    const account = (await connector.findAccount(subject("erin"), ctx(intent)))!;
    expect(await run(account, intent)).toEqual(["done"]);
    expect(fake.inTeam("engineering", "erin")).toBe(false);
    expect(fake.inTeam("operations", "erin")).toBe(true);
    expect(fake.isMember("erin")).toBe(true);
    const probe = await connector.verify(account, ctx(intent));
    expect(probe).toEqual({ revoked: true, evidence: "GET /orgs/acme/teams/engineering/memberships/erin → 404 (not in the team, or no such team)" });
  });

  it("a team synchronized with an IdP group is a permanent failure naming the fix", async () => {
    const { fake, ctx, subject, run } = await target();
    fake.addMember("finn");
    fake.addTeamMember("engineering", "finn");
    fake.syncedTeams.add("engineering");
    const intent: Intent = { kind: "revoke-entitlement", entitlement: "engineering" };
    const account = (await connector.findAccount(subject("finn"), ctx(intent)))!;
    const error = await errorOf(run(account, intent));
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain("remove the person from the IdP group instead");
  });

  it("findAccount refuses a value that cannot be a GitHub login rather than calling it absent", async () => {
    const { ctx, peer } = await target();
    const error = await errorOf(connector.findAccount({ connectionId: "c", id: "s", userName: "alice@example.com", emails: [] }, ctx({ kind: "deactivate" }, { ...peer.config, loginFrom: "userName" })));
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain("set loginFrom");
  });
});

describe("github: throttling and auth answers from the fake, through ctx.http", () => {
  it("a primary limit (403, x-ratelimit-remaining: 0) waits until x-ratelimit-reset", async () => {
    const { fake, ctx } = await target();
    fake.throttleNext(30, "primary");
    const error = await errorOf(connector.validate(ctx()));
    expect(error.kind).toBe("rate-limited");
    expect(error.detail.retryAfterMs).toBeGreaterThan(28_000);
    expect(error.detail.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it("a primary limit answered 429 reads the same headers", async () => {
    const { fake, ctx } = await target();
    fake.throttleNext(20, "primary-429");
    const error = await errorOf(connector.validate(ctx()));
    expect(error.kind).toBe("rate-limited");
    expect(error.detail.retryAfterMs).toBeGreaterThan(18_000);
  });

  it("a secondary limit known by its message alone waits a minute", async () => {
    const { fake, ctx } = await target();
    fake.throttleNext(0, "secondary-message");
    const error = await errorOf(connector.validate(ctx()));
    expect(error).toMatchObject({ kind: "rate-limited", detail: { retryAfterMs: 60_000 } });
  });

  it("SAML enforcement on the token is auth, naming the fix, and never shows the token", async () => {
    const { fake, ctx } = await target();
    fake.samlEnforcedFor.add(fake.appToken);
    const error = await errorOf(connector.validate(ctx()));
    expect(error.kind).toBe("auth");
    expect(error.message).toContain("authorize it for the org");
    expect(error.message).not.toContain(fake.appToken);
  });

  it("fineGrainedTokens with a PAT: validate says only a GitHub App token can do it", async () => {
    const { fake, ctx, peer } = await target();
    const error = await errorOf(connector.validate(ctx({ kind: "deactivate" }, { ...peer.config, token: fake.patToken })));
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain("only GitHub App installation tokens");
  });

  it("a wrong org is permanent, naming org", async () => {
    const { ctx, peer } = await target();
    const error = await errorOf(connector.validate(ctx({ kind: "deactivate" }, { ...peer.config, org: "other-org" })));
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain("check org");
  });
});

describe("github: config and registration", () => {
  const good = { org: "acme", token: "ghs_x" };
  it.each([
    [{ ...good }, []],
    [{ token: "t" }, ["org is required"]],
    [{ ...good, org: "-bad-" }, ["is not an organization login"]],
    [{ ...good, token: "" }, ["token is required"]],
    [{ ...good, baseUrl: "http://github.example.com" }, ["https://"]],
    [{ ...good, loginFrom: "email" }, ["loginFrom must be one of"]],
    [{ ...good, samlSso: "yes" }, ["samlSso must be true or false"]],
    [{ ...good, apiVersion: "v3" }, ["apiVersion must be a date"]],
    [{ ...good, extra: 1 }, ["extra is not a github config field"]],
  ] as [Record<string, unknown>, string[]][])("checkConfig(%j)", (config, says) => {
    const problems = connector.checkConfig(config);
    expect(problems).toHaveLength(says.length);
    says.forEach((s, i) => expect(problems[i]).toContain(s));
  });

  it("warns of two writers when the org is provisioned by the IdP through SAML/SCIM", () => {
    expect(connector.registrationWarnings(good)).toEqual([]);
    const [warning] = connector.registrationWarnings({ ...good, scimProvisioned: true });
    expect(warning).toContain("GitHub wants one SCIM writer");
    expect(warning).toContain("unassign the person from the IdP's GitHub app");
  });
});
