/**
 * GitHub error answers → TargetError. `ctx.http`'s default reads 403 as auth and 429 alone as
 * throttling; GitHub throttles with 403 *or* 429 and says which in its headers and message
 * (docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api, targets-reference §1.1):
 * - primary limit: `x-ratelimit-remaining: 0`, wait until `x-ratelimit-reset` (UTC epoch seconds);
 * - secondary limit: `retry-after` (seconds), or the "secondary rate limit" message: wait ≥ 1 min;
 * - any other 403 is a permission answer (or SAML enforcement on the token).
 */
import { parseRetryAfter, TargetError, type TargetErrorKind } from "../../src/connector-kit.js";

/** What the failed call was for: decides what a 403, 404 or 422 means and which fix the message names. */
export type GithubCall = "org" | "membership" | "outside-collaborator" | "team-membership" | "credential-authorizations" | "personal-access-tokens";

/** Statuses the connector reads itself (everything an answer can be): ctx.http classifies none of them. */
export const READ_STATUSES: readonly number[] = [301, 302, 304, 307, 400, 401, 403, 404, 409, 410, 422, 429, 451, 500, 502, 503, 504];

/** Secondary limits with neither header: the documented advice is to wait at least a minute. */
const SECONDARY_WAIT_MS = 60_000;

export interface GithubFailure {
  kind: TargetErrorKind;
  message: string;
  retryAfterMs?: number;
}

const messageOf = (body: unknown): string => {
  if (typeof body === "object" && body !== null && typeof (body as { message?: unknown }).message === "string") return (body as { message: string }).message;
  return "";
};

/**
 * The kind, message and wait for a failed GitHub call. `what` is "METHOD /path". GitHub's own
 * `message` is quoted, cut short (it names no credential; the path already names the login).
 */
export function classifyGithubError(status: number, headers: Headers, body: unknown, call: GithubCall, what: string, now: Date): GithubFailure {
  const message = messageOf(body);
  const answered = `${what} answered ${status}${message ? `: "${message.slice(0, 120)}"` : ""}`;
  const fail = (kind: TargetErrorKind, fix?: string, retryAfterMs?: number): GithubFailure => ({ kind, message: fix ? `${answered}; ${fix}` : answered, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });

  if (status === 403 || status === 429) {
    const remaining = headers.get("x-ratelimit-remaining");
    const reset = Number(headers.get("x-ratelimit-reset"));
    if (remaining === "0") {
      const wait = Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now.getTime()) : SECONDARY_WAIT_MS;
      return fail("rate-limited", `primary rate limit exhausted (x-ratelimit-resource: ${headers.get("x-ratelimit-resource") ?? "core"}), resets at ${new Date(now.getTime() + wait).toISOString()}`, wait);
    }
    const retryAfter = parseRetryAfter(headers.get("retry-after"), now);
    if (retryAfter !== undefined) return fail("rate-limited", "secondary rate limit: retry-after honoured", retryAfter);
    if (/secondary rate limit|abuse detection/i.test(message) || status === 429) return fail("rate-limited", "secondary rate limit without retry-after: waiting a minute, as GitHub advises", SECONDARY_WAIT_MS);
    if (/SAML enforcement/i.test(message)) return fail("auth", "the token is not authorized for the org's SAML SSO: authorize it for the org (Configure SSO on the token), or use a GitHub App installation token");
    if (call === "personal-access-tokens" && /GitHub App/i.test(message)) return fail("permanent", "only GitHub App installation tokens can manage fine-grained PAT access: use one as token, or set fineGrainedTokens: false");
    if (call === "team-membership" && /synchroni[sz]/i.test(message)) return fail("permanent", "the team is synchronized with an IdP group: remove the person from the IdP group instead, or map no entitlement to this team");
    if (status === 403) return fail("auth", "the token lacks the permission: a PAT must belong to an org owner (admin:org), a GitHub App installation needs the organization Members permission (write)");
  }
  if (status === 401) return fail("auth", "the token is invalid, expired or revoked (installation tokens live one hour): give a fresh one");
  if (status === 404) {
    if (call === "org") return fail("permanent", "no such org, or the token cannot see it: check org and that the token is installed on it");
    if (call === "credential-authorizations") return fail("permanent", "the org has no SAML SSO credential authorizations API (GitHub Enterprise Cloud with SAML SSO only): set samlSso: false");
    if (call === "personal-access-tokens") return fail("permanent", "fine-grained PAT access is not readable here: the token must be a GitHub App installation token with the org's Personal access tokens permission, or set fineGrainedTokens: false");
    return fail("permanent");
  }
  if (status === 422 && call === "outside-collaborator") return fail("permanent", "GitHub says the person is an org member, not an outside collaborator: the remove-org-membership step removes them");
  if (status === 451) return fail("permanent", "GitHub restricts this account for trade compliance: remove it in the GitHub UI");
  if (status >= 300 && status < 400) return fail("permanent", "GitHub redirected (the caller may not be an org member, or the org was renamed): a redirect is not an answer, check org");
  if (status === 408 || status >= 500) return fail("retryable", undefined, parseRetryAfter(headers.get("retry-after"), now));
  return fail("permanent");
}

/** `classifyGithubError` as a TargetError. */
export function githubError(status: number, headers: Headers, body: unknown, call: GithubCall, what: string, now: Date): TargetError {
  const { kind, message, retryAfterMs } = classifyGithubError(status, headers, body, call, what, now);
  return new TargetError(kind, message, { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}
