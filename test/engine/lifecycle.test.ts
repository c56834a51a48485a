import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { createEngine } from "../../src/engine/engine.js";
import { ConnectorRegistry } from "../../src/engine/registry.js";
import { engineSettings } from "../../src/engine/settings.js";
import { silentLogger } from "../../src/log.js";
import { claimTasks } from "../../src/storage/tasks-repo.js";
import { fakeConnector, type FakeConnectorState } from "../support/fake-connector.js";
import { fakeClock, type FakeClock } from "../support/fake-clock.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";
import { CORE_GROUP, patchBody } from "../support/scim-app.js";

const MINUTE = 60_000;

describe("the rest of a task's life", () => {
  let h: EngineHarness;
  let clock: FakeClock;
  let state: FakeConnectorState;
  let hooks: { received: unknown[]; status: number; url: string; close(): Promise<void> };
  let n = 0;

  beforeAll(async () => {
    const received: unknown[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (d) => (body += String(d)));
      req.on("end", () => {
        received.push(JSON.parse(body));
        res.statusCode = hooks.status;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    hooks = { received, status: 500, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => new Promise((r) => server.close(() => r())) };
    clock = fakeClock();
    const fake = fakeConnector({ clock });
    state = fake.state;
    h = await engineHarness({ connectors: [fake.connector], clock, settings: { escalationWebhookUrl: hooks.url, leaseMs: 30_000 } });
  });
  afterAll(async () => {
    await h.close();
    await hooks.close();
  });
  beforeEach(() => state.setMode("honest"));

  async function person(target: string) {
    const userName = `${target}-${++n}@example.com`;
    state.seed([{ userName, teams: ["eng-team"] }]);
    const id = await h.createUser(userName);
    return { userName, id };
  }
  const tasksOfUser = (id: string) => h.tasks("t.operation_id in (select id from operations where subject_id = $1)", [id]);

  it("runs the delete plan for a target whose policy deactivates by deleting", async () => {
    const target = await h.addTarget("del", "fake", { deactivate: "delete" });
    const { userName, id } = await person("del");
    await h.deactivate(id);
    await h.drain();
    const [t] = await tasksOfUser(id);
    expect(t).toEqual(expect.objectContaining({ state: "verified", intent: { kind: "delete" } }));
    expect(t!.steps.map((s) => s.name)).toEqual(["revoke-sessions", "delete-user"]);
    expect(state.accounts.has(userName)).toBe(false);
    await h.db.query("update targets set enabled = false where id = $1", [target.id]);
  });

  it("a dry-run target finds the account, plans and probes, and writes nothing; the evidence says dry-run", async () => {
    const target = await h.addTarget("dry", "fake", { mode: "dry-run" });
    const { userName, id } = await person("dry");
    await h.deactivate(id);
    await h.drain();
    const [t] = await tasksOfUser(id);
    expect(t!.state).toBe("cancelled");
    expect(t!.steps.map((s) => [s.name, s.outcome])).toEqual([["revoke-sessions", "planned"], ["suspend-user", "planned"]]);
    expect(t!.evidence).toEqual(expect.objectContaining({ dryRun: true, revoked: false }));
    expect(t!.reason).toMatch(/^dry-run: no writes made; the plan would run revoke-sessions, suspend-user; probe: /);
    expect(state.accounts.get(userName)).toEqual(expect.objectContaining({ active: true, sessions: 2 }));
    expect(state.calls.filter((c) => c.userName === userName || c.accountId === state.accounts.get(userName)!.id).map((c) => c.op)).toEqual(["findAccount", "verify"]);
    await h.db.query("update targets set enabled = false where id = $1", [target.id]);
  });

  it("revokes an entitlement when a member leaves a mapped group, and verifies it gone", async () => {
    const group = await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Eng" }).expect(201);
    const target = await h.addTarget("teams", "fake", { entitlements: { [group.body.id]: "eng-team" } });
    const { userName, id } = await person("teams");
    await h.scim.patch(`/Groups/${group.body.id}`, patchBody({ op: "add", path: "members", value: [{ value: id }] })).expect(204);
    await h.scim.patch(`/Groups/${group.body.id}`, patchBody({ op: "remove", path: `members[value eq "${id}"]` })).expect(204);
    await h.drain();
    const [t] = await tasksOfUser(id);
    expect(t).toEqual(expect.objectContaining({ state: "verified", intent: { kind: "revoke-entitlement", entitlement: "eng-team" } }));
    expect(state.accounts.get(userName)).toEqual(expect.objectContaining({ teams: [], active: true }));
    await h.db.query("update targets set enabled = false where id = $1", [target.id]);
  });

  describe("with one live target", () => {
    beforeAll(async () => {
      await h.addTarget("live", "fake", { slaMs: 10 * MINUTE });
    });

    it("resumes a task whose worker died mid-plan at the next step, once its lease expires", async () => {
      const { userName, id } = await person("lease");
      await h.deactivate(id);
      // A worker claims it and "dies" after the first step: simulate with a claim and a checkpoint.
      const [claimed] = await claimTasks(h.db, { workerId: "dead-worker", now: clock.now(), leaseMs: 30_000, limit: 10, running: new Map() });
      await h.db.query(`update tasks set steps = '[{"name":"revoke-sessions","outcome":"done","at":"x"}]', account = $2 where id = $1`, [
        claimed!.id, JSON.stringify({ found: true, account: { id: state.accounts.get(userName)!.id }, at: "x" }),
      ]);
      state.accounts.get(userName)!.sessions = 0;
      await h.drain();
      expect((await tasksOfUser(id))[0]!.state).toBe("revoking"); // the lease still holds
      await h.tick(30_001);
      const [t] = await tasksOfUser(id);
      expect(t!.state).toBe("verified");
      const ops = state.calls.filter((c) => c.accountId === state.accounts.get(userName)!.id).map((c) => c.op);
      expect(ops).toEqual(["suspend-user", "verify"]);
    });

    it("escalates at the deadline a task that could not run at all (its target paused), and announces it", async () => {
      const { id } = await person("paused");
      await h.db.query("update targets set paused_until = $1, pause_reason = 'rate-limited: Retry-After 3600 s' where name = 'live'", [new Date(clock.now().getTime() + 3_600_000)]);
      await h.deactivate(id);
      await h.tick(9 * MINUTE);
      expect((await tasksOfUser(id))[0]!.state).toBe("queued");
      await h.tick(MINUTE + 1);
      const [t] = await tasksOfUser(id);
      expect(t!.state).toBe("escalated");
      expect(t!.reason).toBe("deadline passed before the task could finish (target paused: rate-limited: Retry-After 3600 s)");
      const notice = await h.db.query<{ body: { reason: string } }>("select body from escalation_notices where task_id = $1", [t!.id]);
      expect(notice.rows[0]!.body.reason).toBe(t!.reason);
      await h.db.query("update targets set paused_until = null, pause_reason = null where name = 'live'");
      await h.db.query("update tasks set state = 'cancelled' where id = $1", [t!.id]);
    });

    it("announces an escalation on the webhook, retrying until the receiver takes it", async () => {
      state.setMode("auth-broken");
      const { id } = await person("hook");
      await h.deactivate(id);
      hooks.status = 500;
      await h.drain();
      const [t] = await tasksOfUser(id);
      expect(t!.state).toBe("escalated");
      const mine = () => hooks.received.filter((b) => (b as { taskId: string }).taskId === t!.id);
      expect(mine()).toHaveLength(1);
      const notice = await h.db.query<{ attempts: number; delivered_at: Date | null; last_error: string }>("select attempts, delivered_at, last_error from escalation_notices where task_id = $1", [t!.id]);
      expect(notice.rows[0]).toEqual(expect.objectContaining({ attempts: 1, delivered_at: null, last_error: "webhook answered 500" }));
      hooks.status = 204;
      await h.tick(60_000);
      expect(mine()).toHaveLength(2);
      expect(mine()[1]).toEqual(expect.objectContaining({ event: "task.escalated", taskId: t!.id, target: expect.objectContaining({ name: "live" }), subject: expect.objectContaining({ userName: expect.stringMatching(/^hook-/) }), reason: expect.stringMatching(/^auth error/), attempt: 2 }));
      expect((await h.db.query("select 1 from escalation_notices where task_id = $1 and delivered_at is not null", [t!.id])).rowCount).toBe(1);
    });

    it("an operator resolves an escalation with a note: it stays escalated (never verified) and is no longer probed", async () => {
      state.setMode("liar");
      const { id } = await person("resolve");
      await h.deactivate(id);
      await h.drain();
      await h.tick(11 * MINUTE);
      await h.tick(1);
      const [t] = await tasksOfUser(id);
      expect(t!.state).toBe("escalated");
      await h.admin.post(`/tasks/${t!.id}/resolve`, {}).expect(400);
      await h.admin.post(`/tasks/${t!.id}/resolve`, { note: "removed by hand in the vendor console" }).expect(200);
      const probes = (await tasksOfUser(id))[0]!.probes;
      await h.tick(5 * MINUTE, 2);
      const after = (await tasksOfUser(id))[0]!;
      expect(after).toEqual(expect.objectContaining({ state: "escalated", probes, resolution: expect.objectContaining({ by: "test-admin", note: "removed by hand in the vendor console" }) }));
      const status = await h.admin.get(`/connections/acme/subjects/${encodeURIComponent(after.id ? (await h.operations()).find((o) => o.subject_id === id)!.user_name : "")}/operations`).expect(200);
      expect(status.body.operations[0].tasks.find((x: { id: string }) => x.id === t!.id)).toEqual(expect.objectContaining({ state: "escalated", nextAttemptAt: null }));
    });

    it("retry now makes a backed-off task due at once; cancel ends open tasks with the reason", async () => {
      state.setMode("down");
      const { id } = await person("retry");
      await h.deactivate(id);
      await h.drain();
      const [t] = await tasksOfUser(id);
      expect(t!.runAt.getTime()).toBeGreaterThan(clock.now().getTime());
      const opId = (await h.operations()).find((o) => o.subject_id === id)!.id;
      state.setMode("honest");
      await h.db.query("update targets set paused_until = null, consecutive_failures = 0");
      const retried = await h.admin.post(`/operations/${opId}/retry`).expect(200);
      expect(retried.body.tasks[0].nextAttemptAt).toBe(clock.now().toISOString());
      await h.drain();
      expect((await tasksOfUser(id))[0]!.state).toBe("verified");

      state.setMode("down");
      const other = await person("cancel");
      await h.deactivate(other.id);
      await h.drain();
      const otherOp = (await h.operations()).find((o) => o.subject_id === other.id)!.id;
      const cancelled = await h.admin.post(`/operations/${otherOp}/cancel`, { note: "duplicate ticket" }).expect(200);
      expect(cancelled.body.tasks[0]).toEqual(expect.objectContaining({ state: "cancelled", reason: "cancelled by test-admin: duplicate ticket" }));
      await h.admin.post(`/operations/${otherOp}/cancel`).expect(409);
    });

    it("viewers read a person's operations but may not act on them", async () => {
      const viewer = await h.admin.post("/admin-tokens", { name: "support", role: "viewer" }).expect(201);
      const opId = (await h.operations())[0]!.id;
      await request(h.app).get(`/admin/api/operations/${opId}`).set("Authorization", `Bearer ${viewer.body.token}`).expect(200);
      const denied = await request(h.app).post(`/admin/api/operations/${opId}/retry`).set("Authorization", `Bearer ${viewer.body.token}`).expect(403);
      expect(denied.body.error.message).toBe("role viewer may not do this");
    });
  });

  it("reports queue and task state on /metrics and worker liveness on /readyz", async () => {
    const metrics = await request(h.app).get("/metrics").expect(200);
    expect(metrics.text).toMatch(/scim_bridge_tasks\{state="verified",target="live"\} \d+/);
    expect(metrics.text).toMatch(/scim_bridge_queue_due_tasks \d+/);
    expect(metrics.text).toMatch(/scim_bridge_time_to_verified_seconds_bucket\{le="0.05",target="live"\} \d+/);
    expect(metrics.text).toMatch(/scim_bridge_escalations_total\{target="live",cause="auth"\} 1/);
    // The harness engine is drained by hand, never started: its workers are not alive.
    const ready = await request(h.app).get("/readyz").expect(503);
    expect(ready.body).toEqual(expect.objectContaining({ status: "workers-stalled", workers: "stalled" }));
  });
});

describe("an engine that is started", () => {
  it("wakes within milliseconds of the SCIM commit and verifies without anyone draining", async () => {
    const clock = { now: () => new Date() };
    const fake = fakeConnector({ clock });
    const h = await engineHarness({ connectors: [] });
    const engine = createEngine({ db: h.db, log: silentLogger(), registry: new ConnectorRegistry([fake.connector]), settings: engineSettings({ pollIntervalMs: 60_000, guard: { enabled: false } }) });
    try {
      await h.addTarget("rt", "fake");
      fake.state.seed([{ userName: "rt@example.com" }]);
      const id = await h.createUser("rt@example.com");
      await engine.start();
      // The harness recorder belongs to the harness engine; wake this one as a commit would.
      await h.deactivate(id);
      engine.wake();
      const started = Date.now();
      for (;;) {
        const [t] = await h.tasks();
        if (t?.state === "verified") break;
        if (Date.now() - started > 5_000) throw new Error(`not verified in 5 s: ${t?.state}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(engine.alive()).toBe(true);
    } finally {
      await engine.stop();
      await h.close();
    }
  });
});
