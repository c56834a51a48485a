import type { TargetErrorKind } from "../../src/connector-kit.js";
import { classifyGoogleError, classifyTokenError, reasonOf } from "./errors.js";

const body = (status: number, reason: string) => ({ error: { code: status, message: "m", errors: [{ domain: "global", reason, message: "m" }] } });

describe("classifyGoogleError: an Admin SDK error answer → TargetError kind (403 is throttling or auth, by reason)", () => {
  const rows: { name: string; status: number; reason?: string; kind: TargetErrorKind; says: string }[] = [
    { name: "per-user quota (403 userRateLimitExceeded)", status: 403, reason: "userRateLimitExceeded", kind: "rate-limited", says: "403 userRateLimitExceeded" },
    { name: "concurrency quota (403 quotaExceeded)", status: 403, reason: "quotaExceeded", kind: "rate-limited", says: "403 quotaExceeded" },
    { name: "403 rateLimitExceeded", status: 403, reason: "rateLimitExceeded", kind: "rate-limited", says: "backing off" },
    { name: "account-wide limit (429 rateLimitExceeded)", status: 429, reason: "rateLimitExceeded", kind: "rate-limited", says: "429 rateLimitExceeded" },
    { name: "429 without a body", status: 429, kind: "rate-limited", says: "answered 429" },
    { name: "admin lacks the privilege (403 forbidden)", status: 403, reason: "forbidden", kind: "auth", says: "lacks the privilege" },
    { name: "scope missing (403 insufficientPermissions)", status: 403, reason: "insufficientPermissions", kind: "auth", says: "domain-wide delegation" },
    { name: "403 without a reason", status: 403, kind: "auth", says: "answered 403" },
    { name: "token refused (401 authError)", status: 401, reason: "authError", kind: "auth", says: "fetched again" },
    { name: "bad request (400 invalid)", status: 400, reason: "invalid", kind: "permanent", says: "400 invalid" },
    { name: "unexpected 404", status: 404, reason: "notFound", kind: "permanent", says: "404 notFound" },
    { name: "conditionNotMet (412)", status: 412, reason: "conditionNotMet", kind: "retryable", says: "concurrently" },
    { name: "backendError (503)", status: 503, reason: "backendError", kind: "retryable", says: "503 backendError" },
    { name: "500", status: 500, kind: "retryable", says: "answered 500" },
  ];
  it.each(rows)("$name: $status → $kind", ({ status, reason, kind, says }) => {
    const parsed = reason ? reasonOf(body(status, reason)) : undefined;
    expect(parsed).toBe(reason);
    const result = classifyGoogleError(status, parsed, "GET /admin/directory/v1/users/123");
    expect(result.kind).toBe(kind);
    expect(result.message).toContain(says);
  });

  it("reads no reason from bodies that are not Google errors", () => {
    for (const b of [null, "text", {}, { error: "x" }, { error: { errors: "no" } }, { error: { errors: [{}] } }]) expect(reasonOf(b)).toBeUndefined();
  });
});

describe("classifyTokenError: the token endpoint's RFC 6749 §5.2 answer → kind, with the fix", () => {
  const rows: { name: string; status: number; error?: string; kind: TargetErrorKind; says: string }[] = [
    { name: "wrong key / unknown sub (invalid_grant)", status: 400, error: "invalid_grant", kind: "auth", says: "check privateKey" },
    { name: "delegation lacks a scope (unauthorized_client)", status: 401, error: "unauthorized_client", kind: "auth", says: "Domain-wide delegation" },
    { name: "deleted service account (invalid_client)", status: 401, error: "invalid_client", kind: "auth", says: "check clientEmail" },
    { name: "invalid_scope", status: 400, error: "invalid_scope", kind: "auth", says: "scope" },
    { name: "malformed request (invalid_request)", status: 400, error: "invalid_request", kind: "permanent", says: "400 invalid_request" },
    { name: "throttled", status: 429, kind: "rate-limited", says: "answered 429" },
    { name: "server error", status: 503, kind: "retryable", says: "answered 503" },
    { name: "403 without a code", status: 403, kind: "auth", says: "answered 403" },
  ];
  it.each(rows)("$name: $status → $kind", ({ status, error, kind, says }) => {
    const result = classifyTokenError(status, error ? { error, error_description: "alice@example.com is bad" } : null);
    expect(result.kind).toBe(kind);
    expect(result.message).toContain(says);
    expect(result.message).not.toContain("alice@example.com");
  });
});
