import { planFor, TargetError, type Account, type Connector, type Intent, type Subject, type TargetContext } from "../../src/connector-kit.js";
import { silentLogger } from "../../src/log.js";
import { fakeClock, type FakeClock } from "./fake-clock.js";
import { fakeConnector, type FakeConnectorOptions, type FakeConnectorState } from "./fake-connector.js";
import { targetErrorOf as errorOf } from "./target-error-of.js";

const subject = (userName: string): Subject => ({ connectionId: "c-1", id: `s-${userName}`, userName, emails: [] });
const log = silentLogger();


/** A fake connector on a fake clock, with helpers to run its plans the way the engine will. */
function setup(options: Omit<FakeConnectorOptions, "clock"> = {}) {
  const clock: FakeClock = fakeClock();
  const { connector, state } = fakeConnector({ clock, accounts: [{ userName: "alice", teams: ["eng", "ops"] }, { userName: "bob" }], ...options });
  const ctx = (intent: Intent = { kind: "deactivate" }): TargetContext => ({
    config: {}, intent, http: { request: () => Promise.reject(new Error("the fake connector makes no HTTP calls")) }, log, signal: new AbortController().signal, now: clock.now,
  });
  const find = async (userName: string) => (await connector.findAccount(subject(userName), ctx()))!;
  const run = async (account: Account, intent: Intent = { kind: "deactivate" }) => {
    const outcomes: string[] = [];
    for (const step of planFor(connector, intent.kind)) outcomes.push(await step.run(account, ctx(intent)));
    return outcomes;
  };
  return { clock, connector: connector as Connector, state: state as FakeConnectorState, ctx, find, run };
}

describe("the in-process fake connector", () => {
  describe("honest", () => {
    it("finds an account by userName and answers null for an unknown one", async () => {
      const { connector, ctx, state } = setup();
      expect(await connector.findAccount(subject("alice"), ctx())).toEqual({ id: state.accounts.get("alice")!.id, data: { userName: "alice" } });
      expect(await connector.findAccount(subject("nobody"), ctx())).toBeNull();
    });

    it("deactivates by revoking sessions then suspending, and verify observes it with evidence", async () => {
      const { connector, ctx, find, run, state } = setup();
      const alice = await find("alice");
      expect(planFor(connector, "deactivate").map((s) => s.name)).toEqual(["revoke-sessions", "suspend-user"]);
      expect(await connector.verify(alice, ctx())).toEqual({ revoked: false, evidence: `account ${alice.id} → active=true, sessions=2` });
      expect(await run(alice)).toEqual(["done", "done"]);
      expect(await connector.verify(alice, ctx())).toEqual({ revoked: true, evidence: `account ${alice.id} → active=false, sessions=0` });
      expect(state.effects.get("alice")).toEqual({ effects: { "revoke-sessions": 1, "suspend-user": 1 }, duplicates: {}, ignored: {} });
    });

    it("deletes, and revokes one entitlement, each observed by verify", async () => {
      const { connector, ctx, find, run, state } = setup();
      const alice = await find("alice");
      const bob = await find("bob");
      const eng: Intent = { kind: "revoke-entitlement", entitlement: "eng" };
      expect(await run(alice, eng)).toEqual(["done"]);
      expect(await connector.verify(alice, ctx(eng))).toEqual({ revoked: true, evidence: `account ${alice.id} → teams=[ops] (not in eng)` });
      expect(await connector.verify(bob, ctx({ kind: "delete" }))).toMatchObject({ revoked: false });
      expect(await run(bob, { kind: "delete" })).toEqual(["done", "done"]);
      expect(await connector.verify(bob, ctx({ kind: "delete" }))).toEqual({ revoked: true, evidence: `account ${bob.id} → not found` });
      expect(state.accounts.has("bob")).toBe(false);
    });

    it("answers already-done to every step run a second time and counts the repeats as duplicates", async () => {
      const { find, run, state } = setup();
      const alice = await find("alice");
      const bob = await find("bob");
      await run(alice);
      await run(bob, { kind: "delete" });
      expect(await run(alice)).toEqual(["already-done", "already-done"]);
      expect(await run(bob, { kind: "delete" })).toEqual(["already-done", "already-done"]);
      expect(state.effects.get("alice")).toEqual({ effects: { "revoke-sessions": 1, "suspend-user": 1 }, duplicates: { "revoke-sessions": 1, "suspend-user": 1 }, ignored: {} });
      expect(state.effects.get("bob")).toMatchObject({ effects: { "revoke-sessions": 1, "delete-user": 1 }, duplicates: { "revoke-sessions": 1, "delete-user": 1 } });
    });

    it("adds an unobservable sign-out-everywhere step to the deactivate plan when asked", async () => {
      const { connector, find, run, state } = setup({ unobservableStep: true });
      const plan = planFor(connector, "deactivate");
      expect(plan.map((s) => [s.name, s.observable ?? true])).toEqual([["revoke-sessions", true], ["sign-out-everywhere", false], ["suspend-user", true]]);
      const alice = await find("alice");
      expect(await run(alice)).toEqual(["done", "done", "done"]);
      expect(await run(alice)).toEqual(["already-done", "already-done", "already-done"]);
      expect(state.effects.get("alice")?.effects).toEqual({ "revoke-sessions": 1, "sign-out-everywhere": 1, "suspend-user": 1 });
    });

    it("records every call with the clock's time, its op, the userName and the account id", async () => {
      const { clock, connector, ctx, find, run, state } = setup();
      const alice = await find("alice");
      clock.advance(1000);
      await run(alice);
      clock.advance(1000);
      await connector.verify(alice, ctx());
      expect(state.calls).toEqual([
        { at: new Date("2026-01-05T09:00:00.000Z"), op: "findAccount", userName: "alice", accountId: alice.id, outcome: "found" },
        { at: new Date("2026-01-05T09:00:01.000Z"), op: "revoke-sessions", userName: "alice", accountId: alice.id, outcome: "done", effect: true },
        { at: new Date("2026-01-05T09:00:01.000Z"), op: "suspend-user", userName: "alice", accountId: alice.id, outcome: "done", effect: true },
        { at: new Date("2026-01-05T09:00:02.000Z"), op: "verify", userName: "alice", accountId: alice.id, outcome: "revoked" },
      ]);
      expect(state.callsTo("verify")).toHaveLength(1);
    });

    it("lets a hook stage a crash in the middle of a plan; the rerun lands only what is missing", async () => {
      let crash = true;
      const { find, run, state } = setup({ onCall: (call) => { if (call.op === "suspend-user" && crash) throw new Error("process killed"); } });
      const alice = await find("alice");
      await expect(run(alice)).rejects.toThrow("process killed");
      expect(state.calls.at(-1)).toMatchObject({ op: "suspend-user", outcome: "error" });
      crash = false;
      expect(await run(alice)).toEqual(["already-done", "done"]);
      expect(state.effects.get("alice")).toMatchObject({ effects: { "revoke-sessions": 1, "suspend-user": 1 }, duplicates: { "revoke-sessions": 1 } });
    });
  });

  describe("modes", () => {
    it("eventual: reads show the state from before a write for lagMs of clock time, then the truth", async () => {
      const { clock, connector, ctx, find, run, state } = setup({ mode: { mode: "eventual", lagMs: 5000 } });
      const alice = await find("alice");
      const bob = await find("bob");
      await run(alice);
      clock.advance(1000);
      await run(bob, { kind: "delete" });
      expect(state.accounts.get("alice")).toMatchObject({ active: false, sessions: 0 });
      clock.advance(3999);
      expect(await connector.verify(alice, ctx())).toMatchObject({ revoked: false });
      clock.advance(1);
      expect(await connector.verify(alice, ctx())).toMatchObject({ revoked: true });
      expect(await connector.findAccount(subject("bob"), ctx())).toEqual(bob);
      clock.advance(1000);
      expect(await connector.findAccount(subject("bob"), ctx())).toBeNull();
    });

    it("liar: answers done to every step and changes nothing", async () => {
      const { connector, ctx, find, run, state } = setup({ mode: "liar" });
      const alice = await find("alice");
      expect(await run(alice)).toEqual(["done", "done"]);
      expect(await connector.verify(alice, ctx())).toMatchObject({ revoked: false });
      expect(state.accounts.get("alice")).toMatchObject({ active: true, sessions: 2 });
      expect(state.effects.get("alice")).toEqual({ effects: {}, duplicates: {}, ignored: { "revoke-sessions": 1, "suspend-user": 1 } });
    });

    it("flaky: fails the calls a deterministic sequence says, cycled, as retryable", async () => {
      const { connector, ctx } = setup({ mode: { mode: "flaky", failures: [true, false, false] } });
      const results: string[] = [];
      for (let i = 0; i < 6; i++) results.push(await connector.findAccount(subject("alice"), ctx()).then(() => "ok", (e: TargetError) => `${e.kind} ${e.detail.status}`));
      expect(results).toEqual(["retryable 503", "ok", "ok", "retryable 503", "ok", "ok"]);
    });

    it("flaky with failAfterWrite: the step lands, then throws", async () => {
      const { connector, ctx, find, state } = setup();
      const alice = await find("alice");
      state.setMode({ mode: "flaky", failEvery: 1, failAfterWrite: true });
      expect(await errorOf(connector.plans.deactivate[0]!.run(alice, ctx()))).toMatchObject({ kind: "retryable" });
      expect(state.accounts.get("alice")?.sessions).toBe(0);
      expect(state.calls.at(-1)).toMatchObject({ op: "revoke-sessions", outcome: "retryable", effect: true });
    });

    it("rate-limited: refuses every call with a 429 and retryAfterMs, and counts calls before that moment", async () => {
      const { clock, connector, ctx, state } = setup({ mode: { mode: "rate-limited", retryAfterMs: 2000 } });
      expect(await errorOf(connector.findAccount(subject("alice"), ctx()))).toMatchObject({ kind: "rate-limited", detail: { status: 429, retryAfterMs: 2000 } });
      clock.advance(1999);
      await errorOf(connector.findAccount(subject("alice"), ctx()));
      expect([state.rateLimited, state.retryAfterViolations]).toEqual([2, 1]);
    });

    it("an honest connector with limitPerSec refuses past the burst, on the clock, and recovers as tokens refill", async () => {
      const { clock, connector, ctx, state } = setup({ mode: { mode: "honest", limitPerSec: 2 } });
      await connector.findAccount(subject("alice"), ctx());
      await connector.findAccount(subject("alice"), ctx());
      expect(await errorOf(connector.findAccount(subject("alice"), ctx()))).toMatchObject({ kind: "rate-limited", detail: { retryAfterMs: 500 } });
      clock.advance(500);
      await expect(connector.findAccount(subject("alice"), ctx())).resolves.not.toBeNull();
      expect([state.rateLimited, state.retryAfterViolations]).toEqual([1, 0]);
    });

    it("down, auth-broken and already-gone throw retryable, throw auth, and find nothing", async () => {
      const { connector, ctx, find, run, state } = setup();
      const alice = await find("alice");
      state.setMode("down");
      expect(await errorOf(connector.validate(ctx()))).toMatchObject({ kind: "retryable", detail: { status: 503 } });
      expect(await errorOf(connector.verify(alice, ctx()))).toMatchObject({ kind: "retryable" });
      state.setMode("auth-broken");
      expect(await errorOf(connector.validate(ctx()))).toMatchObject({ kind: "auth", detail: { status: 401 } });
      state.setMode("already-gone");
      expect(await connector.findAccount(subject("alice"), ctx())).toBeNull();
      expect(await run(alice)).toEqual(["already-done", "already-done"]);
      expect(await connector.verify(alice, ctx())).toMatchObject({ revoked: true });
      expect(state.accounts.get("alice")).toMatchObject({ active: true });
    });

    it("switches mode between two steps of one plan", async () => {
      const { connector, ctx, find, state } = setup();
      const alice = await find("alice");
      const [revoke, suspend] = connector.plans.deactivate;
      expect(await revoke!.run(alice, ctx())).toBe("done");
      state.setMode("down");
      expect(await errorOf(suspend!.run(alice, ctx()))).toMatchObject({ kind: "retryable" });
      state.setMode("honest");
      expect(await suspend!.run(alice, ctx())).toBe("done");
      expect(state.calls.map((c) => `${c.op} ${c.outcome}`)).toEqual(["findAccount found", "revoke-sessions done", "suspend-user retryable", "suspend-user done"]);
    });
  });
});
