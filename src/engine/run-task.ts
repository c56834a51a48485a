import { planFor, type Account, type Connector, type Intent, type Probe, type StepNote, type TargetContext } from "../connector-kit.js";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import type { SecretBox } from "../secret-box.js";
import { openTargetConfig } from "./target-config.js";
import {
  checkpoint, escalate, finishDryRun, markVerified, releaseTask, renewLease, scheduleProbe, scheduleRetry,
  type AccountRecord, type ClaimedTask, type Lease, type ProbeRecord, type StepRecord,
} from "../storage/tasks-repo.js";
import { pauseTarget } from "../storage/targets-repo.js";
import { addMs, type Clock } from "./clock.js";
import type { EngineMetrics } from "./metrics.js";
import type { ConnectorRegistry } from "./registry.js";
import { backoffMs, escalatesAtOnce, failureOf, probeDelayMs, type Failure } from "./retry-policy.js";
import { recordTargetFailure, recordTargetSuccess } from "./target-health.js";
import type { EngineSettings } from "./settings.js";
import type { TargetGate } from "./target-gate.js";
import { linkedSignal } from "../kit/signals.js";
import { targetHttp } from "../kit/target-http.js";

/** What running a task needs: the engine's parts, plus the worker's identity and shutdown signal. */
export interface EngineParts {
  db: Db;
  clock: Clock;
  settings: EngineSettings;
  registry: ConnectorRegistry;
  gate: TargetGate;
  log: Logger;
  metrics: EngineMetrics;
  /** Opens the target's sealed secrets for the connector. */
  secrets: SecretBox;
}

export interface RunDeps extends EngineParts {
  signal: AbortSignal;
  workerId: string;
}

/** What one run of a task came to. `lost`: cancelled or taken over while running; nothing more written. */
export type RunOutcome = "verified" | "probing" | "retrying" | "escalated" | "dry-run" | "lost";

/** A connector call failed; carries what the call was, for the log and the metrics. */
class CallFailed extends Error {
  constructor(readonly call: string, readonly original: unknown) {
    super(call);
  }
}

/**
 * Advances one claimed task as far as it can go now (DESIGN.md "A task's life"): resolve the
 * account (none → verified, observed absent), run the plan's remaining steps with a checkpoint
 * after each, then probe. Revoked → `verified`; still there → probe again with capped backoff,
 * or `escalated` once the deadline has passed. Failures are scheduled by the retry policy. No
 * transaction is held while a target is called.
 */
export async function runTask(task: ClaimedTask, deps: RunDeps): Promise<RunOutcome> {
  const { db, clock, settings, gate, target } = { ...deps, target: task.target };
  const lease: Lease = { taskId: task.id, workerId: deps.workerId };
  const log = deps.log.child({ taskId: task.id, operationId: task.operationId, target: target.name, connector: target.kind });
  const attempt = task.attempts + 1;
  const escalated = task.state === "escalated";
  const slowly = () => addMs(clock.now(), settings.escalatedProbeIntervalMs);

  const linked = linkedSignal(deps.signal);
  const signal = linked.signal;
  const renew = setInterval(() => {
    void renewLease(db, lease, addMs(clock.now(), settings.leaseMs)).then((held) => held || linked.abort(new Error("lease lost")), () => {});
  }, Math.max(1_000, settings.leaseMs / 3));
  renew.unref();

  const connector = deps.registry.get(target.kind);
  try {
    if (!connector) {
      return await fail(task, deps, lease, log, { kind: "permanent", message: `connector kind "${target.kind}" is not installed in this process (installed: ${deps.registry.ids().join(", ") || "none"})` }, "resolve-connector");
    }
    let config: Record<string, unknown>;
    try {
      config = openTargetConfig(target.config, deps.secrets);
    } catch (error) {
      return await fail(task, deps, lease, log, { kind: "permanent", message: (error as Error).message }, "open-config");
    }
    const context = (intent: Intent, step: string): TargetContext => ({
      config,
      intent,
      http: targetHttp({
        targetId: target.id, maxRequestsPerSec: target.policy.maxRequestsPerSec, gate, now: () => clock.now(), signal, timeoutMs: settings.requestTimeoutMs, log,
        observe: (method, status, ms) => deps.metrics.request(target.name, method, status, ms),
      }),
      log: log.child({ step }),
      signal,
      now: () => clock.now(),
      throttle: () => gate.acquire(target.id, target.policy.maxRequestsPerSec),
    });
    const call = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        gate.check(target.id);
        const result = await fn();
        deps.metrics.call(target.name, name, performance.now() - started, null);
        return result;
      } catch (error) {
        const failure = failureOf(error);
        // Pause at once, before anything awaits: the target's other tasks in this process must not call it now.
        if (failure.kind === "rate-limited") gate.pause(target.id, addMs(clock.now(), failure.retryAfterMs ?? settings.retryBaseMs));
        deps.metrics.call(target.name, name, performance.now() - started, failure.kind);
        throw new CallFailed(name, error);
      }
    };

    let account = task.account;
    const steps: StepRecord[] = [...task.steps];
    if (!account) {
      const found = await call("find-account", () => connector.findAccount(task.subject, context(task.intent, "find-account")));
      const at = clock.now().toISOString();
      account = found ? { found: true, account: found, at } : { found: false, at, evidence: `findAccount(${task.subject.userName}) → no account in target` };
    }
    if (!account.found) {
      const evidence: ProbeRecord = { revoked: true, evidence: account.evidence, at: account.at, ...(task.dryRun ? { dryRun: true as const } : {}) };
      return await verified(task, deps, lease, log, { account, steps, evidence });
    }
    const subjectAccount: Account = account.account;
    let plan: ReturnType<typeof planFor>;
    try {
      plan = planFor(connector, task.intent.kind, config);
    } catch (error) {
      const failure = failureOf(error);
      return await fail(task, deps, lease, log, { kind: failure.bug ? "permanent" : failure.kind, message: failure.message }, "plan");
    }
    for (const step of plan) {
      if (steps.some((s) => s.name === step.name)) continue;
      if (task.dryRun) {
        steps.push({ name: step.name, outcome: "planned", at: clock.now().toISOString() });
        continue;
      }
      let note: StepNote = {};
      const outcome = await call(step.name, () => step.run(subjectAccount, { ...context(task.intent, step.name), note: (n) => (note = { ...note, ...n }) }));
      steps.push({
        name: step.name, outcome, at: clock.now().toISOString(),
        ...(step.observable === false ? { acknowledged: true as const } : {}),
        ...(note.evidence ? { evidence: note.evidence } : {}),
        ...(note.tokensExpireAt ? { tokensExpireAt: note.tokensExpireAt.toISOString() } : {}),
      });
      const saved = await checkpoint(db, lease, { account, steps, state: "revoking", now: clock.now() });
      if (!saved.held) return lost(log, "after step " + step.name);
      if (saved.targetPausedUntil) gate.pause(target.id, saved.targetPausedUntil);
      log.info(`Step ${step.name} ${outcome} for task ${task.id} in target ${target.name} (attempt ${attempt})`);
    }

    const probe: Probe = await call("verify", () => connector.verify(subjectAccount, { ...context(task.intent, "verify"), probe: task.probes + 1 }));
    const evidence: ProbeRecord = { revoked: probe.revoked, evidence: probe.evidence, at: clock.now().toISOString(), ...(task.dryRun ? { dryRun: true as const } : {}) };
    if (task.dryRun) {
      const reason = `dry-run: no writes made; the plan would run ${plan.map((s) => s.name).join(", ") || "no steps"}; probe: ${probe.evidence}`;
      if (!(await finishDryRun(db, lease, { account, steps, evidence, now: clock.now(), reason }))) return lost(log, "after the dry-run probe");
      log.info(`Dry run of task ${task.id} in target ${target.name} finished`, { revoked: probe.revoked });
      return "dry-run";
    }
    if (probe.revoked) return await verified(task, deps, lease, log, { account, steps, evidence });

    const now = clock.now();
    if (!escalated && now >= task.deadlineAt) {
      const reason = `deadline passed (${target.policy.slaMs} ms) without an observed revocation; last probe: ${probe.evidence}`;
      if (!(await escalate(db, lease, { reason, evidence, account, steps, runAt: slowly(), now, notice: notice(task, reason) }))) return lost(log, "escalating");
      deps.metrics.escalated(target.name, "deadline");
      log.warn(`Escalated task ${task.id} in target ${target.name}: ${reason}`);
      return "escalated";
    }
    const runAt = escalated ? slowly() : addMs(now, probeDelayMs(task.probes + 1, settings.probeBaseMs, settings.probeCapMs));
    if (!(await scheduleProbe(db, lease, { account, steps, evidence, runAt, now }))) return lost(log, "scheduling a probe");
    return "probing";
  } catch (error) {
    if (!(error instanceof CallFailed)) throw error;
    if (deps.signal.aborted) {
      // Shutting down: the call was cut short, not failed. Give the task back for the next claim.
      await releaseTask(db, lease);
      return lost(log, "at shutdown");
    }
    const failure = failureOf(error.original);
    if (failure.bug) log.error(`Bug in connector ${target.kind} during ${error.call} (task ${task.id}, attempt ${attempt})`, { error: error.original });
    return await fail(task, deps, lease, log, failure, error.call);
  } finally {
    clearInterval(renew);
    linked.dispose();
  }
}

function lost(log: Logger, when: string): RunOutcome {
  log.info(`Task left alone ${when}: it was cancelled or another worker holds it now`);
  return "lost";
}

function notice(task: ClaimedTask, reason: string): Record<string, unknown> {
  return {
    event: "task.escalated",
    taskId: task.id,
    operationId: task.operationId,
    connectionId: task.subject.connectionId,
    subject: { id: task.subject.id, userName: task.subject.userName },
    target: { id: task.target.id, name: task.target.name, kind: task.target.kind },
    intent: task.intent,
    reason,
  };
}

async function verified(task: ClaimedTask, deps: RunDeps, lease: Lease, log: Logger, done: { account: AccountRecord; steps: StepRecord[]; evidence: ProbeRecord }): Promise<RunOutcome> {
  const now = deps.clock.now();
  if (!(await markVerified(deps.db, lease, { ...done, now }))) return lost(log, "marking it verified");
  if (task.target.consecutiveFailures > 0) await recordTargetSuccess(deps.db, task.target.id);
  deps.metrics.verified(task.target.name, now.getTime() - task.createdAt.getTime());
  log.info(`Task ${task.id} verified in target ${task.target.name}${task.state === "escalated" ? " (escalation closed by an observed probe)" : ""}`, { evidence: done.evidence.evidence });
  return "verified";
}

/** Schedules a failure by its kind, pausing the target for a Retry-After or an open breaker. */
async function fail(task: ClaimedTask, deps: RunDeps, lease: Lease, log: Logger, failure: Failure, call: string): Promise<RunOutcome> {
  const { db, clock, settings, gate } = deps;
  const target = task.target;
  const now = clock.now();
  const attempt = task.attempts + 1;
  const escalated = task.state === "escalated";
  const message = `${call}: ${failure.message}`;
  const slowly = addMs(now, settings.escalatedProbeIntervalMs);

  if (escalatesAtOnce(failure.kind) || (!escalated && now >= task.deadlineAt)) {
    if (escalated) {
      await scheduleRetry(db, lease, { error: message, kind: failure.kind, runAt: slowly, now, countAttempt: true });
      return "retrying";
    }
    const reason = escalatesAtOnce(failure.kind) ? `${failure.kind} error, which no retry will fix: ${message}` : `deadline passed (${target.policy.slaMs} ms) while failing: ${message}`;
    if (!(await escalate(db, lease, { reason, error: { message, kind: failure.kind }, runAt: slowly, now, notice: notice(task, reason) }))) return lost(log, "escalating");
    deps.metrics.escalated(target.name, escalatesAtOnce(failure.kind) ? failure.kind : "deadline");
    log.warn(`Escalated task ${task.id} in target ${target.name} (attempt ${attempt}): ${reason}`);
    return "escalated";
  }

  let runAt: Date;
  if (failure.kind === "rate-limited") {
    const until = addMs(now, failure.retryAfterMs ?? backoffMs(attempt, settings.retryBaseMs, settings.retryCapMs));
    gate.pause(target.id, until);
    await pauseTarget(db, target.id, until, `rate-limited: ${message}`);
    runAt = until;
  } else {
    const breaker = await recordTargetFailure(db, target.id, now, settings, message);
    if (breaker) {
      gate.pause(target.id, breaker);
      log.warn(`Circuit breaker opened for target ${target.name} until ${breaker.toISOString()} after repeated failures`);
    }
    runAt = addMs(now, backoffMs(attempt, settings.retryBaseMs, settings.retryCapMs));
    if (breaker && breaker > runAt) runAt = breaker;
  }
  if (escalated && runAt < slowly) runAt = slowly;
  if (!(await scheduleRetry(db, lease, { error: message, kind: failure.kind, runAt, now, countAttempt: failure.kind !== "rate-limited" }))) return lost(log, "scheduling a retry");
  log.info(`Failed task ${task.id} in target ${target.name} (attempt ${attempt}) with ${failure.kind} error '${message}'; next attempt at ${runAt.toISOString()}`);
  return "retrying";
}
