import type { TargetErrorKind } from "../../src/connector-kit.js";
import { classifyGithubError, type GithubCall } from "./errors.js";

const NOW = new Date("2026-12-03T12:00:00Z");
const nowSec = NOW.getTime() / 1000;

describe("classifyGithubError: a GitHub error answer → TargetError kind, wait and fix", () => {
  const rows: { name: string; status: number; headers?: Record<string, string>; message?: string; call?: GithubCall; kind: TargetErrorKind; retryAfterMs?: number; says?: string }[] = [
    { name: "primary limit on 403", status: 403, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(nowSec + 42) }, message: "API rate limit exceeded", kind: "rate-limited", retryAfterMs: 42_000, says: "primary rate limit" },
    { name: "primary limit on 429", status: 429, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(nowSec + 5) }, kind: "rate-limited", retryAfterMs: 5_000 },
    { name: "primary limit, reset already passed", status: 403, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(nowSec - 5) }, kind: "rate-limited", retryAfterMs: 0 },
    { name: "primary limit without reset", status: 403, headers: { "x-ratelimit-remaining": "0" }, kind: "rate-limited", retryAfterMs: 60_000 },
    { name: "secondary limit with retry-after", status: 403, headers: { "x-ratelimit-remaining": "4000", "retry-after": "7" }, message: "You have exceeded a secondary rate limit", kind: "rate-limited", retryAfterMs: 7_000 },
    { name: "secondary limit by message only", status: 403, headers: { "x-ratelimit-remaining": "4000" }, message: "You have exceeded a secondary rate limit. Please wait a few minutes", kind: "rate-limited", retryAfterMs: 60_000 },
    { name: "abuse detection (older wording)", status: 403, message: "You have triggered an abuse detection mechanism", kind: "rate-limited", retryAfterMs: 60_000 },
    { name: "429 with nothing else", status: 429, kind: "rate-limited", retryAfterMs: 60_000 },
    { name: "plain 403: permission", status: 403, headers: { "x-ratelimit-remaining": "4999" }, message: "Must have admin rights to Repository.", kind: "auth", says: "org owner" },
    { name: "403 SAML enforcement", status: 403, message: "Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.", kind: "auth", says: "authorize it for the org" },
    { name: "403 PAT on a GitHub-App-only endpoint", status: 403, message: "Only GitHub Apps can use this endpoint.", call: "personal-access-tokens", kind: "permanent", says: "set fineGrainedTokens: false" },
    { name: "403 synchronized team", status: 403, message: "This team is synchronized with an identity provider group", call: "team-membership", kind: "permanent", says: "IdP group" },
    { name: "401 bad credentials", status: 401, message: "Bad credentials", kind: "auth", says: "give a fresh one" },
    { name: "404 org", status: 404, call: "org", kind: "permanent", says: "check org" },
    { name: "404 credential authorizations (no SAML SSO)", status: 404, call: "credential-authorizations", kind: "permanent", says: "set samlSso: false" },
    { name: "404 PAT listing", status: 404, call: "personal-access-tokens", kind: "permanent", says: "fineGrainedTokens: false" },
    { name: "422 outside collaborator is a member", status: 422, call: "outside-collaborator", kind: "permanent", says: "remove-org-membership" },
    { name: "451 trade compliance", status: 451, call: "membership", kind: "permanent", says: "trade compliance" },
    { name: "302 redirect is not an answer", status: 302, call: "membership", kind: "permanent", says: "not an answer" },
    { name: "502", status: 502, kind: "retryable" },
    { name: "503 with retry-after", status: 503, headers: { "retry-after": "3" }, kind: "retryable", retryAfterMs: 3_000 },
    { name: "another 4xx", status: 400, kind: "permanent" },
  ];

  it.each(rows)("$name: $status → $kind", ({ status, headers, message, call, kind, retryAfterMs, says }) => {
    const result = classifyGithubError(status, new Headers(headers ?? {}), message ? { message } : null, call ?? "membership", "GET /orgs/acme/memberships/alice", NOW);
    expect(result.kind).toBe(kind);
    expect(result.retryAfterMs).toBe(retryAfterMs);
    expect(result.message.startsWith(`GET /orgs/acme/memberships/alice answered ${status}`)).toBe(true);
    if (says) expect(result.message).toContain(says);
  });
});
