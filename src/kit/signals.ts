/**
 * A child abort signal of a long-lived parent, optionally with a timeout, that is released when
 * disposed. Node 20's `AbortSignal.any` keeps every signal derived from a long-lived parent (the
 * engine's shutdown signal) registered on it; one per task and per request adds up. Here the
 * link is one listener, removed by `dispose()`.
 */
export interface LinkedSignal {
  signal: AbortSignal;
  /** Aborts the child (its own reason) without touching the parent. */
  abort(reason?: unknown): void;
  dispose(): void;
}

export function linkedSignal(parent: AbortSignal, timeoutMs?: number): LinkedSignal {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener("abort", onAbort, { once: true });
  const timer =
    timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
  timer?.unref();
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener("abort", onAbort);
    },
  };
}
