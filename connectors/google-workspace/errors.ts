/**
 * Google answers → TargetError. `ctx.http` classifies by status alone (401/403 auth, 429
 * rate-limited); Google throttles mostly with **403** and says so only in the error body's
 * `error.errors[].reason` (targets-reference §1.1, `G-LIMITS`), so every Admin SDK call receives
 * the raw status and is classified here. The OAuth token endpoint answers RFC 6749 §5.2 errors
 * (`{"error": "invalid_grant"}`), read by `classifyTokenError`.
 */
import { classifyHttpStatus, TargetError, type TargetErrorKind } from "../../src/connector-kit.js";

/** Every error status an Admin SDK call receives raw (`accept`), so that this module decides. */
export const CLASSIFIED_STATUSES: readonly number[] = [400, 401, 403, 404, 409, 412, 429, 500, 502, 503, 504];

/** The 403/429 reasons that mean "slow down", not "not allowed" (`G-LIMITS`). */
export const RATE_LIMIT_REASONS: ReadonlySet<string> = new Set(["userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"]);

/** The first `error.errors[].reason` of a Google JSON error body (`{"error":{"code","message","errors":[{"reason"}]}}`). */
export function reasonOf(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error !== "object" || error === null) return undefined;
  const errors = (error as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  for (const e of errors) if (typeof (e as { reason?: unknown })?.reason === "string") return (e as { reason: string }).reason;
  return undefined;
}

/**
 * The kind and message for a failed Admin SDK call. `what` is "METHOD /path" with emails masked;
 * only the machine-readable `reason` is quoted (Google's `message` can carry the userKey).
 */
export function classifyGoogleError(status: number, reason: string | undefined, what: string): { kind: TargetErrorKind; message: string } {
  const answered = `${what} answered ${status}${reason ? ` ${reason}` : ""}`;
  if ((status === 403 || status === 429) && reason && RATE_LIMIT_REASONS.has(reason)) {
    return { kind: "rate-limited", message: `${answered}; Google's quota, backing off` };
  }
  if (status === 429) return { kind: "rate-limited", message: answered };
  if (status === 403) {
    return { kind: "auth", message: `${answered}; the impersonated admin lacks the privilege, or the client id lacks a scope in domain-wide delegation` };
  }
  if (status === 401) return { kind: "auth", message: `${answered}; the access token was refused (it is fetched again on retry)` };
  if (status === 412) return { kind: "retryable", message: `${answered}; the resource changed concurrently` };
  return { kind: classifyHttpStatus(status) ?? "permanent", message: answered };
}

export function googleError(status: number, body: unknown, what: string, retryAfterMs?: number): TargetError {
  const { kind, message } = classifyGoogleError(status, reasonOf(body), what);
  const retry = retryAfterMs !== undefined && (kind === "rate-limited" || kind === "retryable") ? { retryAfterMs } : {};
  return new TargetError(kind, message, { status, ...retry });
}

/** RFC 6749 §5.2 error codes Google's token endpoint gives for credentials or delegation that cannot work. */
const TOKEN_AUTH_ERRORS = new Set(["invalid_grant", "unauthorized_client", "invalid_client", "access_denied", "invalid_scope"]);

const TOKEN_FIXES: Record<string, string> = {
  invalid_grant: "the JWT assertion was refused (wrong or revoked private key, unknown adminEmail, or a clock off by minutes): check privateKey, clientEmail and adminEmail",
  unauthorized_client: "the client id is not authorised for these scopes: add them under Admin console → Security → API controls → Domain-wide delegation",
  invalid_client: "the service account is unknown or disabled: check clientEmail",
  access_denied: "the impersonated admin refused: check adminEmail",
  invalid_scope: "a scope is malformed or unknown",
};

/** The token endpoint's answer → kind and message. `error_description` is not quoted (it can name the account). */
export function classifyTokenError(status: number, body: unknown): { kind: TargetErrorKind; message: string } {
  const code = typeof (body as { error?: unknown } | null)?.error === "string" ? (body as { error: string }).error : undefined;
  const answered = `POST token endpoint answered ${status}${code ? ` ${code}` : ""}`;
  if (code && TOKEN_AUTH_ERRORS.has(code)) return { kind: "auth", message: `${answered}; ${TOKEN_FIXES[code]}` };
  if (status === 401 || status === 403) return { kind: "auth", message: answered };
  return { kind: classifyHttpStatus(status) ?? "permanent", message: answered };
}
