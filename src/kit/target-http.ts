import type { TargetHttp, TargetRequest, TargetResponse } from "../connector-kit.js";
import { classifyHttpStatus, parseRetryAfter, TargetError } from "./errors.js";
import { linkedSignal } from "./signals.js";

/** Paces requests to a target (the engine's TargetGate: its rate limit, and its pause after a 429). */
export interface RateGate {
  acquire(targetId: string, maxRequestsPerSec: number | null): Promise<void>;
}

export interface TargetHttpOptions {
  /** The target's id, for the gate (Default: "target"). */
  targetId?: string;
  /** Requests per second; null: unlimited (Default: null). */
  maxRequestsPerSec?: number | null;
  /** Default: none (no pacing). */
  gate?: RateGate;
  /** The clock Retry-After dates are read against (Default: the system clock). */
  now?: () => Date;
  /** Aborts every request (shutdown). */
  signal: AbortSignal;
  /** Per-request timeout unless a request sets its own (Default: 10000). */
  timeoutMs?: number;
  /** Called with each request's method, status (0: no answer) and duration, for metrics. */
  observe?: (method: string, status: number, ms: number) => void;
  /** Gets one debug line per request: method, path (query and personal segments masked), status, ms. */
  log?: { debug(message: string, meta?: object): unknown };
}

/**
 * The path as messages and logs show it: no query string (it may carry a userName), and each
 * segment that looks like an email address (a userName in a path) masked.
 */
export function shownPath(url: URL): string {
  return url.pathname.split("/").map((segment) => (/@|%40/i.test(segment) ? "{masked}" : segment)).join("/");
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
      await options.gate?.acquire(options.targetId ?? "target", options.maxRequestsPerSec ?? null);
      const method = request.method ?? "GET";
      const target = new URL(url);
      for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) target.searchParams.set(key, String(value));
      // lower-cased names, so a connector's "Content-Type" replaces ours instead of joining it
      const headers: Record<string, string> = { accept: "application/json" };
      for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
      if (request.json !== undefined) headers["content-type"] = request.contentType ?? headers["content-type"] ?? "application/json";
      const what = `${method} ${shownPath(target)}`;
      const started = performance.now();
      const linked = linkedSignal(options.signal, request.timeoutMs ?? options.timeoutMs ?? 10_000);
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
        options.log?.debug("target request failed", { request: what, ms: Math.round(performance.now() - started) });
        const timedOut = (linked.signal.reason as { name?: string } | undefined)?.name === "TimeoutError";
        const reason = timedOut ? "timed out" : `failed: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`;
        throw new TargetError("retryable", `${what} ${reason}`, { cause: error });
      } finally {
        linked.dispose();
      }
      options.observe?.(method, response.status, performance.now() - started);
      options.log?.debug("target request", { request: what, status: response.status, ms: Math.round(performance.now() - started) });
      if (request.accept?.includes(response.status)) return { status: response.status, headers: response.headers, body: body as T };
      const kind = classifyHttpStatus(response.status);
      if (kind === null) return { status: response.status, headers: response.headers, body: body as T };
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), options.now?.() ?? new Date());
      throw new TargetError(kind, `${what} answered ${response.status}`, { status: response.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    },
  };
}
