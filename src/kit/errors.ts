/**
 * Failures a connector reports, and the default reading of HTTP outcomes (STYLE.md "Errors").
 * Re-exported by src/connector-kit.ts, the only module a connector imports.
 */

/** How the engine should treat a failure (STYLE.md "Errors"). */
export type TargetErrorKind = "retryable" | "rate-limited" | "auth" | "permanent";

const TARGET_ERROR = Symbol.for("scim-bridge.TargetError");

/**
 * A failure the engine knows how to schedule. `instanceof` also recognises a TargetError made by
 * another copy of this module (a connector module bundling its own kit), by a registered symbol.
 */
export class TargetError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[TARGET_ERROR] === true;
  }

  readonly [TARGET_ERROR] = true;

  constructor(
    readonly kind: TargetErrorKind,
    message: string,
    readonly detail: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: detail.cause });
    this.name = "TargetError";
  }
}

/**
 * The default classification of an HTTP outcome (like baton-sdk's GrpcCodeFromHTTPStatus):
 * 429 → rate-limited; 408, 5xx → retryable; 401/403 → auth; other 4xx → permanent.
 * Returns null for a success.
 */
export function classifyHttpStatus(status: number): TargetErrorKind | null {
  if (status < 400) return null;
  if (status === 429) return "rate-limited";
  if (status === 408 || status >= 500) return "retryable";
  if (status === 401 || status === 403) return "auth";
  return "permanent";
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}
