import { resolveEscalation } from "../../src/engine/admin.js";
import { receiptJwks } from "../../src/evidence/keys.js";
import { receiptIssuer, type ReceiptIssuer } from "../../src/evidence/receipt-issuer.js";
import { verifyReceipt, type ReceiptPayload } from "../../src/evidence/receipt-verify.js";
import { silentLogger } from "../../src/log.js";
import { findReceipt, operationsDueForReceipt } from "../../src/storage/receipts-repo.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";
import { fakeConnector, type FakeConnectorState } from "../support/fake-connector.js";
import { fakeClock } from "../support/fake-clock.js";

const MINUTE = 60_000;

describe("the receipt issuer", () => {
  let h: EngineHarness;
  let fake: FakeConnectorState;
  let slow: FakeConnectorState;
  let issuer: ReceiptIssuer;
  let n = 0;

  beforeAll(async () => {
    const clock = fakeClock();
    const a = fakeConnector({ clock, unobservableStep: true });
    const b = fakeConnector({ clock });
    fake = a.state;
    slow = b.state;
    h = await engineHarness({ connectors: [a.connector, { ...b.connector, id: "slow" }], clock });
    issuer = receiptIssuer({ db: h.db, box: h.engine.secrets, log: silentLogger(), publicUrl: "https://bridge.test/", clock });
  });
  afterAll(async () => {
    await issuer.stop();
    await h.close();
  });
  beforeEach(async () => {
    fake.setMode("honest");
    slow.setMode("honest");
    await h.db.query("update targets set enabled = false");
  });

  /** A person with an account in both fake targets, deactivated by the IdP. */
  async function deactivated(extra: Record<string, unknown> = {}) {
    const userName = `p${++n}@example.com`;
    fake.seed([{ userName }]);
    slow.seed([{ userName }]);
    const id = await h.createUser(userName, extra);
    await h.deactivate(id);
    await h.drain();
    const op = (await h.operations()).find((o) => o.subject_id === id)!;
    return { userName, id, operationId: op.id };
  }
  const receiptOf = async (operationId: string): Promise<ReceiptPayload> => {
    const stored = await findReceipt(h.db, operationId);
    expect(stored).not.toBeNull();
    const result = await verifyReceipt(stored!.jws, await receiptJwks(h.db));
    if (!result.ok) throw new Error(result.problem);
    expect(result.kid).toBe(stored!.kid);
    return result.payload;
  };

  it("issues exactly one receipt for a deactivation a target verified, and none on the next sweep", async () => {
    const name = `crm-${n}`;
    await h.addTarget(name, "fake");
    const { userName, operationId } = await deactivated({ externalId: "okta-00u42" });
    expect((await h.tasks("t.operation_id = $1", [operationId]))[0]!.state).toBe("verified");

    expect(await issuer.sweepOnce()).toBe(1);
    expect(await issuer.sweepOnce()).toBe(0);
    expect((await h.db.query("select 1 from receipts where operation_id = $1", [operationId])).rowCount).toBe(1);

    const payload = await receiptOf(operationId);
    expect(payload).toEqual(expect.objectContaining({
      iss: "https://bridge.test",
      operation: expect.objectContaining({ id: operationId, kind: "deactivate" }),
      connection: { id: h.connectionId, name: "acme" },
      subject: expect.objectContaining({ userName, externalId: "okta-00u42" }),
    }));
    const [target] = payload.targets;
    expect(target).toEqual(expect.objectContaining({ name, state: "verified", evidence: expect.objectContaining({ revoked: true }) }));
    expect(target!.steps.map((s) => [s.name, s.quality])).toEqual(expect.arrayContaining([["revoke-sessions", "observed"], ["sign-out-everywhere", "acknowledged"]]));

    // a signed checkpoint of the audit chain: the head when the receipt was issued, still in the log
    const head = await h.db.query<{ hash: string }>("select hash from audit_log where seq = $1", [payload.audit!.seq]);
    expect(head.rows[0]!.hash).toBe(payload.audit!.hash);
  });

  it("issues none for an escalated task until a person resolves it, then one carrying the resolution", async () => {
    await h.addTarget(`broken-${n}`, "fake");
    fake.setMode("auth-broken");
    const { operationId } = await deactivated();
    const [task] = await h.tasks("t.operation_id = $1", [operationId]);
    expect(task!.state).toBe("escalated");
    expect(await issuer.sweepOnce()).toBe(0);
    await h.tick(10 * MINUTE);
    expect(await issuer.sweepOnce()).toBe(0);

    expect(await resolveEscalation(h.db, h.clock, task!.id, { by: "sam", note: "disabled by hand in the vendor console" })).toBe(true);
    expect(await issuer.sweepOnce()).toBe(1);
    const payload = await receiptOf(operationId);
    expect(payload.targets[0]).toEqual(expect.objectContaining({
      state: "escalated",
      resolution: { by: "sam", at: h.clock.now().toISOString(), note: "disabled by hand in the vendor console" },
      reason: expect.stringMatching(/auth/),
    }));
    expect(payload.operation.completedAt).toBe(h.clock.now().toISOString());
  });

  it("issues none for an operation a reactivation superseded, and stops looking at it", async () => {
    await h.addTarget(`fast-${n}`, "fake");
    await h.addTarget(`lagging-${n}`, "slow");
    slow.setMode("liar");
    const { id, operationId } = await deactivated();
    expect((await h.tasks("t.operation_id = $1", [operationId])).map((t) => t.state).sort()).toEqual(["verified", "verifying"]);
    await h.reactivate(id);
    expect((await h.tasks("t.operation_id = $1", [operationId])).map((t) => t.state).sort()).toEqual(["cancelled", "verified"]);

    expect(await operationsDueForReceipt(h.db, 100)).toContain(operationId);
    expect(await issuer.sweepOnce()).toBe(0);
    expect(await findReceipt(h.db, operationId)).toBeNull();
    expect(await operationsDueForReceipt(h.db, 100)).not.toContain(operationId);
    expect(await issuer.issue(operationId)).toEqual({ outcome: "incomplete", final: true, why: expect.stringMatching(/was cancelled \(reactivated by the IdP/) });
  });

  it("issues the same receipt once when asked again, or by a racing replica", async () => {
    await h.addTarget(`twice-${n}`, "fake");
    const { operationId } = await deactivated();
    const other = receiptIssuer({ db: h.db, box: h.engine.secrets, log: silentLogger(), publicUrl: "https://bridge.test", clock: h.clock });
    const [a, b] = await Promise.all([issuer.issue(operationId), other.issue(operationId)]);
    expect([a.outcome, b.outcome].sort()).toEqual(["exists", "issued"]);
    const jws = (r: typeof a) => ("receipt" in r ? r.receipt.jws : null);
    expect(jws(a)).toBe(jws(b));
    expect(await issuer.issue(operationId)).toEqual({ outcome: "exists", receipt: expect.objectContaining({ jws: jws(a) }) });
    expect(await issuer.sweepOnce()).toBe(0);
  });

  it("once started, sweeps on its interval until stopped", async () => {
    await h.addTarget(`timed-${n}`, "fake");
    const { operationId } = await deactivated();
    const timed = receiptIssuer({ db: h.db, box: h.engine.secrets, log: silentLogger(), publicUrl: "https://bridge.test", clock: h.clock, intervalMs: 20 });
    await timed.start();
    const deadline = Date.now() + 10_000;
    while (!(await findReceipt(h.db, operationId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await timed.stop();
    await timed.stop();
    expect(await findReceipt(h.db, operationId)).not.toBeNull();
  });
});
