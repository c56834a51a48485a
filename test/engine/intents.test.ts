import { fakeConnector } from "../support/fake-connector.js";
import { fakeClock } from "../support/fake-clock.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";
import { CORE_GROUP, CORE_USER, patchBody, userBody } from "../support/scim-app.js";

/** Every SCIM write → the intent it records (or none), in the write's own transaction. */
describe("intents from SCIM transitions", () => {
  let h: EngineHarness;
  let groupId: string;
  const clock = fakeClock();

  beforeAll(async () => {
    const { connector } = fakeConnector({ clock });
    h = await engineHarness({ connectors: [connector], clock });
    await h.addTarget("crm", "fake");
    await h.addTarget("wiki", "fake");
    const group = await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Engineering" }).expect(201);
    groupId = group.body.id;
    await h.addTarget("git", "fake", { entitlements: { [groupId]: "eng-team" }, scopeGroups: [groupId] });
  });
  afterAll(() => h.close());

  const opsOf = async (userId: string) => (await h.operations()).filter((o) => o.subject_id === userId);
  const tasksOf = (opId: string) => h.tasks("t.operation_id = $1", [opId]);

  describe("PATCH /Users/:id with active=false", () => {
    it("answers 200 before any target is called, with one deactivate operation and one task per target in scope", async () => {
      const id = await h.createUser("ada@example.com");
      await h.deactivate(id);
      const ops = await opsOf(id);
      expect(ops).toEqual([expect.objectContaining({ kind: "deactivate", status: "released", user_name: "ada@example.com" })]);
      const tasks = await tasksOf(ops[0]!.id);
      // git is scoped to Engineering members; ada is not one.
      expect(tasks.map((t) => [t.targetName, t.state, t.intent])).toEqual([
        ["crm", "queued", { kind: "deactivate" }],
        ["wiki", "queued", { kind: "deactivate" }],
      ]);
      expect(tasks.every((t) => t.attempts === 0 && t.steps.length === 0 && t.account === null)).toBe(true);
    });

    it("queues nothing when the user was already inactive (a re-sent PATCH adds nothing)", async () => {
      const id = await h.createUser("bob@example.com");
      await h.deactivate(id);
      await h.deactivate(id);
      await h.scim.patch(`/Users/${id}`, patchBody({ op: "Replace", path: "active", value: "False" })).expect(200);
      expect(await opsOf(id)).toHaveLength(1);
    });

    it("hands connectors the subject with its enterprise and extension attributes", async () => {
      const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
      const id = await h.createUser("eve@example.com", {
        schemas: [CORE_USER, enterprise],
        externalId: "e-77",
        [enterprise]: { employeeNumber: "701", department: "Finance" },
      });
      await h.deactivate(id);
      const [op] = await opsOf(id);
      const row = await h.db.query<{ subject: Record<string, unknown> }>("select subject from operations where id = $1", [op!.id]);
      expect(row.rows[0]!.subject).toEqual({
        connectionId: h.connectionId,
        id,
        userName: "eve@example.com",
        externalId: "e-77",
        emails: ["eve@example.com"],
        enterprise: { employeeNumber: "701", department: "Finance" },
      });
    });

    it("includes targets scoped to a group the user is a member of", async () => {
      const id = await h.createUser("cy@example.com");
      await h.scim.patch(`/Groups/${groupId}`, patchBody({ op: "add", path: "members", value: [{ value: id }] })).expect(204);
      await h.deactivate(id);
      const [op] = await opsOf(id);
      expect((await tasksOf(op!.id)).map((t) => t.targetName)).toEqual(["crm", "git", "wiki"]);
    });
  });

  it("records no operation for a deactivation that concerns no target (nothing to revoke, nothing to track)", async () => {
    const other = await h.other();
    const res = await other.post("/Users", userBody("solo@example.com")).expect(201);
    await other.patch(`/Users/${res.body.id}`, patchBody({ op: "replace", path: "active", value: false })).expect(200);
    expect(await opsOf(res.body.id)).toEqual([]);
  });

  describe("PUT /Users/:id", () => {
    it("records a deactivation when the full replace turns active true → false, and nothing for a re-sent identical PUT", async () => {
      const id = await h.createUser("dee@example.com");
      const body = { ...userBody("dee@example.com"), active: false };
      await h.scim.put(`/Users/${id}`, body).expect(200);
      await h.scim.put(`/Users/${id}`, body).expect(200);
      expect((await opsOf(id)).map((o) => o.kind)).toEqual(["deactivate"]);
    });

    it("records nothing for a PUT that changes other attributes of an active user", async () => {
      const id = await h.createUser("eli@example.com");
      await h.scim.put(`/Users/${id}`, { ...userBody("eli@example.com"), displayName: "Eli" }).expect(200);
      expect(await opsOf(id)).toEqual([]);
    });
  });

  describe("POST /Users", () => {
    it("records nothing, even for a user created inactive", async () => {
      const id = await h.createUser("fay@example.com", { active: false });
      expect(await opsOf(id)).toEqual([]);
    });
  });

  describe("reactivation (active false → true)", () => {
    it("cancels the subject's in-flight deactivate tasks, with the reason", async () => {
      const id = await h.createUser("gus@example.com");
      await h.deactivate(id);
      await h.reactivate(id);
      const [op] = await opsOf(id);
      const tasks = await tasksOf(op!.id);
      expect(tasks.map((t) => t.state)).toEqual(["cancelled", "cancelled"]);
      expect(tasks[0]!.reason).toMatch(/^reactivated by the IdP at /);
      expect(op!.status).toBe("cancelled");
    });

    it("leaves verified tasks verified: what was observed stays true", async () => {
      const id = await h.createUser("hal@example.com");
      await h.deactivate(id);
      await h.drain();
      await h.reactivate(id);
      const [op] = await opsOf(id);
      expect((await tasksOf(op!.id)).map((t) => t.state)).toEqual(["verified", "verified"]);
      expect(op!.status).toBe("released");
    });
  });

  describe("DELETE /Users/:id", () => {
    it("records one delete operation with a delete task per target", async () => {
      const id = await h.createUser("ida@example.com");
      await h.scim.delete(`/Users/${id}`).expect(204);
      const ops = await opsOf(id);
      expect(ops.map((o) => o.kind)).toEqual(["delete"]);
      expect((await tasksOf(ops[0]!.id)).map((t) => t.intent)).toEqual([{ kind: "delete" }, { kind: "delete" }]);
    });

    it("extends a deactivation still in flight instead of racing it", async () => {
      const id = await h.createUser("jo@example.com");
      await h.deactivate(id);
      await h.scim.delete(`/Users/${id}`).expect(204);
      const ops = await opsOf(id);
      expect(ops).toEqual([expect.objectContaining({ kind: "delete" })]);
      expect((await tasksOf(ops[0]!.id)).map((t) => [t.intent, t.state])).toEqual([
        [{ kind: "delete" }, "queued"],
        [{ kind: "delete" }, "queued"],
      ]);
    });

    it("starts a new delete operation when the deactivation was already verified", async () => {
      const id = await h.createUser("kim@example.com");
      await h.deactivate(id);
      await h.drain();
      await h.scim.delete(`/Users/${id}`).expect(204);
      expect((await opsOf(id)).map((o) => o.kind)).toEqual(["deactivate", "delete"]);
    });

    it("scopes the delete by the groups the user was removed from", async () => {
      const id = await h.createUser("lu@example.com");
      await h.scim.patch(`/Groups/${groupId}`, patchBody({ op: "add", path: "members", value: [{ value: id }] })).expect(204);
      await h.scim.delete(`/Users/${id}`).expect(204);
      const [op] = await opsOf(id);
      expect((await tasksOf(op!.id)).map((t) => t.targetName)).toEqual(["crm", "git", "wiki"]);
    });
  });

  describe("group membership", () => {
    it("records a revoke-entitlement for a member removed from a mapped group, only in the targets that map it", async () => {
      const id = await h.createUser("max@example.com");
      await h.scim.patch(`/Groups/${groupId}`, patchBody({ op: "add", path: "members", value: [{ value: id }] })).expect(204);
      await h.scim.patch(`/Groups/${groupId}`, patchBody({ op: "Remove", path: `members[value eq "${id}"]` })).expect(204);
      const ops = await opsOf(id);
      expect(ops.map((o) => o.kind)).toEqual(["revoke-entitlement"]);
      expect((await tasksOf(ops[0]!.id)).map((t) => [t.targetName, t.intent])).toEqual([["git", { kind: "revoke-entitlement", entitlement: "eng-team" }]]);
      // Removing again (the IdP re-sends it) changes nothing and adds nothing.
      await h.scim.patch(`/Groups/${groupId}`, patchBody({ op: "Remove", path: `members[value eq "${id}"]` })).expect(204);
      expect(await opsOf(id)).toHaveLength(1);
    });

    it("records nothing for a removal from a group no target maps", async () => {
      const other = await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Sales" }).expect(201);
      const id = await h.createUser("ned@example.com");
      await h.scim.patch(`/Groups/${other.body.id}`, patchBody({ op: "add", path: "members", value: [{ value: id }] })).expect(204);
      await h.scim.patch(`/Groups/${other.body.id}`, patchBody({ op: "remove", path: "members" })).expect(204);
      expect(await opsOf(id)).toEqual([]);
    });

    it("records a revoke-entitlement for every member when a mapped group is deleted", async () => {
      const a = await h.createUser("ola@example.com");
      const b = await h.createUser("pia@example.com");
      await h.scim.patch(`/Groups/${groupId}`, patchBody({ op: "add", path: "members", value: [{ value: a }, { value: b }] })).expect(204);
      await h.scim.delete(`/Groups/${groupId}`).expect(204);
      for (const id of [a, b]) expect((await opsOf(id)).map((o) => o.kind)).toEqual(["revoke-entitlement"]);
    });
  });

  it("a failed SCIM write records nothing (the intent shares its transaction)", async () => {
    const before = (await h.operations()).length;
    const taken = await h.createUser("quin@example.com");
    const other = await h.createUser("rex@example.com");
    // Renaming rex to quin's userName fails with 409 uniqueness, deactivation included.
    await h.scim.put(`/Users/${other}`, { schemas: [CORE_USER], userName: "quin@example.com", active: false }).expect(409);
    expect((await h.operations()).length).toBe(before);
    void taken;
  });
});
