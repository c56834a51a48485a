/**
 * The connector conformance kit (STYLE.md "Tests read like specifications"; better-auth runs its
 * adapter suites the same way): one suite every connector kind runs against its real or
 * independent peer. A case whose capability the kind lacks is skipped with the reason stated.
 *
 * Checks: validate accepts good credentials and answers `auth` for bad ones; no account is found
 * for a stranger; for each intent, verify sees access before and none after the plan, every step is
 * safe to run twice, verify writes nothing; 429 → `rate-limited` with `retryAfterMs`; and, through
 * the real engine: no account → no steps and `verified`, dry-run → no writes, a live deactivation
 * → `verified` with each step recorded.
 */
import { randomBytes } from "node:crypto";
import { planFor, TargetError, type Account, type Connector, type Intent, type Subject, type TargetContext } from "../../src/connector-kit.js";
import { systemClock } from "../../src/engine/clock.js";
import { TargetGate } from "../../src/engine/target-gate.js";
import { targetHttp } from "../../src/kit/target-http.js";
import { silentLogger } from "../../src/log.js";
import { updateTargetPolicy } from "../../src/storage/targets-repo.js";
import type { ConformancePeer } from "./conformance-peer.js";
import { engineHarness, type EngineHarness } from "./engine-harness.js";

export type { ConformancePeer } from "./conformance-peer.js";

/** A TargetContext as the engine builds one: real HTTP with the default classifier, the real clock. */
export function kitContext<C>(config: C, intent: Intent = { kind: "deactivate" }, signal: AbortSignal = AbortSignal.timeout(20_000)): TargetContext<C> {
  return {
    config,
    intent,
    http: targetHttp({ targetId: "conformance", maxRequestsPerSec: null, gate: new TargetGate(systemClock), now: () => systemClock.now(), signal, timeoutMs: 10_000 }),
    log: silentLogger(),
    signal,
    now: () => new Date(),
  };
}

/** A userName no peer has seen: the kit's seeded people never collide across runs. */
export const kitUserName = (label: string) => `kit-${label}-${randomBytes(4).toString("hex")}@example.com`;

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, and it succeeded");
}

/** Runs every step of the intent's plan twice, in order; returns each answer. */
async function runPlanTwice<C>(connector: Connector<C>, account: Account, ctx: TargetContext<C>): Promise<{ step: string; first: string; second: string }[]> {
  const answers: { step: string; first: string; second: string }[] = [];
  for (const step of planFor(connector, ctx.intent.kind, ctx.config)) {
    const first = await step.run(account, ctx);
    const second = await step.run(account, ctx);
    answers.push({ step: step.name, first, second });
  }
  return answers;
}

export function describeConformance<C>(connector: Connector<C>, setup: () => Promise<ConformancePeer<C>>): void {
  describe(`connector kind "${connector.id}" conformance`, () => {
    let peer: ConformancePeer<C>;
    const ctx = (intent: Intent = { kind: "deactivate" }) => kitContext(peer.config, intent);

    beforeAll(async () => {
      peer = await setup();
    }, 60_000);
    afterAll(async () => {
      await peer?.close();
    });

    it("declares its config fields, each described", () => {
      expect(connector.configFields.length).toBeGreaterThan(0);
      for (const field of connector.configFields) expect(field.description.trim()).not.toBe("");
      expect(connector.checkConfig?.(peer.config as Record<string, unknown>) ?? []).toEqual([]);
    });

    it("validate accepts the peer's credentials and answers auth for bad ones", async () => {
      await expect(connector.validate(ctx())).resolves.toBeUndefined();
      const error = await thrown(connector.validate(kitContext(peer.badCredentials)));
      expect(error).toBeInstanceOf(TargetError);
      expect((error as TargetError).kind).toBe("auth");
    });

    it("finds no account for a person the target does not know", async () => {
      const stranger: Subject = { connectionId: "kit", id: "00000000-0000-4000-8000-000000000000", userName: kitUserName("stranger"), emails: [] };
      stranger.emails = [stranger.userName];
      await expect(connector.findAccount(stranger, ctx())).resolves.toBeNull();
    });

    const intents = (): { label: string; intent: Intent; grant: string[]; skip?: string }[] => [
      { label: "deactivate", intent: { kind: "deactivate" }, grant: [] },
      { label: "delete", intent: { kind: "delete" }, grant: [] },
      { label: "revoke-entitlement", intent: { kind: "revoke-entitlement", entitlement: peer.entitlement ?? "" }, grant: [peer.entitlement ?? "", ...(peer.otherEntitlement ? [peer.otherEntitlement] : [])] },
    ];

    for (const label of ["deactivate", "delete", "revoke-entitlement"] as const) {
      it(`${label}: verify sees access before, every step is safe twice, verify sees none after and writes nothing`, async () => {
        const { intent, grant } = intents().find((i) => i.label === label)!;
        if (label === "delete" && peer.deletes === false) return console.log(`${connector.id}: delete skipped: the peer says the kind does not delete`);
        if (label === "revoke-entitlement" && (!peer.entitlement || !connector.plans["revoke-entitlement"])) {
          expect(connector.plans["revoke-entitlement"]).toBeUndefined();
          return console.log(`${connector.id}: revoke-entitlement skipped: the kind has no entitlements`);
        }
        const subject = await peer.seedAccount({ userName: kitUserName(label), entitlements: grant.filter((g) => g !== "") });
        const account = await connector.findAccount(subject, ctx(intent));
        expect(account).not.toBeNull();
        expect(typeof account!.id).toBe("string");

        const beforeVerify = await peer.writes();
        const before = await connector.verify(account!, ctx(intent));
        expect(before).toMatchObject({ revoked: false });
        expect(before.evidence.trim()).not.toBe("");
        expect(await peer.writes()).toEqual(beforeVerify);

        const answers = await runPlanTwice(connector, account!, ctx(intent));
        expect(answers.length).toBeGreaterThan(0);
        for (const a of answers) {
          expect(["done", "already-done"]).toContain(a.first);
          expect(["done", "already-done"]).toContain(a.second);
        }

        const afterPlan = await peer.writes();
        const after = await connector.verify(account!, ctx(intent));
        expect(after).toMatchObject({ revoked: true });
        expect(after.evidence.trim()).not.toBe("");
        expect(await peer.writes()).toEqual(afterPlan);

        if (label === "revoke-entitlement" && peer.otherEntitlement) {
          // only the mapped entitlement goes: the other one is still there
          const other = await connector.verify(account!, ctx({ kind: "revoke-entitlement", entitlement: peer.otherEntitlement }));
          expect(other).toMatchObject({ revoked: false });
        }
      }, 30_000);
    }

    it("a 429 with Retry-After is rate-limited with retryAfterMs", async () => {
      if (!peer.throttleNext) {
        expect(peer.noThrottleReason?.trim()).toBeTruthy();
        return console.log(`${connector.id}: 429 case skipped: ${peer.noThrottleReason}`);
      }
      await peer.throttleNext(7);
      const error = await thrown(connector.validate(ctx()));
      expect(error).toBeInstanceOf(TargetError);
      expect((error as TargetError).kind).toBe("rate-limited");
      expect((error as TargetError).detail.retryAfterMs).toBe(7_000);
    });

    describe("through the engine", () => {
      let h: EngineHarness;
      beforeAll(async () => {
        h = await engineHarness({ connectors: [connector as Connector] });
      }, 60_000);
      afterAll(async () => {
        await h?.close();
      });

      const bridgeUser = (subject: Subject) =>
        h.createUser(subject.userName, {
          ...(subject.externalId ? { externalId: subject.externalId } : {}),
          emails: (subject.emails.length > 0 ? subject.emails : [subject.userName]).map((value, i) => ({ value, type: "work", primary: i === 0 })),
        });
      const taskOf = async (subjectId: string) => {
        const tasks = await h.tasks("t.operation_id in (select id from operations where subject_id = $1)", [subjectId]);
        expect(tasks).toHaveLength(1);
        return tasks[0]!;
      };

      it("dry-run finds and plans but writes nothing", async () => {
        const target = await h.addTarget("kit-dry-run", connector.id, { mode: "dry-run" }, peer.config as Record<string, unknown>);
        try {
          const subject = await peer.seedAccount({ userName: kitUserName("dry-run") });
          const id = await bridgeUser(subject);
          const before = await peer.writes();
          await h.deactivate(id);
          await h.drain();
          const task = await taskOf(id);
          expect(task.dryRun).toBe(true);
          expect(task.account).toMatchObject({ found: true });
          expect(task.steps.map((s) => s.outcome)).toEqual(planFor(connector, "deactivate", peer.config).map(() => "planned"));
          expect(await peer.writes()).toEqual(before);
        } finally {
          await updateTargetPolicy(h.db, target.id, {}, false);
        }
      }, 30_000);

      it("no account: no steps, and verified as observed absence", async () => {
        const target = await h.addTarget("kit-absent", connector.id, {}, peer.config as Record<string, unknown>);
        try {
          const id = await bridgeUser({ connectionId: "", id: "", userName: kitUserName("absent"), emails: [] });
          await h.deactivate(id);
          await h.drain();
          const task = await taskOf(id);
          expect(task.state).toBe("verified");
          expect(task.steps).toEqual([]);
          expect(task.account).toMatchObject({ found: false });
        } finally {
          await updateTargetPolicy(h.db, target.id, {}, false);
        }
      }, 30_000);

      it("a live deactivation runs every step once and ends verified with the probe's evidence", async () => {
        const target = await h.addTarget("kit-live", connector.id, {}, peer.config as Record<string, unknown>);
        try {
          const subject = await peer.seedAccount({ userName: kitUserName("live") });
          const id = await bridgeUser(subject);
          await h.deactivate(id);
          await h.drain();
          for (let i = 0; i < 10 && (await taskOf(id)).state !== "verified"; i++) await h.tick(60_000);
          const task = await taskOf(id);
          expect(task.state).toBe("verified");
          expect(task.steps.map((s) => s.name)).toEqual(planFor(connector, "deactivate", peer.config).map((s) => s.name));
          expect(task.evidence).toMatchObject({ revoked: true });
          expect(task.evidence!.evidence.trim()).not.toBe("");
        } finally {
          await updateTargetPolicy(h.db, target.id, {}, false);
        }
      }, 30_000);
    });
  });
}
