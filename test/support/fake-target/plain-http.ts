/**
 * `ctx.http` for connector tests that run without the engine: the engine's own `targetHttp` (one
 * implementation of timeouts and status → TargetError), with no rate limit — the point of some
 * tests is to provoke a 429 — and a gate of its own.
 */
import type { Intent, TargetContext, TargetHttp } from "../../../src/connector-kit.js";
import { targetHttp } from "../../../src/kit/target-http.js";
import { silentLogger, type Logger } from "../../../src/log.js";

export interface PlainHttpOptions {
  /** Default per-request timeout (Default: 10,000 ms, the engine's). */
  timeoutMs?: number;
  /** Aborts every request, like the engine's shutdown signal. */
  signal?: AbortSignal;
  /** For Retry-After HTTP dates (Default: the system clock). */
  now?: () => Date;
}

export function plainHttp(options: PlainHttpOptions = {}): TargetHttp {
  return targetHttp({
    ...(options.now ? { now: options.now } : {}),
    signal: options.signal ?? new AbortController().signal,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
}

let silent: Logger | undefined;

/** A `TargetContext` for a connector test: silent log, no shutdown, the system clock unless given. */
export function plainContext<C>(config: C, intent: Intent = { kind: "deactivate" }, options: PlainHttpOptions = {}): TargetContext<C> {
  return {
    config,
    intent,
    http: plainHttp(options),
    log: (silent ??= silentLogger()),
    signal: options.signal ?? new AbortController().signal,
    now: options.now ?? (() => new Date()),
  };
}
