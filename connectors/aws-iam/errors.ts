/**
 * AWS IAM error answers → TargetError. The SDK speaks the IAM Query protocol, so `ctx.http`'s
 * status classifier never sees these calls: this module is the whole classification. IAM throttles
 * with HTTP 400 `Throttling` (not 429) and sends no Retry-After (targets-reference §1.1, AWS common
 * errors); `NoSuchEntity` (404) on a delete means the thing is already gone (§1.2), which the
 * steps read before calling this.
 */
import { classifyHttpStatus, TargetError, type TargetErrorKind } from "../../src/connector-kit.js";

/** What the classifier reads from an SDK error: its `name` (the XML `Code`, or the modeled exception's name) and HTTP status. */
export interface AwsErrorFacts {
  code: string;
  status?: number;
}

const RATE_LIMITED = new Set(["Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled", "RequestThrottledException"]);
const AUTH = new Set([
  "AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
  "IncompleteSignature", "MissingAuthenticationToken", "InvalidAccessKeyId", "ExpiredToken", "ExpiredTokenException",
  "AuthFailure", "OptInRequired", "NotAuthorized", "RequestExpired", "CredentialsProviderError",
]);
/** Retryable codes with what the retry waits for. */
const RETRYABLE: Record<string, string> = {
  ServiceFailure: "IAM failed internally",
  ServiceUnavailable: "IAM is unavailable",
  InternalFailure: "IAM failed internally",
  ConcurrentModificationException: "another request changed this user at the same time (AWS: wait a few minutes and submit again)",
  ConcurrentModification: "another request changed this user at the same time (AWS: wait a few minutes and submit again)",
  EntityTemporarilyUnmodifiableException: "the user is temporarily unmodifiable (e.g. deleted and recreated under the same name), retried later",
  EntityTemporarilyUnmodifiable: "the user is temporarily unmodifiable (e.g. deleted and recreated under the same name), retried later",
  RequestTimeout: "the request timed out",
  RequestTimeoutException: "the request timed out",
};

/** Reads the facts from anything the SDK throws; a thrown value without `$metadata` is a transport failure. */
export function awsErrorFacts(error: unknown): AwsErrorFacts | null {
  if (typeof error !== "object" || error === null) return null;
  const e = error as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const code = typeof e.Code === "string" ? e.Code : typeof e.name === "string" ? e.name : "";
  if (code === "CredentialsProviderError") return { code };
  if (!e.$metadata || code === "") return null;
  const status = typeof e.$metadata.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  return { code, ...(status !== undefined ? { status } : {}) };
}

/** True when the error is IAM's `NoSuchEntity` (404). */
export function isNoSuchEntity(error: unknown): boolean {
  const facts = awsErrorFacts(error);
  return facts !== null && (facts.code === "NoSuchEntity" || facts.code === "NoSuchEntityException");
}

/**
 * The kind and message for a failed IAM call. `what` is `Action(userName)`; AWS's own message
 * is never quoted (it repeats ARNs and policy text).
 */
export function classifyAwsError(facts: AwsErrorFacts | null, what: string): { kind: TargetErrorKind; message: string } {
  if (!facts) return { kind: "retryable", message: `${what} failed before IAM answered (network, timeout or abort); retried` };
  const answered = `${what} answered ${facts.status ?? "no status"} ${facts.code}`;
  const { code } = facts;
  if (RATE_LIMITED.has(code)) return { kind: "rate-limited", message: `${answered}; IAM throttles with 400 and no Retry-After: the engine backs off` };
  if (code === "CredentialsProviderError") return { kind: "auth", message: `${what}: the default AWS credential chain found no credentials: set accessKeyId and secretAccessKey, or give the bridge an instance role` };
  // By code, not status: the common-errors lists give AccessDeniedException and NotAuthorized as 400 on some services, 403 on others.
  if (AUTH.has(code)) {
    const fix = code === "AccessDenied" || code === "AccessDeniedException" || code === "NotAuthorized"
      ? "grant the connector's principal the IAM actions listed in the aws-iam README"
      : code === "RequestExpired"
        ? "the bridge's clock is more than 15 minutes off AWS time: fix the host's clock (NTP)"
        : "check accessKeyId and secretAccessKey (or the credential chain) and the clock";
    return { kind: "auth", message: `${answered}; ${fix}` };
  }
  const retry = RETRYABLE[code];
  if (retry) return { kind: "retryable", message: `${answered}; ${retry}` };
  if (code === "DeleteConflict" || code === "DeleteConflictException") {
    return { kind: "permanent", message: `${answered}; something is still attached to the user (added after the earlier steps ran?): run the delete again from the start, or remove it in the console` };
  }
  if (code === "LimitExceeded" || code === "LimitExceededException") {
    return { kind: "permanent", message: `${answered}; the user's inline policy quota is full, so the session-deny policy cannot be added: remove an inline policy by hand` };
  }
  if (code === "NoSuchEntity" || code === "NoSuchEntityException") return { kind: "permanent", message: `${answered}; the user or the item was not found where it must exist` };
  const kind = facts.status !== undefined ? classifyHttpStatus(facts.status) ?? "permanent" : "permanent";
  return { kind, message: answered };
}

/** `classifyAwsError` as a TargetError (with the status, and the SDK error as cause). */
export function awsError(error: unknown, what: string): TargetError {
  const facts = awsErrorFacts(error);
  const { kind, message } = classifyAwsError(facts, what);
  return new TargetError(kind, message, { ...(facts?.status !== undefined ? { status: facts.status } : {}) });
}
