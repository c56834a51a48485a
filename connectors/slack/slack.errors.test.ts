import type { TargetErrorKind } from "../../src/connector-kit.js";
import { classifyWebError, scimError, type WebCallUse } from "./errors.js";

describe("classifyWebError: a Web API ok:false answer → TargetError kind, already-done, and the fix it names", () => {
  const rows: { error: string; use: WebCallUse; kind: TargetErrorKind | "already-done"; says?: string; needed?: string }[] = [
    { error: "ratelimited", use: "revoke", kind: "rate-limited", says: "Retry-After" },
    { error: "not_authed", use: "read", kind: "auth", says: "webToken cannot call" },
    { error: "invalid_auth", use: "revoke", kind: "auth", says: "new token" },
    { error: "missing_scope", use: "revoke", kind: "auth", needed: "usergroups:write", says: "add the scope usergroups:write" },
    { error: "account_inactive", use: "read", kind: "auth", says: "webToken" },
    { error: "token_revoked", use: "read", kind: "auth", says: "webToken" },
    { error: "not_allowed_token_type", use: "revoke", kind: "auth", says: "webToken" },
    { error: "user_not_found", use: "revoke", kind: "already-done" },
    { error: "users_not_found", use: "find", kind: "already-done" },
    { error: "user_not_found", use: "read", kind: "permanent", says: "does not know the user" },
    { error: "no_such_subteam", use: "revoke", kind: "already-done" },
    { error: "no_such_subteam", use: "read", kind: "permanent", says: "no_such_subteam" },
    { error: "no_users_provided", use: "revoke", kind: "permanent", says: "last member" },
    { error: "invalid_users", use: "revoke", kind: "permanent", says: "usergroups.disable" },
    { error: "feature_not_enabled", use: "revoke", kind: "permanent", says: "enterpriseGrid: false" },
    { error: "cannot_reset_primary_owner", use: "revoke", kind: "permanent", says: "by hand" },
    { error: "fatal_error", use: "read", kind: "retryable", says: "server fault" },
    { error: "something_new", use: "revoke", kind: "permanent", says: "error=something_new" },
  ];

  it.each(rows)("$error ($use) → $kind", ({ error, use, kind, says, needed }) => {
    const verdict = classifyWebError("usergroups.users.update", error, use, needed);
    if (kind === "already-done") return expect(verdict).toEqual({ already: true });
    expect(verdict).toMatchObject({ already: false, kind });
    if (!verdict.already) {
      expect(verdict.message.startsWith(`usergroups.users.update answered ok:false error=${error}`)).toBe(true);
      expect(verdict.message).toContain(says);
    }
  });
});

describe("scimError: the SCIM statuses the connector reads itself", () => {
  it.each([
    { status: 400, kind: "permanent", says: "check that scimBaseUrl is the SCIM v2 base" },
    { status: 404, kind: "permanent", says: "answered 404" },
  ])("$status → $kind", ({ status, kind, says }) => {
    const error = scimError(status, "DELETE /scim/v2/Users/U1");
    expect(error.kind).toBe(kind);
    expect(error.message).toContain(says);
    expect(error.detail.status).toBe(status);
  });
});
