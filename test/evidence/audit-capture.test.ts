import { randomUUID } from "node:crypto";
import { auditEntries, verifyAuditChain } from "../../src/evidence/audit-chain.js";
import { cancelOperation, resolveEscalation } from "../../src/engine/admin.js";
import { hashSecret } from "../../src/secrets.js";
import { createAdminToken, findAdminTokenBySecret, adminTokenWritesSettled } from "../../src/storage/admin-tokens-repo.js";
import { actorStatement, adminActor, appendAudit, asActor, auditHead, MAINTENANCE_SETTING, scimActorStatement, withActor, type AuditExportEntry } from "../../src/storage/audit-repo.js";
import { claimTasks, releaseTask, renewLease } from "../../src/storage/tasks-repo.js";
import { createTarget, updateTargetPolicy } from "../../src/storage/targets-repo.js";
import { fakeConnector, type FakeConnectorState } from "../support/fake-connector.js";
import { fakeClock } from "../support/fake-clock.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";
import { CORE_GROUP, patchBody } from "../support/scim-app.js";

/** Entries appended after `afterSeq`, in order. */
async function entriesAfter(h: EngineHarness, afterSeq: number): Promise<AuditExportEntry[]> {
  const all: AuditExportEntry[] = [];
  for await (const e of auditEntries(h.db, { since: { afterSeq } })) all.push(e);
  return all;
}
const headSeq = async (h: EngineHarness) => (await auditHead(h.db))?.seq ?? 0;

describe("the audit log records", () => {
  const clock = fakeClock();
  let h: EngineHarness;
  let state: FakeConnectorState;
  let n = 0;
  /** When set, a recorder on the change seam names the connection as the actor of each SCIM write. */
  let scimActorOn = false;

  beforeAll(async () => {
    const fake = fakeConnector({ clock });
    state = fake.state;
    h = await engineHarness({
      connectors: [fake.connector],
      clock,
      recorders: [{ statements: (change) => (scimActorOn ? [scimActorStatement(change.connectionId)] : []) }],
    });
  });
  afterAll(async () => {
    await adminTokenWritesSettled();
    await h.close();
  });

  async function person(extra: Record<string, unknown> = {}) {
    const userName = `person-${++n}@example.com`;
    state.seed([{ userName }]);
    return { userName, id: await h.createUser(userName, extra) };
  }

  it("a SCIM create, a PATCH that deactivates and a DELETE: ids, userName and active, no other attribute's value", async () => {
    const mark = await headSeq(h);
    const { userName, id } = await person({ title: "Keeper of the Vault", externalId: "ext-42" });
    await h.deactivate(id);
    await h.scim.delete(`/Users/${id}`).expect(204);
    const scim = (await entriesAfter(h, mark)).filter((e) => e.kind.startsWith("scim.user."));
    expect(scim.map((e) => e.kind)).toEqual(["scim.user.created", "scim.user.deactivated", "scim.user.deleted"]);
    expect(scim[0]!.data).toEqual({ connectionId: h.connectionId, id, userName, externalId: "ext-42", active: true });
    expect(scim[1]!.data).toEqual({ connectionId: h.connectionId, id, userName, externalId: "ext-42", active: false, changed: ["active"] });
    expect(scim[2]!.data).toMatchObject({ id, userName, active: false });
    expect(scim.map((e) => e.entry).join("\n")).not.toMatch(/Keeper of the Vault|givenName|familyName/);
  });

  it("a SCIM group, a member joining and the member leaving, by ids", async () => {
    const { id: userId } = await person();
    const mark = await headSeq(h);
    const res = await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Vault keepers", members: [{ value: userId }] }).expect(201);
    const groupId = res.body.id as string;
    await h.scim.patch(`/Groups/${groupId}`, patchBody({ op: "remove", path: `members[value eq "${userId}"]` })).expect((r) => expect([200, 204]).toContain(r.status));
    const entries = (await entriesAfter(h, mark)).filter((e) => e.kind.startsWith("scim.group."));
    expect(entries.map((e) => [e.kind, e.data])).toEqual([
      ["scim.group.created", { connectionId: h.connectionId, id: groupId, displayName: "Vault keepers", externalId: null }],
      ["scim.group.member-added", { connectionId: h.connectionId, groupId, memberId: userId, memberType: "User" }],
      ["scim.group.member-removed", { connectionId: h.connectionId, groupId, memberId: userId, memberType: "User" }],
    ]);
  });

  it("an operation and its task going queued → revoking → verified, with the account, each step and the probe", async () => {
    const target = await h.addTarget(`t-${randomUUID().slice(0, 8)}`, "fake");
    const { id } = await person();
    const mark = await headSeq(h);
    await h.deactivate(id);
    await h.drain();
    const [task] = await h.tasks("t.target_id = $1", [target.id]);
    const mine = (await entriesAfter(h, mark)).filter((e) => e.kind.startsWith("operation.") || (e.kind.startsWith("task.") && e.data?.id === task!.id));
    expect(mine.map((e) => e.kind)).toEqual([
      "operation.created", "task.created", "task.revoking", "task.account", "task.step", "task.step", "task.probe", "task.verified",
    ]);
    expect(mine[0]!.data).toMatchObject({ id: task!.operationId, kind: "deactivate", status: "released", subjectId: id });
    expect(mine[1]!.data).toMatchObject({ id: task!.id, operationId: task!.operationId, targetId: target.id, state: "queued", intent: { kind: "deactivate" } });
    expect(mine.filter((e) => e.kind === "task.step").map((e) => (e.data?.step as { name: string }).name)).toEqual(task!.steps.map((s) => s.name));
    expect(mine[6]!.data).toMatchObject({ probe: 1, evidence: { revoked: true } });
    expect(mine[7]!.data).toMatchObject({ state: "verified", stateBefore: "revoking" });
    expect(new Set(mine.map((e) => e.actor))).toEqual(new Set(["engine"]));
  });

  it("an escalation with its error, and a person's resolution with its actor", async () => {
    const target = await h.addTarget(`t-${randomUUID().slice(0, 8)}`, "fake");
    const { id } = await person();
    state.setMode("auth-broken");
    const mark = await headSeq(h);
    await h.deactivate(id);
    await h.drain();
    state.setMode("honest");
    const [task] = await h.tasks("t.target_id = $1", [target.id]);
    expect(task!.state).toBe("escalated");
    await asActor(h.db, adminActor("ops-bob"), (tx) => resolveEscalation(tx, clock, task!.id, { by: "ops-bob", note: "removed by hand" }));
    const mine = (await entriesAfter(h, mark)).filter((e) => e.data?.id === task!.id);
    expect(mine.map((e) => [e.kind, e.actor])).toEqual([
      ["task.created", "engine"], ["task.revoking", "engine"], ["task.error", "engine"], ["task.escalated", "engine"], ["task.resolved", "admin:ops-bob"],
    ]);
    expect(mine[2]!.data).toMatchObject({ errorKind: "auth" });
    expect(mine[4]!.data).toMatchObject({ resolution: { by: "ops-bob", note: "removed by hand" } });
  });

  it("an admin action with its actor, and never a token or its digest", async () => {
    const mark = await headSeq(h);
    const made = await asActor(h.db, adminActor("root"), (tx) => createAdminToken(tx, { name: "ops-alice", role: "operator" }));
    const { id } = await person();
    await h.addTarget(`t-${randomUUID().slice(0, 8)}`, "fake");
    await h.deactivate(id);
    const [op] = (await h.operations()).filter((o) => o.subject_id === id);
    await asActor(h.db, adminActor("ops-alice"), (tx) => cancelOperation(tx, clock, op!.id, { by: "ops-alice", note: "wrong person" }));
    const entries = await entriesAfter(h, mark);
    expect(entries.find((e) => e.kind === "admin-token.created")).toMatchObject({ actor: "admin:root", data: { id: made.adminToken.id, name: "ops-alice", role: "operator" } });
    const cancelled = entries.filter((e) => e.actor === "admin:ops-alice").map((e) => e.kind);
    expect(cancelled).toEqual(expect.arrayContaining(["operation.cancelled", "task.cancelled"]));
    expect(entries.find((e) => e.kind === "operation.cancelled")?.data).toMatchObject({ statusBefore: "released", reason: "cancelled by ops-alice: wrong person" });
    const text = entries.map((e) => e.entry).join("\n");
    expect(text).not.toContain(made.token);
    expect(text).not.toContain(hashSecret(made.token));
  });

  it("without an actor set: engine for operations and tasks, system for the rest", async () => {
    const mark = await headSeq(h);
    const { id } = await person();
    await h.deactivate(id);
    const entries = await entriesAfter(h, mark);
    expect(entries.filter((e) => e.kind.startsWith("scim.")).map((e) => e.actor)).toEqual(["system", "system"]);
    expect(new Set(entries.filter((e) => /^(operation|task)\./.test(e.kind)).map((e) => e.actor))).toEqual(new Set(["engine"]));
  });

  it("an actor set by the first statement of a batch", async () => {
    const mark = await headSeq(h);
    await h.db.batch([actorStatement("scim:acme"), { text: "insert into connections (id, name) values ($1, $2)", values: [randomUUID(), `batch-${++n}`] }]);
    expect((await entriesAfter(h, mark)).map((e) => [e.kind, e.actor])).toEqual([["connection.created", "scim:acme"]]);
  });

  it("the connection as the actor of a SCIM write and what it queued, set by a recorder on the change seam", async () => {
    await h.addTarget(`t-${randomUUID().slice(0, 8)}`, "fake");
    const { id } = await person();
    const mark = await headSeq(h);
    scimActorOn = true;
    try {
      await h.deactivate(id);
    } finally {
      scimActorOn = false;
    }
    const entries = await entriesAfter(h, mark);
    expect(entries.map((e) => e.kind)).toEqual(expect.arrayContaining(["scim.user.deactivated", "operation.created", "task.created"]));
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set(["scim:acme"]));
    expect(new Set(entries.map((e) => e.tx)).size).toBe(1);
    await h.drain();
  });

  it("every write of a handle given to an admin action as that admin's, queries and batches alike", async () => {
    const { id } = await person();
    await h.addTarget(`t-${randomUUID().slice(0, 8)}`, "fake");
    await h.deactivate(id);
    const [op] = (await h.operations()).filter((o) => o.subject_id === id);
    const mark = await headSeq(h);
    const asCarol = withActor(h.db, adminActor("ops-carol"));
    const target = await createTarget(asCarol, { connectionId: h.connectionId, name: `carol-${++n}`, kind: "fake" });
    await cancelOperation(asCarol, clock, op!.id, { by: "ops-carol" });
    const entries = await entriesAfter(h, mark);
    expect(entries.find((e) => e.kind === "target.created")).toMatchObject({ actor: "admin:ops-carol", data: { id: target.id } });
    expect(entries.filter((e) => e.kind === "operation.cancelled" || e.kind === "task.cancelled").length).toBeGreaterThan(1);
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set(["admin:ops-carol"]));
  });

  it("nothing for lease renewals, releases and re-claims", async () => {
    const target = await h.addTarget(`t-${randomUUID().slice(0, 8)}`, "fake");
    const { id } = await person();
    await h.deactivate(id);
    const mark = await headSeq(h);
    const claim = () => claimTasks(h.db, { workerId: "w1", now: clock.now(), leaseMs: 30_000, limit: 10, running: new Map() });
    const [task] = (await claim()).filter((t) => t.targetId === target.id);
    const ofTask = async () => (await entriesAfter(h, mark)).filter((e) => e.data?.id === task!.id).map((e) => e.kind);
    expect(await ofTask()).toEqual(["task.revoking"]);
    const lease = { taskId: task!.id, workerId: "w1" };
    for (let i = 1; i <= 3; i++) expect(await renewLease(h.db, lease, new Date(clock.now().getTime() + i * 30_000))).toBe(true);
    await releaseTask(h.db, lease);
    expect((await claim()).map((t) => t.id)).toContain(task!.id);
    await releaseTask(h.db, lease);
    expect(await ofTask()).toEqual(["task.revoking"]);
    await h.drain();
  });

  it("nothing for an admin token's or a credential's last use", async () => {
    const made = await createAdminToken(h.db, { name: "reader", role: "viewer" });
    const mark = await headSeq(h);
    await findAdminTokenBySecret(h.db, made.token, { now: () => Date.now() + 3_600_000 });
    await adminTokenWritesSettled();
    await h.db.query("update credentials set last_used_at = now()");
    expect(await h.db.query("select 1 from admin_tokens where id = $1 and last_used_at is not null", [made.adminToken.id])).toMatchObject({ rowCount: 1 });
    expect(await entriesAfter(h, mark)).toEqual([]);
  });

  it("a target's config changes by field name, never by value", async () => {
    const mark = await headSeq(h);
    const target = await createTarget(h.db, { connectionId: h.connectionId, name: `cfg-${++n}`, kind: "fake", config: { baseUrl: "https://crm.test", token: "s3cret-v1" } });
    await updateTargetPolicy(h.db, target.id, { slaMs: 60_000 }, undefined, { baseUrl: "https://crm.test", token: "s3cret-v2" });
    const entries = await entriesAfter(h, mark);
    expect(entries.map((e) => e.kind)).toEqual(["target.created", "target.updated"]);
    expect(entries[0]!.data).toMatchObject({ id: target.id, configFields: ["baseUrl", "token"], policy: { slaMs: 900_000 } });
    expect(entries[1]!.data).toMatchObject({ changed: ["config", "slaMs"], configChanged: ["token"], policy: { slaMs: 60_000 } });
    expect(entries.map((e) => e.entry).join("\n")).not.toMatch(/s3cret|crm\.test/);
  });

  it("nothing of a transaction that rolls back", async () => {
    const mark = await headSeq(h);
    await expect(h.db.transaction(async (tx) => {
      await tx.query("insert into connections (id, name) values ($1, $2)", [randomUUID(), `gone-${++n}`]);
      throw new Error("changed my mind");
    })).rejects.toThrow("changed my mind");
    expect(await entriesAfter(h, mark)).toEqual([]);
  });

  it("an entry for an action that changes no row, appended by the database with its actor", async () => {
    const seq = await asActor(h.db, adminActor("root"), (tx) => appendAudit(tx, "audit.exported", { entries: 3 }));
    const [entry] = await entriesAfter(h, seq - 1);
    expect(entry).toMatchObject({ seq, kind: "audit.exported", actor: "admin:root", data: { entries: 3 } });
  });

  it("refuses to UPDATE, DELETE or TRUNCATE audit_log unless a maintenance transaction says so", async () => {
    for (const statement of ["update audit_log set actor = 'me'", "delete from audit_log", "truncate audit_log"]) {
      await expect(h.db.query(statement)).rejects.toThrow(/audit_log is append-only/);
    }
    await h.db.transaction(async (tx) => {
      await tx.query("select set_config($1, 'on', true)", [MAINTENANCE_SETTING]);
      const result = await tx.query("update audit_log set actor = actor where seq = 1");
      expect(result.rowCount).toBe(1);
    });
  });

  it("a chain that verifies from its first row to its last", async () => {
    const result = await verifyAuditChain(h.db);
    const head = await auditHead(h.db);
    expect(result).toEqual({ ok: true, checked: head!.seq, head });
  });
});
