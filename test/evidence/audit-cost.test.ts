import { auditHead } from "../../src/storage/audit-repo.js";
import { fakeConnector, type FakeConnectorState } from "../support/fake-connector.js";
import { fakeClock } from "../support/fake-clock.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";
import { testStore } from "../support/test-db.js";

/**
 * What the audit triggers cost a deactivation through the engine: measured and printed, never
 * asserted (timings on a shared machine are not a specification). Rounds alternate with the
 * triggers disabled and enabled, so warm-up favours neither.
 */
describe("the audit log's cost", () => {
  const clock = fakeClock();
  let h: EngineHarness;
  let state: FakeConnectorState;
  let n = 0;
  const TARGETS = 3;
  const PER_ROUND = 40;

  beforeAll(async () => {
    const fake = fakeConnector({ clock });
    state = fake.state;
    h = await engineHarness({ connectors: [fake.connector], clock });
    for (let i = 0; i < TARGETS; i++) await h.addTarget(`cost-${i}`, "fake");
  });
  afterAll(() => h.close());

  async function setTriggers(enabled: boolean): Promise<void> {
    const triggers = await h.db.query<{ tbl: string; name: string }>(
      "select c.relname as tbl, t.tgname as name from pg_trigger t join pg_class c on c.oid = t.tgrelid where t.tgname like 'audit\\_%' and c.relname <> 'audit_log' and not t.tgisinternal",
    );
    for (const t of triggers.rows) await h.db.exec(`alter table ${t.tbl} ${enabled ? "enable" : "disable"} trigger ${t.name}`);
  }

  /** `PER_ROUND` people deactivated one at a time, each drained to verified; milliseconds per person. */
  async function round(): Promise<{ patchMs: number; totalMs: number; rows: number }> {
    const ids: string[] = [];
    for (let i = 0; i < PER_ROUND; i++) {
      const userName = `cost-${++n}@example.com`;
      state.seed([{ userName }]);
      ids.push(await h.createUser(userName));
    }
    const before = (await auditHead(h.db))?.seq ?? 0;
    let patchMs = 0;
    const started = performance.now();
    for (const id of ids) {
      const t = performance.now();
      await h.deactivate(id);
      patchMs += performance.now() - t;
      await h.drain();
    }
    const totalMs = performance.now() - started;
    return { patchMs: patchMs / PER_ROUND, totalMs: totalMs / PER_ROUND, rows: ((await auditHead(h.db))?.seq ?? 0) - before };
  }

  it("measures a deactivation to verified in three targets with and without the triggers", async () => {
    const results: Record<"off" | "on", { patchMs: number; totalMs: number }[]> = { off: [], on: [] };
    await round(); // warm-up
    for (const enabled of [false, true, false, true]) {
      await setTriggers(enabled);
      const r = await round();
      // one SCIM update, the operation, and per task: created, revoking, account, 2 steps, probe, verified
      expect(r.rows).toBe(enabled ? PER_ROUND * (2 + TARGETS * 7) : 0);
      results[enabled ? "on" : "off"].push(r);
    }
    await setTriggers(true);
    const mean = (xs: { patchMs: number; totalMs: number }[], k: "patchMs" | "totalMs") => xs.reduce((s, x) => s + x[k], 0) / xs.length;
    const line = (k: "patchMs" | "totalMs") =>
      `${k === "patchMs" ? "SCIM PATCH" : "PATCH + drain to verified"}: ${mean(results.off, k).toFixed(2)} ms without, ${mean(results.on, k).toFixed(2)} ms with the audit triggers (+${(((mean(results.on, k) / mean(results.off, k)) - 1) * 100).toFixed(0)}%)`;
    console.log(`audit cost on ${testStore()}, ${TARGETS} targets, ${2 * PER_ROUND} deactivations each way (${2 + TARGETS * 7} entries each):\n  ${line("patchMs")}\n  ${line("totalMs")}`);
  });
});
