import { fakeConnector, type FakeConnectorState } from "../support/fake-connector.js";
import { fakeClock } from "../support/fake-clock.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";

/** The mass-deprovisioning guard: an unusual wave of deactivations waits for a person. */
describe("the mass-deprovisioning guard", () => {
  let h: EngineHarness;
  let state: FakeConnectorState;
  const ids: string[] = [];

  beforeAll(async () => {
    const clock = fakeClock();
    const fake = fakeConnector({ clock });
    state = fake.state;
    // 40 users; hold beyond 10% of them (4) from the 3rd operation on, or beyond 8 in an hour.
    h = await engineHarness({ connectors: [fake.connector], clock, settings: { guard: { enabled: true, maxShare: 0.1, maxCount: 8, minCount: 3, windowMs: 3_600_000 } } });
    await h.addTarget("app", "fake");
    for (let i = 0; i < 40; i++) {
      state.seed([{ userName: `p${i}@example.com` }]);
      ids.push(await h.createUser(`p${i}@example.com`));
    }
  });
  afterAll(() => h.close());

  it("lets ordinary deactivations through, then holds the ones past the share, while SCIM still answers 200", async () => {
    for (const id of ids.slice(0, 6)) await h.deactivate(id);
    const ops = (await h.operations()).sort((a, b) => Number(a.user_name.slice(1, -12)) - Number(b.user_name.slice(1, -12)));
    // 1st–4th: 4/40 = 10%, not more. 5th: 5 of (34 active + 5) > 10% → held, and so on.
    expect(ops.map((o) => o.status)).toEqual(["released", "released", "released", "released", "held", "held"]);
    expect(ops[4]!.reason).toBe("mass-deprovisioning guard");
    await h.drain();
    const released = await h.tasks("t.operation_id in (select id from operations where status = 'released')");
    const held = await h.tasks("t.operation_id in (select id from operations where status = 'held')");
    expect(released.map((t) => t.state)).toEqual(["verified", "verified", "verified", "verified"]);
    expect(held.map((t) => [t.state, t.held])).toEqual([["queued", true], ["queued", true]]);
    // Nothing was called in the target for the held ones.
    expect(state.accounts.get("p4@example.com")!.active).toBe(true);
  });

  it("lists held operations for operators and shows them held in the person's status", async () => {
    const held = await h.admin.get("/operations?status=held").expect(200);
    expect(held.body.operations.map((o: { subject: { userName: string } }) => o.subject.userName)).toEqual(["p4@example.com", "p5@example.com"]);
    const status = await h.admin.get("/connections/acme/subjects/P4@example.com/operations").expect(200);
    expect(status.body.operations[0]).toEqual(expect.objectContaining({ kind: "deactivate", status: "held", state: "held" }));
    expect(status.body.operations[0].tasks[0]).toEqual(expect.objectContaining({ held: true, nextAttemptAt: null }));
  });

  it("releases a held operation on approval, recording who approved it, and it runs", async () => {
    const [op] = (await h.operations()).filter((o) => o.status === "held");
    const res = await h.admin.post(`/operations/${op!.id}/approve`, { note: "planned reorg" }).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ status: "released", decision: expect.objectContaining({ by: "test-admin", note: "planned reorg" }) }));
    await h.drain();
    expect((await h.admin.get(`/operations/${op!.id}`).expect(200)).body.state).toBe("verified");
    expect(state.accounts.get("p4@example.com")!.active).toBe(false);
  });

  it("cancels a rejected operation's tasks: nothing is done in any target", async () => {
    const [op] = (await h.operations()).filter((o) => o.status === "held");
    await h.admin.post(`/operations/${op!.id}/reject`, { note: "IdP misconfiguration" }).expect(200);
    await h.drain();
    const view = (await h.admin.get(`/operations/${op!.id}`).expect(200)).body;
    expect(view).toEqual(expect.objectContaining({ status: "rejected", state: "rejected" }));
    expect(view.tasks[0]).toEqual(expect.objectContaining({ state: "cancelled", reason: "rejected by test-admin: IdP misconfiguration" }));
    expect(state.accounts.get("p5@example.com")!.active).toBe(true);
  });

  it("holds by count alone past maxCount, and approving a whole connection releases them all", async () => {
    for (const id of ids.slice(10, 20)) await h.deactivate(id);
    const held = (await h.operations()).filter((o) => o.status === "held");
    expect(held.length).toBe(10);
    const res = await h.admin.post("/connections/acme/held/approve", { note: "offboarding a team" }).expect(200);
    expect(res.body).toEqual({ connection: "acme", decision: "approve", operations: 10 });
    await h.drain();
    expect((await h.operations()).filter((o) => o.status === "held")).toEqual([]);
    for (let i = 10; i < 20; i++) expect(state.accounts.get(`p${i}@example.com`)!.active).toBe(false);
  });

  it("refuses to approve an operation that is not held", async () => {
    const [done] = await h.operations();
    const res = await h.admin.post(`/operations/${done!.id}/approve`).expect(409);
    expect(res.body.error.message).toBe("this operation is not held");
  });
});
