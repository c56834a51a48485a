import { TargetError, type TargetErrorKind } from "../connector-kit.js";

/**
 * How failures are scheduled (STYLE.md "Engine habits"; baton-sdk pkg/retry/retry.go): only
 * `retryable` and `rate-limited` are retried; `auth` and `permanent` escalate at once.
 */

/** Exponential backoff with equal jitter: half the delay is kept, half is random, so retries never bunch. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const delay = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(delay / 2 + (random() * delay) / 2);
}

/** Re-probe delay: capped exponential without jitter, so an eventual target is seen as soon as it turns. */
export const probeDelayMs = (probe: number, baseMs: number, capMs: number): number => Math.min(capMs, baseMs * 2 ** Math.max(0, probe - 1));

export interface Failure {
  kind: TargetErrorKind;
  message: string;
  retryAfterMs?: number;
  status?: number;
}

/** Any thrown value as a failure. A plain Error is a bug in a connector: retried, and logged as such. */
export function failureOf(error: unknown): Failure & { bug: boolean } {
  if (error instanceof TargetError) {
    return { kind: error.kind, message: error.message, bug: false, ...(error.detail.retryAfterMs !== undefined ? { retryAfterMs: error.detail.retryAfterMs } : {}), ...(error.detail.status !== undefined ? { status: error.detail.status } : {}) };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { kind: "retryable", message, bug: true };
}

export const escalatesAtOnce = (kind: TargetErrorKind): boolean => kind === "auth" || kind === "permanent";
