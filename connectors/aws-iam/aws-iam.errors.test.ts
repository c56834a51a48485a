import type { TargetErrorKind } from "../../src/connector-kit.js";
import { awsErrorFacts, classifyAwsError, isNoSuchEntity } from "./errors.js";

describe("classifyAwsError: an IAM error answer → TargetError kind", () => {
  const rows: { code: string; status?: number; kind: TargetErrorKind; says: string }[] = [
    { code: "Throttling", status: 400, kind: "rate-limited", says: "no Retry-After" },
    { code: "ThrottlingException", status: 400, kind: "rate-limited", says: "no Retry-After" },
    { code: "RequestLimitExceeded", status: 400, kind: "rate-limited", says: "backs off" },
    { code: "AccessDenied", status: 403, kind: "auth", says: "IAM actions listed in the aws-iam README" },
    { code: "AccessDeniedException", status: 403, kind: "auth", says: "IAM actions listed" },
    { code: "AccessDeniedException", status: 400, kind: "auth", says: "IAM actions listed" },
    { code: "NotAuthorized", status: 400, kind: "auth", says: "IAM actions listed" },
    { code: "RequestExpired", status: 400, kind: "auth", says: "clock is more than 15 minutes off" },
    { code: "InvalidClientTokenId", status: 403, kind: "auth", says: "check accessKeyId and secretAccessKey" },
    { code: "SignatureDoesNotMatch", status: 403, kind: "auth", says: "and the clock" },
    { code: "ExpiredToken", status: 400, kind: "auth", says: "credential chain" },
    { code: "ServiceFailure", status: 500, kind: "retryable", says: "failed internally" },
    { code: "ConcurrentModification", status: 409, kind: "retryable", says: "wait a few minutes" },
    { code: "ConcurrentModificationException", status: 409, kind: "retryable", says: "wait a few minutes" },
    { code: "EntityTemporarilyUnmodifiable", status: 409, kind: "retryable", says: "deleted and recreated" },
    { code: "DeleteConflict", status: 409, kind: "permanent", says: "still attached" },
    { code: "DeleteConflictException", status: 409, kind: "permanent", says: "still attached" },
    { code: "LimitExceeded", status: 409, kind: "permanent", says: "inline policy quota" },
    { code: "NoSuchEntity", status: 404, kind: "permanent", says: "not found where it must exist" },
    { code: "ValidationError", status: 400, kind: "permanent", says: "answered 400 ValidationError" },
    { code: "SomethingNew", status: 503, kind: "retryable", says: "answered 503 SomethingNew" },
  ];

  it.each(rows)("$code ($status) → $kind", ({ code, status, kind, says }) => {
    const r = classifyAwsError({ code, ...(status !== undefined ? { status } : {}) }, "DeleteAccessKey(alice)");
    expect(r.kind).toBe(kind);
    expect(r.message).toContain(says);
    expect(r.message.startsWith("DeleteAccessKey(alice) answered")).toBe(true);
  });

  it("a failure before IAM answered (no $metadata: refused connection, timeout) is retryable", () => {
    expect(awsErrorFacts(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBeNull();
    expect(classifyAwsError(null, "GetUser(alice)")).toMatchObject({ kind: "retryable" });
  });

  it("no credentials in the default chain is auth, naming the fix", () => {
    const facts = awsErrorFacts(Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }));
    expect(classifyAwsError(facts, "GetUser(alice)")).toMatchObject({ kind: "auth", message: expect.stringContaining("set accessKeyId and secretAccessKey") });
  });

  it("reads the SDK's error: the modeled NoSuchEntityException and the unmodeled Code alike", () => {
    const sdk = (name: string, status: number) => Object.assign(new Error("x"), { name, $metadata: { httpStatusCode: status } });
    expect(isNoSuchEntity(sdk("NoSuchEntityException", 404))).toBe(true);
    expect(isNoSuchEntity(Object.assign(sdk("Error", 404), { Code: "NoSuchEntity" }))).toBe(true);
    expect(isNoSuchEntity(sdk("AccessDenied", 403))).toBe(false);
    expect(awsErrorFacts(sdk("Throttling", 400))).toEqual({ code: "Throttling", status: 400 });
  });
});
