import { classifyHttpStatus, parseRetryAfter, TargetError, type TargetHttp, type TargetRequest, type TargetResponse } from "../connector-kit.js";
import type { Clock } from "./clock.js";
import { linkedSignal } from "./signals.js";
import type { TargetGate } from "./target-gate.js";

export interface TargetHttpOptions {
  targetId: string;
  maxRequestsPerSec: number | null;
  gate: TargetGate;
  clock: Clock;
  signal: AbortSignal;
  timeoutMs: number;
  /** Called with each request's method, status (0: no answer) and duration, for metrics. */
  observe?: (method: string, status: number, ms: number) => void;
}

async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * `ctx.http`: fetch paced by the target's rate limit, refused while the target is paused, with a
 * timeout, and every failure classified into a `TargetError` (classifyHttpStatus). The message
 * names the method, the path and the status, never the query string (it may carry a userName).
 */
export function targetHttp(options: TargetHttpOptions): TargetHttp {
  return {
    async request<T = unknown>(url: string, request: TargetRequest = {}): Promise<TargetResponse<T>> {
      await options.gate.acquire(options.targetId, options.maxRequestsPerSec);
      const method = request.method ?? "GET";
      const target = new URL(url);
      for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) target.searchParams.set(key, String(value));
      // lower-cased names, so a connector's "Content-Type" replaces ours instead of joining it
      const headers: Record<string, string> = { accept: "application/json" };
      for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
      if (request.json !== undefined) headers["content-type"] = request.contentType ?? headers["content-type"] ?? "application/json";
      const what = `${method} ${target.pathname}`;
      const started = performance.now();
      const linked = linkedSignal(options.signal, request.timeoutMs ?? options.timeoutMs);
      let response: Response;
      let body: unknown;
      try {
        response = await fetch(target, {
          method,
          headers,
          body: request.json === undefined ? undefined : JSON.stringify(request.json),
          signal: linked.signal,
        });
        body = await bodyOf(response).catch(() => null);
      } catch (error) {
        options.observe?.(method, 0, performance.now() - started);
        const timedOut = (linked.signal.reason as { name?: string } | undefined)?.name === "TimeoutError";
        const reason = timedOut ? "timed out" : `failed: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`;
        throw new TargetError("retryable", `${what} ${reason}`, { cause: error });
      } finally {
        linked.dispose();
      }
      options.observe?.(method, response.status, performance.now() - started);
      if (request.accept?.includes(response.status)) return { status: response.status, headers: response.headers, body: body as T };
      const kind = classifyHttpStatus(response.status);
      if (kind === null) return { status: response.status, headers: response.headers, body: body as T };
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), options.clock.now());
      throw new TargetError(kind, `${what} answered ${response.status}`, { status: response.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    },
  };
}
