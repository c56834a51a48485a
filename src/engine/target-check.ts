import type { Account, Connector, Subject, TargetContext } from "../connector-kit.js";
import type { Logger } from "../log.js";
import type { Target } from "../storage/targets-repo.js";
import type { Clock } from "./clock.js";
import { failureOf } from "./retry-policy.js";
import { TargetGate } from "./target-gate.js";
import { targetHttp } from "../kit/target-http.js";

export interface CheckStep {
  ok: boolean;
  ms: number;
  error?: { kind: string; message: string };
}

/** What `target test` saw: the credentials check and, for a person, their account. Nothing was written. */
export interface TargetCheck {
  target: { id: string; name: string; kind: string };
  validate: CheckStep;
  account?: CheckStep & { userName: string; found?: boolean; account?: Account };
}

/**
 * Checks a target without writing anything (issue: "target test NAME --user USERNAME"): the
 * connector's `validate` (credentials, scopes), then `findAccount` for one subject. Both are
 * read-only by the connector contract. Uses its own rate gate: one or two requests, on demand.
 */
export async function checkTarget(
  target: Target,
  connector: Connector,
  subject: Subject | null,
  deps: { clock: Clock; log: Logger; timeoutMs: number },
): Promise<TargetCheck> {
  const gate = new TargetGate(deps.clock);
  const signal = AbortSignal.timeout(deps.timeoutMs * 3);
  const context = (step: string): TargetContext => ({
    config: target.config,
    intent: { kind: "deactivate" },
    http: targetHttp({ targetId: target.id, maxRequestsPerSec: target.policy.maxRequestsPerSec, gate, now: () => deps.clock.now(), signal, timeoutMs: deps.timeoutMs }),
    log: deps.log.child({ target: target.name, connector: target.kind, step }),
    signal,
    now: () => deps.clock.now(),
    throttle: () => gate.acquire(target.id, target.policy.maxRequestsPerSec),
  });
  const timed = async <T>(fn: () => Promise<T>): Promise<{ step: CheckStep; value?: T }> => {
    const started = performance.now();
    try {
      const value = await fn();
      return { step: { ok: true, ms: Math.round(performance.now() - started) }, value };
    } catch (error) {
      const failure = failureOf(error);
      return { step: { ok: false, ms: Math.round(performance.now() - started), error: { kind: failure.kind, message: failure.message } } };
    }
  };
  const result: TargetCheck = { target: { id: target.id, name: target.name, kind: target.kind }, validate: (await timed(() => connector.validate(context("validate")))).step };
  if (subject) {
    const found = await timed(() => connector.findAccount(subject, context("find-account")));
    result.account = {
      ...found.step,
      userName: subject.userName,
      ...(found.step.ok ? { found: found.value !== null, ...(found.value ? { account: found.value } : {}) } : {}),
    };
  }
  return result;
}
