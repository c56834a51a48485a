import { planFor, type Account, type Intent, type Subject } from "../../src/connector-kit.js";
import { describeConformance, kitContext } from "../../test/support/conformance.js";
import { scimPeer } from "../../test/support/peers/scim-peer.js";
import { startScimServer, type ScimBehaviour, type ScimServer, type ScimServerOptions } from "../../test/support/peers/scim-server.js";
import type { ScimConfig } from "./config.js";
import connector from "./index.js";
import { targetErrorOf as errorOf } from "../../test/support/target-error-of.js";

describeConformance(connector, () => scimPeer());

describe("with deactivateWith: put, removeGroupsOnDeactivate and groups named by displayName", () => {
  describeConformance(connector, () => scimPeer({ config: { deactivateWith: "put", removeGroupsOnDeactivate: true, groupEntitlements: "displayName" } }));
});

const servers: ScimServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});


/** A fresh independent SCIM server with the given behaviours, and the connector pointed at it. */
async function target(options: { behaviour?: Partial<ScimBehaviour>; config?: Partial<ScimConfig>; server?: ScimServerOptions } = {}) {
  const server = await startScimServer({ ...options.server, behaviour: options.behaviour });
  servers.push(server);
  const config: ScimConfig = { baseUrl: server.baseUrl, token: server.token, ...options.config };
  const ctx = (intent: Intent = { kind: "deactivate" }, c: ScimConfig = config) => kitContext(c, intent);
  const engineering = server.createGroup("Engineering");
  const operations = server.createGroup("Operations");
  const seed = (userName = "alice", groups: string[] = []) => {
    const user = server.createUser({ userName, externalId: `ext-${userName}`, emails: [`${userName.toLowerCase()}@example.com`] });
    const id = String(user.id);
    for (const g of groups) server.addMember(g, id);
    const subject: Subject = { connectionId: "c-1", id: `s-${id}`, userName, externalId: `ext-${userName}`, emails: [`${userName.toLowerCase()}@example.com`] };
    return { id, subject, account: { id, data: { userName } } as Account };
  };
  /** Runs the intent's plan once; returns each step's answer. */
  const run = async (account: Account, intent: Intent = { kind: "deactivate" }) => {
    const outcomes: string[] = [];
    for (const step of planFor(connector, intent.kind)) outcomes.push(await step.run(account, ctx(intent)));
    return outcomes;
  };
  const writes = () => server.requests.filter((r) => r.method !== "GET").map((r) => ({ method: r.method, path: r.path, body: r.body }));
  const members = (groupId: string) => ((server.group(groupId)?.members ?? []) as { value: string }[]).map((m) => m.value);
  return { server, config, ctx, seed, run, writes, members, engineering: String(engineering.id), operations: String(operations.id) };
}

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

describe("scim connector against an independent SCIM server", () => {
  describe("deactivateWith", () => {
    const sent = (userPath: string): Record<string, { method: string; path: string; body?: unknown }> => ({
      "patch-path": { method: "PATCH", path: userPath, body: { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "active", value: false }] } },
      "patch-no-path": { method: "PATCH", path: userPath, body: { schemas: [PATCH_OP], Operations: [{ op: "replace", value: { active: false } }] } },
      delete: { method: "DELETE", path: userPath },
    });

    it.each(["patch-path", "patch-no-path", "delete"] as const)("%s: deactivates with one write, answers already-done the second time, and verify observes it", async (mode) => {
      const t = await target({ config: { deactivateWith: mode } });
      const { id, account } = t.seed("alice", [t.engineering]);
      expect(await connector.verify(account, t.ctx())).toEqual({ revoked: false, evidence: `GET /Users/${id} → active=true` });
      expect(await t.run(account)).toEqual(["done", "already-done"]);
      expect(await t.run(account)).toEqual(["already-done", "already-done"]);
      expect(t.writes()).toEqual([sent(`/Users/${id}`)[mode]]);
      const evidence = mode === "delete" ? `GET /Users/${id} → 404 (no such user)` : `GET /Users/${id} → active=false`;
      expect(await connector.verify(account, t.ctx())).toEqual({ revoked: true, evidence });
      expect(t.members(t.engineering)).toEqual(mode === "delete" ? [] : [id]); // memberships stay unless configured (README)
    });

    it("put: writes the user back whole with active=false and If-Match, keeping its other attributes", async () => {
      const t = await target({ config: { deactivateWith: "put" } });
      const { id, account } = t.seed("alice", [t.engineering]);
      const before = t.server.user(id)!;
      expect(await t.run(account)).toEqual(["done", "already-done"]);
      expect(await t.run(account)).toEqual(["already-done", "already-done"]);
      const [put, ...others] = t.server.requests.filter((r) => r.method !== "GET");
      expect(others).toEqual([]);
      expect(put).toMatchObject({ method: "PUT", path: `/Users/${id}`, ifMatch: (before.meta as { version: string }).version });
      expect(put!.body).toEqual({ schemas: before.schemas, userName: "alice", externalId: "ext-alice", emails: before.emails, id, active: false });
      expect(t.server.user(id)).toMatchObject({ userName: "alice", externalId: "ext-alice", emails: before.emails, active: false });
      expect(await connector.verify(account, t.ctx())).toEqual({ revoked: true, evidence: `GET /Users/${id} → active=false` });
    });

    it("a user someone else already disabled is already-done, with no write", async () => {
      const t = await target();
      const { id, account } = t.seed("alice");
      t.server.store.users.get(id)!.data.active = false;
      expect(await t.run(account)).toEqual(["already-done", "already-done"]);
      expect(t.writes()).toEqual([]);
    });

    it("a user gone before the step (404) is already-done", async () => {
      const t = await target();
      const { account } = t.seed("alice");
      t.server.store.users.delete(account.id);
      expect(await t.run(account)).toEqual(["already-done", "already-done"]);
      expect(await t.run(account, { kind: "delete" })).toEqual(["already-done", "already-done"]);
    });
  });

  describe("service providers with partial PATCH support", () => {
    it("patch-path against a provider that takes PATCH only without a path fails permanently, naming the fix", async () => {
      const t = await target({ behaviour: { patchSupport: "no-path-only" } });
      const { id, account } = t.seed("alice");
      const error = await errorOf(t.run(account));
      expect(error.kind).toBe("permanent");
      expect(error.message).toBe(`PATCH /Users/${id} answered 400 invalidPath: "operations with a path are not supported"; the service provider refused PATCH with path "active": set deactivateWith: patch-no-path, or put`);
      const fixed = { ...t.config, deactivateWith: "patch-no-path" as const };
      for (const step of planFor(connector, "deactivate")) await step.run(account, t.ctx({ kind: "deactivate" }, fixed));
      expect(await connector.verify(account, t.ctx())).toMatchObject({ revoked: true });
    });

    it("a provider without PATCH (501) fails permanently naming put, and put works there", async () => {
      const t = await target({ behaviour: { patchSupport: "none" } });
      const { id, account } = t.seed("alice");
      const error = await errorOf(t.run(account));
      expect(error).toMatchObject({ kind: "permanent", message: `PATCH /Users/${id} answered 501: "PATCH is not implemented"; the service provider does not implement PATCH: set deactivateWith: put` });
      const put = { ...t.config, deactivateWith: "put" as const };
      expect(await connector.plans.deactivate[0]!.run(account, t.ctx({ kind: "deactivate" }, put))).toBe("done");
      expect(t.server.user(id)).toMatchObject({ active: false });
    });

    it("validate refuses a PATCH mode when ServiceProviderConfig says patch.supported=false", async () => {
      const t = await target({ behaviour: { patchSupport: "none" } });
      const error = await errorOf(connector.validate(t.ctx()));
      expect(error.kind).toBe("permanent");
      expect(error.message).toContain("set deactivateWith: put");
      await expect(connector.validate(t.ctx({ kind: "deactivate" }, { ...t.config, deactivateWith: "put" }))).resolves.toBeUndefined();
    });

    it("a 500 on a path-less PATCH is retryable and hints at patch-path (Keycloak's answer)", async () => {
      const t = await target({ behaviour: { patchSupport: "path-only" }, config: { deactivateWith: "patch-no-path" } });
      const error = await errorOf(t.run(t.seed("alice").account));
      expect(error.kind).toBe("retryable");
      expect(error.message).toContain("set deactivateWith: patch-path");
    });
  });

  describe("findAccount", () => {
    it("finds by userName case-insensitively, by externalId and by email", async () => {
      const t = await target();
      const { id, subject } = t.seed("Alice");
      t.seed("bob");
      expect(await connector.findAccount({ ...subject, userName: "ALICE" }, t.ctx())).toEqual({ id, data: { userName: "Alice" } });
      expect(await connector.findAccount(subject, t.ctx({ kind: "deactivate" }, { ...t.config, matchAttribute: "externalId" }))).toMatchObject({ id });
      expect(await connector.findAccount(subject, t.ctx({ kind: "deactivate" }, { ...t.config, matchAttribute: "emails.value" }))).toMatchObject({ id });
      expect(await connector.findAccount({ ...subject, externalId: "ext-ALICE" }, t.ctx({ kind: "deactivate" }, { ...t.config, matchAttribute: "externalId" }))).toBeNull();
      expect(t.server.requests.map((r) => decodeURIComponent(r.query))).toEqual([
        '?filter=userName eq "ALICE"&count=2',
        '?filter=externalId eq "ext-Alice"&count=2',
        '?filter=emails.value eq "alice@example.com"&count=2',
        '?filter=externalId eq "ext-ALICE"&count=2',
      ]);
    });

    it("matches the configured attribute with another of the subject's values (matchValue)", async () => {
      const t = await target();
      const { id, subject } = t.seed("alice");
      t.server.store.users.get(id)!.data.externalId = "alice";
      expect(await connector.findAccount(subject, t.ctx({ kind: "deactivate" }, { ...t.config, matchAttribute: "externalId", matchValue: "userName" }))).toMatchObject({ id });
    });

    it("escapes quotes and backslashes, so a hostile userName is one literal value", async () => {
      const t = await target();
      const quoted = t.seed('o"brien\\x');
      t.seed("alice");
      expect(await connector.findAccount(quoted.subject, t.ctx())).toMatchObject({ id: quoted.id });
      const injection = 'nobody" or userName pr or userName eq "x';
      expect(await connector.findAccount({ ...quoted.subject, userName: injection }, t.ctx())).toBeNull();
      expect(decodeURIComponent(t.server.requests.at(-1)!.query)).toBe(`?filter=userName eq ${JSON.stringify(injection)}&count=2`);
    });

    it("refuses an answer that ignores the filter instead of taking someone else's account", async () => {
      const t = await target({ behaviour: { ignoreFilters: true } });
      t.seed("bob");
      const { subject } = t.seed("alice");
      const error = await errorOf(connector.findAccount(subject, t.ctx()));
      expect(error.kind).toBe("permanent");
      expect(error.message).toContain("the service provider ignores this filter; set matchAttribute to one it supports");
    });

    it("refuses an ambiguous match", async () => {
      const t = await target();
      const { id, subject } = t.seed("alice");
      const twin = t.seed("alice2");
      t.server.store.users.get(twin.id)!.data.emails = t.server.store.users.get(id)!.data.emails;
      const error = await errorOf(connector.findAccount(subject, t.ctx({ kind: "deactivate" }, { ...t.config, matchAttribute: "emails.value" })));
      expect(error).toMatchObject({ kind: "permanent", message: "GET /Users?filter=emails.value eq … matched 2 users: emails.value is not unique in this target; set matchAttribute to a unique one" });
    });

    it("a subject without the value to match on is permanent, not 'no account'", async () => {
      const t = await target({ config: { matchAttribute: "externalId" } });
      const error = await errorOf(connector.findAccount({ connectionId: "c", id: "s", userName: "alice", emails: [] }, t.ctx()));
      expect(error).toMatchObject({ kind: "permanent", message: expect.stringContaining("set matchValue: userName") });
    });
  });

  describe("verify", () => {
    it('reads active="False" strings as false, and says so', async () => {
      const t = await target({ behaviour: { activeAsString: true } });
      const { id, account } = t.seed("alice");
      expect(await connector.verify(account, t.ctx())).toEqual({ revoked: false, evidence: `GET /Users/${id} → active="True" (a string, read as true)` });
      expect(await t.run(account)).toEqual(["done", "already-done"]);
      expect(await t.run(account)).toEqual(["already-done", "already-done"]);
      expect(await connector.verify(account, t.ctx())).toEqual({ revoked: true, evidence: `GET /Users/${id} → active="False" (a string, read as false)` });
    });

    it("throws rather than guess when the user shows no active attribute", async () => {
      const t = await target();
      const { id, account } = t.seed("alice");
      delete t.server.store.users.get(id)!.data.active;
      const error = await errorOf(connector.verify(account, t.ctx()));
      expect(error).toMatchObject({ kind: "permanent", message: `GET /Users/${id} answered no active attribute; deactivation cannot be observed` });
    });

    it("keeps saying not revoked while an eventually consistent provider still shows the user active", async () => {
      const t = await target({ behaviour: { lagReads: 2 } });
      const { account } = t.seed("alice");
      await t.run(account);
      const probes: boolean[] = [];
      for (let i = 0; i < 5 && !probes.at(-1); i++) probes.push((await connector.verify(account, t.ctx())).revoked);
      expect(probes).toEqual([false, false, true]);
    });

    it("delete: a soft-deleting provider (DELETE only deactivates) is not verified as deleted", async () => {
      const t = await target({ behaviour: { deleteIsSoft: true } });
      const { id, account } = t.seed("alice", [t.engineering]);
      expect(await t.run(account, { kind: "delete" })).toEqual(["done", "done"]);
      expect(t.members(t.engineering)).toEqual([]);
      expect(await connector.verify(account, t.ctx({ kind: "delete" }))).toEqual({ revoked: false, evidence: `GET /Users/${id} → 200 (the user still exists, active=false)` });
      // the fix for such a provider: policy deactivate: disable with deactivateWith: delete
      expect(await connector.verify(account, t.ctx({ kind: "deactivate" }, { ...t.config, deactivateWith: "delete" }))).toEqual({ revoked: true, evidence: `GET /Users/${id} → active=false` });
    });

    it("delete removes memberships before the user, and verify observes the 404", async () => {
      const t = await target();
      const { id, account } = t.seed("alice", [t.engineering, t.operations]);
      expect(await t.run(account, { kind: "delete" })).toEqual(["done", "done"]);
      expect(t.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Groups/${t.engineering}`, `PATCH /Groups/${t.operations}`, `DELETE /Users/${id}`]);
      expect(t.writes()[0]!.body).toEqual({ schemas: [PATCH_OP], Operations: [{ op: "remove", path: `members[value eq "${id}"]` }] });
      expect(await connector.verify(account, t.ctx({ kind: "delete" }))).toEqual({ revoked: true, evidence: `GET /Users/${id} → 404 (no such user)` });
    });
  });

  describe("group memberships", () => {
    it("revoke-entitlement removes one group by id and leaves the other", async () => {
      const t = await target();
      const { id, account } = t.seed("alice", [t.engineering, t.operations]);
      const intent: Intent = { kind: "revoke-entitlement", entitlement: t.engineering };
      expect(await connector.verify(account, t.ctx(intent))).toEqual({ revoked: false, evidence: `GET /Groups/${t.engineering} → 1 members, ${id} among them` });
      expect(await t.run(account, intent)).toEqual(["done"]);
      expect(await t.run(account, intent)).toEqual(["already-done"]);
      // the group is empty now: an RFC provider omits the unassigned members attribute, so verify asks by filter
      expect(await connector.verify(account, t.ctx(intent))).toEqual({
        revoked: true,
        evidence: `GET /Groups/${t.engineering} → no members shown; GET /Groups?filter=id eq "${t.engineering}" and members.value eq "${id}" → 0 groups (not a member)`,
      });
      t.server.addMember(t.engineering, t.seed("bob").id);
      expect(await connector.verify(account, t.ctx(intent))).toEqual({ revoked: true, evidence: `GET /Groups/${t.engineering} → 1 members, ${id} not among them` });
      expect(t.members(t.operations)).toEqual([id]);
    });

    it("groupEntitlements: displayName names the group, and a group that does not exist is already gone", async () => {
      const t = await target({ config: { groupEntitlements: "displayName" } });
      const { id, account } = t.seed("alice", [t.engineering, t.operations]);
      const intent: Intent = { kind: "revoke-entitlement", entitlement: "engineering" };
      expect(await t.run(account, intent)).toEqual(["done"]);
      expect(t.members(t.engineering)).toEqual([]);
      expect(t.members(t.operations)).toEqual([id]);
      expect(await connector.verify(account, t.ctx(intent))).toMatchObject({ revoked: true });
      const missing: Intent = { kind: "revoke-entitlement", entitlement: "Nope" };
      expect(await t.run(account, missing)).toEqual(["already-done"]);
      expect(await connector.verify(account, t.ctx(missing))).toEqual({ revoked: true, evidence: 'GET /Groups?filter=displayName eq "Nope" → no such group' });
    });

    it("asks by filter when the provider never shows group members", async () => {
      const t = await target({ behaviour: { groupMembersShown: false } });
      const { id, account } = t.seed("alice", [t.engineering]);
      const intent: Intent = { kind: "revoke-entitlement", entitlement: t.engineering };
      expect(await connector.verify(account, t.ctx(intent))).toMatchObject({ revoked: false, evidence: expect.stringContaining("1 group (a member)") });
      expect(await t.run(account, intent)).toEqual(["done"]);
      expect(await t.run(account, intent)).toEqual(["already-done"]);
      expect(await connector.verify(account, t.ctx(intent))).toEqual({
        revoked: true,
        evidence: `GET /Groups/${t.engineering} → no members shown; GET /Groups?filter=id eq "${t.engineering}" and members.value eq "${id}" → 0 groups (not a member)`,
      });
    });

    it("removeGroupsOnDeactivate: the deactivate plan also removes every membership, and verify checks both", async () => {
      const t = await target({ config: { removeGroupsOnDeactivate: true } });
      const { id, account } = t.seed("alice", [t.engineering, t.operations]);
      expect(await t.run(account)).toEqual(["done", "done"]);
      expect(await t.run(account)).toEqual(["already-done", "already-done"]);
      expect(await connector.verify(account, t.ctx())).toEqual({ revoked: true, evidence: `GET /Users/${id} → active=false; groups=[]` });
      t.server.addMember(t.operations, id);
      expect(await connector.verify(account, t.ctx())).toEqual({ revoked: false, evidence: `GET /Users/${id} → active=false; groups=[${t.operations}]` });
    });

    it("finds a user's groups by filter when users carry no groups attribute", async () => {
      const t = await target({ behaviour: { userGroupsAttribute: false }, config: { removeGroupsOnDeactivate: true } });
      const { id, account } = t.seed("alice", [t.engineering]);
      expect(await t.run(account)).toEqual(["done", "done"]);
      expect(t.members(t.engineering)).toEqual([]);
      expect(await connector.verify(account, t.ctx())).toEqual({ revoked: true, evidence: `GET /Users/${id} → active=false; GET /Groups?filter=members.value eq … → 0 groups` });
    });

    it("a deactivation extended into a delete still removes memberships (no step name is shared between the plans)", async () => {
      const t = await target();
      const { account } = t.seed("alice", [t.engineering]);
      const recorded = new Set<string>();
      for (const step of planFor(connector, "deactivate")) {
        await step.run(account, t.ctx());
        recorded.add(step.name);
      }
      expect(t.members(t.engineering)).toEqual([account.id]);
      // the engine skips steps already recorded on the task (run-task.ts) when it extends it into a delete
      for (const step of planFor(connector, "delete").filter((s) => !recorded.has(s.name))) await step.run(account, t.ctx({ kind: "delete" }));
      expect(t.members(t.engineering)).toEqual([]);
      expect(await connector.verify(account, t.ctx({ kind: "delete" }))).toMatchObject({ revoked: true });
    });
  });

  describe("credentials, throttling and errors", () => {
    it("authenticates with HTTP Basic, and a wrong password is auth", async () => {
      const t = await target({ server: { basic: { username: "bridge", password: "s3cret-pass" } } });
      const basic: ScimConfig = { baseUrl: t.config.baseUrl, username: "bridge", password: "s3cret-pass" };
      await expect(connector.validate(t.ctx({ kind: "deactivate" }, basic))).resolves.toBeUndefined();
      const error = await errorOf(connector.validate(t.ctx({ kind: "deactivate" }, { ...basic, password: "wrong" })));
      expect(error.kind).toBe("auth");
      expect(error.message).not.toContain("wrong");
    });

    it("a 429 on a step or a probe is rate-limited with retryAfterMs", async () => {
      const t = await target();
      const { account } = t.seed("alice");
      t.server.throttleNext(3);
      expect(await errorOf(t.run(account))).toMatchObject({ kind: "rate-limited", detail: { status: 429, retryAfterMs: 3_000 } });
      t.server.throttleNext(1);
      expect(await errorOf(connector.verify(account, t.ctx()))).toMatchObject({ kind: "rate-limited", detail: { retryAfterMs: 1_000 } });
    });

    it("a baseUrl that is not the SCIM base is permanent, naming baseUrl", async () => {
      const t = await target();
      const wrong = { ...t.config, baseUrl: t.config.baseUrl.replace("/scim/v2", "/api") };
      const error = await errorOf(connector.validate(t.ctx({ kind: "deactivate" }, wrong)));
      expect(error).toMatchObject({ kind: "permanent", message: "GET /Users answered 404; there is no /Users endpoint at baseUrl: check that baseUrl is the SCIM base, ending before /Users" });
    });

    it("a bad config is permanent with the fix, before any request", async () => {
      const t = await target();
      const error = await errorOf(connector.validate(t.ctx({ kind: "deactivate" }, { baseUrl: t.config.baseUrl, deactivateWith: "patch" as never })));
      expect(error.kind).toBe("permanent");
      expect(error.message).toBe("scim target config: credentials are required: token (bearer), or username and password (Basic); deactivateWith must be one of patch-path, patch-no-path, put, delete");
      expect(t.server.requests).toEqual([]);
    });

    it("never puts the token in an error message", async () => {
      const t = await target();
      t.server.throttleNext(1);
      const errors = [await errorOf(connector.validate(t.ctx())), await errorOf(connector.validate(t.ctx({ kind: "deactivate" }, { ...t.config, token: `${t.config.token}x` })))];
      for (const e of errors) expect(JSON.stringify({ message: e.message, detail: e.detail })).not.toContain(t.config.token!);
    });
  });
});
