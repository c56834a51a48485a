import { claimTasks } from "../../src/storage/tasks-repo.js";
import { fakeConnector } from "../support/fake-connector.js";
import { fakeClock } from "../support/fake-clock.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";
import { CORE_GROUP, patchBody } from "../support/scim-app.js";

describe("claiming due tasks", () => {
  let h: EngineHarness;

  beforeAll(async () => {
    const clock = fakeClock();
    h = await engineHarness({ connectors: [fakeConnector({ clock }).connector], clock });
  });
  afterAll(() => h.close());

  it("never lets one target's backlog hide another target's due tasks", async () => {
    const group = await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Fast lane" }).expect(201);
    const slow = await h.addTarget("slow", "fake", { maxConcurrency: 1 });
    const fast = await h.addTarget("fast", "fake", { scopeGroups: [group.body.id] });
    // 30 older tasks for the slow target only, then one person in scope of both.
    for (let i = 0; i < 30; i++) await h.deactivate(await h.createUser(`old${i}@example.com`));
    const late = await h.createUser("late@example.com");
    await h.scim.patch(`/Groups/${group.body.id}`, patchBody({ op: "add", path: "members", value: [{ value: late }] })).expect(204);
    await h.deactivate(late);

    // This process already runs one task of the slow target: its only slot is taken.
    const claimed = await claimTasks(h.db, { workerId: "w1", now: h.clock.now(), leaseMs: 30_000, limit: 4, running: new Map([[slow.id, 1]]) });
    expect(claimed.map((t) => t.target.name)).toEqual(["fast"]);
    expect(claimed[0]!.subject.userName).toBe("late@example.com");

    // With its slot free, the slow target gets exactly one task (its oldest), the fast one its own.
    await h.db.query("update tasks set locked_by = null, locked_until = null");
    const again = await claimTasks(h.db, { workerId: "w2", now: h.clock.now(), leaseMs: 30_000, limit: 4, running: new Map() });
    expect(again.map((t) => t.target.name).sort()).toEqual(["fast", "slow"]);
    expect(again.find((t) => t.target.id === slow.id)!.subject.userName).toBe("old0@example.com");
    void fast;
  });

  it("skips tasks another worker holds a live lease on, and takes them once the lease has expired", async () => {
    await h.db.query("update tasks set locked_by = null, locked_until = null");
    const first = await claimTasks(h.db, { workerId: "a", now: h.clock.now(), leaseMs: 30_000, limit: 100, running: new Map() });
    const second = await claimTasks(h.db, { workerId: "b", now: h.clock.now(), leaseMs: 30_000, limit: 100, running: new Map() });
    expect(first.length).toBeGreaterThan(0);
    expect(second.filter((t) => first.some((f) => f.id === t.id))).toEqual([]);
    const later = await claimTasks(h.db, { workerId: "b", now: new Date(h.clock.now().getTime() + 30_001), leaseMs: 30_000, limit: 100, running: new Map() });
    expect(later.map((t) => t.id)).toEqual(expect.arrayContaining(first.filter((t) => t.target.name === "fast").map((t) => t.id)));
  });
});
