/**
 * Slack's error answers → TargetError. `ctx.http` classifies by HTTP status (429 rate-limited with
 * Retry-After, 401/403 auth, 5xx retryable); the Web API, though, answers almost every failure as
 * HTTP 200 with `{"ok": false, "error": "<code>"}` (SL-RESET: "always check ok"), so a Web API
 * answer is classified here by its `error` string, and for a revoke some codes mean "already gone".
 */
import { TargetError, type TargetErrorKind } from "../../src/connector-kit.js";

/** What the call was for: a revoke step may read "the user is gone" as already-done; a read may not. */
export type WebCallUse = "revoke" | "read" | "find";

/** Codes meaning the token cannot do this: a new token or scope fixes it, a retry does not. */
const AUTH_CODES = new Set([
  "not_authed", "invalid_auth", "missing_scope", "account_inactive", "token_revoked", "token_expired",
  "no_permission", "not_allowed_token_type", "not_an_admin", "not_an_enterprise", "ekm_access_denied", "access_denied",
]);
/** Codes meaning the user is not there (users.info: user_not_found; lookupByEmail: users_not_found). */
const USER_GONE = new Set(["user_not_found", "users_not_found"]);
const RETRYABLE = new Set(["fatal_error", "internal_error", "service_unavailable", "request_timeout"]);

export type WebVerdict = { already: true } | { already: false; kind: TargetErrorKind; message: string };

/**
 * Classifies `ok:false` from `method`: ratelimited → rate-limited; auth codes → auth (naming the
 * missing scope when Slack says `needed`); a missing user → already-done for a revoke, `null`
 * (and "no account") for a find, permanent for a read; server faults → retryable; the rest permanent.
 */
export function classifyWebError(method: string, error: string, use: WebCallUse, needed?: string): WebVerdict {
  const prefix = `${method} answered ok:false error=${error}`;
  if (error === "ratelimited") return { already: false, kind: "rate-limited", message: `${prefix}: Slack is throttling this token (Web API tier limits); the engine waits for Retry-After` };
  if (AUTH_CODES.has(error)) {
    const scope = needed ? `; add the scope ${needed} to webToken` : "";
    return { already: false, kind: "auth", message: `${prefix}: webToken cannot call ${method}${scope}; issue a new token with the scopes in the README` };
  }
  if (USER_GONE.has(error)) {
    if (use === "revoke" || use === "find") return { already: true };
    return { already: false, kind: "permanent", message: `${prefix}: Slack does not know the user` };
  }
  if (error === "feature_not_enabled" || error === "not_enterprise_team") return { already: false, kind: "permanent", message: `${prefix}: this org is not Enterprise Grid; set enterpriseGrid: false (session reset is Grid only)` };
  if (error === "no_users_provided" || error === "invalid_users") return { already: false, kind: "permanent", message: `${prefix}: Slack refuses an empty user group and the person is its last member; disable the user group (usergroups.disable) or add another member, then retry` };
  if (error === "no_such_subteam" && use === "revoke") return { already: true };
  if (error === "cannot_reset_primary_owner" || error === "cannot_reset_bot") return { already: false, kind: "permanent", message: `${prefix}: Slack does not reset this account's sessions; handle the primary owner or bot by hand` };
  if (RETRYABLE.has(error)) return { already: false, kind: "retryable", message: `${prefix}: Slack reported a server fault` };
  return { already: false, kind: "permanent", message: prefix };
}

export function webError(verdict: Extract<WebVerdict, { already: false }>, retryAfterMs?: number): TargetError {
  return new TargetError(verdict.kind, verdict.message, retryAfterMs !== undefined ? { retryAfterMs } : {});
}

/**
 * A SCIM status the connector reads itself (everything else keeps `ctx.http`'s classification):
 * 404 on a user is the caller's answer; 400 on the deactivating DELETE is permanent with the fix.
 */
export const SCIM_ACCEPT: readonly number[] = [400, 404];

export function scimError(status: number, what: string): TargetError {
  if (status === 400) return new TargetError("permanent", `${what} answered 400: Slack refused the SCIM request; check that scimBaseUrl is the SCIM v2 base and scimToken has the admin scope`, { status });
  return new TargetError("permanent", `${what} answered ${status}`, { status });
}
