import { fakeConnector, type FakeConnectorState } from "../support/fake-connector.js";
import { fakeClock, type FakeClock } from "../support/fake-clock.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";

const MINUTE = 60_000;

/**
 * A task's life: findAccount → ordered steps, checkpointed → verify → re-probe until observed
 * revoked, or escalated at the deadline. Each case runs one fake target in one mode.
 */
describe("running a deactivation in one target", () => {
  let h: EngineHarness;
  let clock: FakeClock;
  let state: FakeConnectorState;
  let users = 0;

  beforeAll(async () => {
    clock = fakeClock();
    const fake = fakeConnector({ clock, unobservableStep: true });
    state = fake.state;
    h = await engineHarness({
      connectors: [fake.connector],
      clock,
      settings: { probeBaseMs: 1_000, probeCapMs: 30_000, retryBaseMs: 1_000, retryCapMs: 60_000, escalatedProbeIntervalMs: 5 * MINUTE, breakerThreshold: 1_000 },
    });
    // One call at a time: a request already in flight when another one's 429 arrives can't be
    // recalled, and the in-process fake would count it. With one in flight, the rule is exact.
    await h.addTarget("app", "fake", { slaMs: 15 * MINUTE, maxConcurrency: 1 });
  });
  afterAll(() => h.close());

  /** A fresh person with an account in the fake target, deactivated over SCIM. */
  async function deactivateSomeone(seed: { teams?: string[] } = {}) {
    const userName = `user${++users}@example.com`;
    state.seed([{ userName, ...seed }]);
    const id = await h.createUser(userName);
    await h.deactivate(id);
    const [task] = await h.tasks("t.operation_id = (select id from operations where subject_id = $1)", [id]);
    return { userName, id, taskId: task!.id };
  }
  const task = async (id: string) => (await h.tasks("t.id = $1", [id]))[0]!;

  beforeEach(() => state.setMode("honest"));

  it("revokes sessions first, then suspends, then verifies by probe (honest target)", async () => {
    const { userName, taskId } = await deactivateSomeone();
    await h.drain();
    const t = await task(taskId);
    expect(t.state).toBe("verified");
    expect(t.steps.map((s) => [s.name, s.outcome, s.acknowledged ?? false])).toEqual([
      ["revoke-sessions", "done", false],
      ["sign-out-everywhere", "done", true],
      ["suspend-user", "done", false],
    ]);
    expect(t.evidence).toEqual(expect.objectContaining({ revoked: true, evidence: expect.stringContaining("active=false") }));
    expect(state.accounts.get(userName)).toEqual(expect.objectContaining({ active: false, sessions: 0 }));
    const ops = state.calls.filter((c) => c.userName === userName || c.accountId === state.accounts.get(userName)?.id).map((c) => c.op);
    expect(ops).toEqual(["findAccount", "revoke-sessions", "sign-out-everywhere", "suspend-user", "verify"]);
  });

  it("marks a subject with no account verified, with 'no account' evidence, and runs no step", async () => {
    const id = await h.createUser("nobody@example.com");
    await h.deactivate(id);
    await h.drain();
    const [t] = await h.tasks("t.operation_id = (select id from operations where subject_id = $1)", [id]);
    expect(t).toEqual(expect.objectContaining({ state: "verified", steps: [] }));
    expect(t!.evidence?.evidence).toMatch(/no account/);
  });

  it("verifies an eventual target only after its state really turned", async () => {
    state.setMode({ mode: "eventual", lagMs: 20_000 });
    const { userName, taskId } = await deactivateSomeone();
    await h.drain();
    expect((await task(taskId)).state).toBe("verifying");
    // Probes keep seeing the old state until the lag is over.
    let seenVerifiedAt: number | null = null;
    for (let i = 0; i < 30 && seenVerifiedAt === null; i++) {
      await h.tick(2_000);
      if ((await task(taskId)).state === "verified") seenVerifiedAt = clock.now().getTime();
    }
    const t = await task(taskId);
    expect(t.state).toBe("verified");
    const writeAt = new Date(t.steps.at(-1)!.at).getTime();
    expect(seenVerifiedAt! - writeAt).toBeGreaterThanOrEqual(20_000);
    const notRevoked = state.calls.filter((c) => c.op === "verify" && c.outcome === "not-revoked" && c.userName === userName);
    expect(notRevoked.length).toBeGreaterThan(0);
  });

  it("escalates a liar target at its deadline and never marks it verified", async () => {
    state.setMode("liar");
    const { taskId } = await deactivateSomeone();
    await h.drain();
    for (let elapsed = 0; elapsed < 14 * MINUTE; elapsed += 30_000) {
      await h.tick(30_000);
      expect((await task(taskId)).state).toBe("verifying");
    }
    await h.tick(2 * MINUTE, 2);
    const t = await task(taskId);
    expect(t.state).toBe("escalated");
    expect(t.reason).toMatch(/deadline passed .* without an observed revocation/);
    const notices = await h.db.query<{ body: { event: string; taskId: string } }>("select body from escalation_notices where task_id = $1", [taskId]);
    expect(notices.rows.map((r) => r.body)).toEqual([expect.objectContaining({ event: "task.escalated", taskId })]);
    // Escalated work keeps being probed, slowly; a liar stays escalated, never verified.
    const probes = t.probes;
    await h.tick(5 * MINUTE, 3);
    const later = await task(taskId);
    expect(later.state).toBe("escalated");
    expect(later.probes).toBe(probes + 3);
  });

  it("closes an escalation when a later probe observes the access gone", async () => {
    state.setMode("liar");
    const { userName, taskId } = await deactivateSomeone();
    await h.drain();
    await h.tick(16 * MINUTE);
    await h.tick(1);
    expect((await task(taskId)).state).toBe("escalated");
    // Someone fixes it by hand in the target.
    state.setMode("honest");
    const account = state.accounts.get(userName)!;
    account.active = false;
    account.sessions = 0;
    await h.tick(5 * MINUTE);
    expect((await task(taskId)).state).toBe("verified");
  });

  it("escalates an auth error at once, with the error, without retrying", async () => {
    state.setMode("auth-broken");
    const { taskId } = await deactivateSomeone();
    await h.drain();
    const t = await task(taskId);
    expect(t.state).toBe("escalated");
    expect(t.lastErrorKind).toBe("auth");
    expect(t.lastError).toMatch(/find-account: .*credentials/);
    expect(t.runAt.getTime() - clock.now().getTime()).toBe(5 * MINUTE);
  });

  it("retries a flaky target with backoff and resumes at the step that failed", async () => {
    const { userName, taskId } = await deactivateSomeone();
    // find ok, revoke-sessions ok, sign-out fails once, then all ok.
    state.setMode({ mode: "flaky", failures: [false, false, true, false] });
    await h.drain();
    let t = await task(taskId);
    expect(t.state).toBe("revoking");
    expect(t.steps.map((s) => s.name)).toEqual(["revoke-sessions"]);
    expect(t.lastErrorKind).toBe("retryable");
    expect(t.attempts).toBe(1);
    const wait = t.runAt.getTime() - clock.now().getTime();
    expect(wait).toBeGreaterThanOrEqual(500);
    expect(wait).toBeLessThanOrEqual(1_000);
    await h.tick(1_000);
    t = await task(taskId);
    expect(t.state).toBe("verified");
    expect(state.effects.get(userName)?.duplicates["revoke-sessions"] ?? 0).toBe(0);
  });

  it("never calls a target before the Retry-After its 429 announced", async () => {
    const { userName, taskId } = await deactivateSomeone();
    state.setMode({ mode: "rate-limited", retryAfterMs: 7_000 });
    await h.drain();
    let t = await task(taskId);
    expect(t.lastErrorKind).toBe("rate-limited");
    expect(t.runAt.getTime() - clock.now().getTime()).toBe(7_000);
    const target = await h.db.query<{ paused_until: Date }>("select paused_until from targets where name = 'app'");
    expect(target.rows[0]!.paused_until.getTime()).toBe(t.runAt.getTime());
    const refusedAt = clock.now().getTime();
    const callsBefore = state.calls.length;
    // Another deactivation meanwhile (a millisecond later) is not sent to the paused target either.
    const second = await deactivateSomeone();
    await h.tick(3_000);
    await h.tick(3_998);
    expect(clock.now().getTime() - refusedAt).toBe(6_999);
    expect(state.calls.length).toBe(callsBefore);
    state.setMode("honest");
    await h.tick(1);
    t = await task(taskId);
    expect(t.state).toBe("verified");
    expect((await task(second.taskId)).state).toBe("verified");
    expect(Math.min(...state.calls.slice(callsBefore).map((c) => c.at.getTime())) - refusedAt).toBe(7_000);
    expect(state.retryAfterViolations).toBe(0);
    void userName;
  });

  it("opens the circuit breaker for a target that keeps failing instead of burning attempts", async () => {
    const breaker = await engineHarness({
      connectors: [fakeConnector({ clock: fakeClock(), mode: "down" }).connector],
      settings: { breakerThreshold: 3, breakerCooldownMs: 30_000, retryBaseMs: 100, retryCapMs: 1_000 },
    });
    try {
      await breaker.addTarget("down", "fake");
      for (let i = 0; i < 3; i++) await breaker.deactivate(await breaker.createUser(`d${i}@example.com`));
      await breaker.drain();
      const target = await breaker.db.query<{ consecutive_failures: number; paused_until: Date | null; pause_reason: string }>("select consecutive_failures, paused_until, pause_reason from targets");
      expect(target.rows[0]!.consecutive_failures).toBe(3);
      expect(target.rows[0]!.paused_until!.getTime() - breaker.clock.now().getTime()).toBe(30_000);
      expect(target.rows[0]!.pause_reason).toMatch(/circuit breaker: 3 failures/);
      // While open, no task of that target is even claimed.
      breaker.clock.advance(5_000);
      expect(await breaker.drain()).toBe(0);
    } finally {
      await breaker.close();
    }
  });
});
