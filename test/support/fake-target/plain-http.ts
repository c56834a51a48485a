/**
 * A minimal `TargetHttp` over global fetch, for tests that run a connector before the engine's own
 * `ctx.http` exists: a per-request timeout, the kit's `classifyHttpStatus` and `parseRetryAfter`,
 * and no rate limiting (the point of some tests is to provoke a 429).
 */
import {
  classifyHttpStatus,
  parseRetryAfter,
  TargetError,
  type Intent,
  type TargetContext,
  type TargetHttp,
  type TargetRequest,
  type TargetResponse,
} from "../../../src/connector-kit.js";
import { silentLogger, type Logger } from "../../../src/log.js";

export interface PlainHttpOptions {
  /** Default per-request timeout (Default: 10,000 ms, the kit's). */
  timeoutMs?: number;
  /** Aborts every request, like the engine's shutdown signal. */
  signal?: AbortSignal;
  /** For Retry-After HTTP dates (Default: the system clock). */
  now?: () => Date;
}

export function plainHttp(options: PlainHttpOptions = {}): TargetHttp {
  const now = options.now ?? (() => new Date());
  return {
    async request<T = unknown>(url: string, request: TargetRequest = {}): Promise<TargetResponse<T>> {
      const method = request.method ?? "GET";
      const target = new URL(url);
      for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) target.searchParams.set(key, String(value));
      const timeout = AbortSignal.timeout(request.timeoutMs ?? options.timeoutMs ?? 10_000);
      const headers: Record<string, string> = { accept: "application/json", ...request.headers };
      if (request.json !== undefined) headers["content-type"] = "application/json";
      const what = `${method} ${target.pathname}`;
      let response: Response;
      let text: string;
      try {
        response = await fetch(target, {
          method,
          headers,
          ...(request.json === undefined ? {} : { body: JSON.stringify(request.json) }),
          signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
        });
        text = await response.text();
      } catch (cause) {
        // network errors and timeouts: the target may be fine a moment later (STYLE.md "Errors")
        throw new TargetError("retryable", `${what} failed: ${(cause as Error).message}`, { cause });
      }
      const body = parseBody(text) as T;
      const accepted = (response.status >= 200 && response.status < 300) || (request.accept ?? []).includes(response.status);
      if (accepted) return { status: response.status, headers: response.headers, body };
      const kind = classifyHttpStatus(response.status) ?? "permanent";
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), now());
      throw new TargetError(kind, `${what} answered ${response.status}`, {
        status: response.status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        cause: body,
      });
    },
  };
}

function parseBody(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
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
