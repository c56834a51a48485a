/** The error refinements (errors.ts) and config checks (config.ts), table by table. */
import { graphError, type GraphCall } from "./errors.js";
import { configProblems } from "./config.js";
import graph from "./index.js";

describe("graphError", () => {
  const rows: [string, number, unknown, GraphCall, string, RegExp][] = [
    ["429 throttling", 429, { error: { code: "TooManyRequests" } }, "read-user", "rate-limited", /throttling/],
    ["503 unavailable", 503, { error: { code: "serviceNotAvailable" } }, "disable-user", "retryable", /unavailable/],
    ["504 gateway timeout", 504, null, "list-memberships", "retryable", /unavailable/],
    ["500 other server error", 500, null, "read-user", "retryable", /retrying/],
    ["401 bad token", 401, { error: { code: "InvalidAuthenticationToken" } }, "read-user", "auth", /access token was refused/],
    ["403 on sign-out names User.RevokeSessions.All", 403, null, "revoke-sessions", "auth", /User\.RevokeSessions\.All/],
    ["403 on member removal: permission, or dynamic/synced/role-assignable", 403, { error: { code: "Authorization_RequestDenied" } }, "remove-member", "auth", /GroupMember\.ReadWrite\.All.*dynamic/],
    ["403 elsewhere names the call's permission", 403, null, "disable-user", "auth", /User\.EnableDisableAccount\.All/],
    ["400 on member removal: dynamic/synced/role-assignable", 400, { error: { code: "Request_BadRequest" } }, "remove-member", "permanent", /dynamic/],
    ["400 elsewhere", 400, { error: { code: "Request_BadRequest" } }, "disable-user", "permanent", /unexpected/],
    ["404 on /users itself: graphUrl", 404, null, "find-user", "permanent", /graphUrl/],
    ["409 concurrent change", 409, null, "disable-user", "retryable", /concurrent/],
    ["token 401 invalid_client", 401, { error: "invalid_client", error_codes: [7000215] }, "token", "auth", /clientSecret/],
    ["token 400 unknown tenant", 400, { error: "invalid_request", error_codes: [90002] }, "token", "auth", /tenantId/],
    ["token 429", 429, null, "token", "rate-limited", /throttling/],
    ["token 500", 500, null, "token", "retryable", /failed/],
    ["token 404: authorityUrl", 404, null, "token", "permanent", /authorityUrl/],
  ];
  it.each(rows)("%s", (_label, status, body, call, kind, message) => {
    const error = graphError(status, body, call, "GET /users/x", 5000);
    expect(error.kind).toBe(kind);
    expect(error.message).toMatch(message);
    expect(error.detail).toMatchObject({ status, retryAfterMs: 5000 });
  });
  it("quotes the error code, never the token endpoint's description", () => {
    const error = graphError(401, { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is the client secret value, not the client secret ID, for a secret added to app 'abc'." }, "token", "POST /t/oauth2/v2.0/token");
    expect(error.message).toContain("(invalid_client)");
    expect(error.message).not.toContain("AADSTS");
  });
});

describe("configProblems", () => {
  const good = { tenantId: "contoso.onmicrosoft.com", clientId: "c", clientSecret: "s" };
  const rows: [string, Record<string, unknown>, RegExp | null][] = [
    ["a good config", good, null],
    ["missing secret", { ...good, clientSecret: "" }, /clientSecret is required/],
    ["missing tenant", { ...good, tenantId: undefined }, /tenantId is required/],
    ["tenant with a slash", { ...good, tenantId: "a/b" }, /GUID or a domain/],
    ["plain http authority", { ...good, authorityUrl: "http://login.example.com" }, /https/],
    ["loopback http graphUrl", { ...good, graphUrl: "http://127.0.0.1:9/v1.0" }, null],
    ["unknown field", { ...good, token: "x" }, /token is not a microsoft-graph config field/],
    ["bad matchAttribute", { ...good, matchAttribute: "email" }, /matchAttribute/],
    ["bad lifetime", { ...good, accessTokenLifetimeMinutes: 0 }, /accessTokenLifetimeMinutes/],
  ];
  it.each(rows)("%s", (_label, config, problem) => {
    const problems = configProblems(config);
    if (problem === null) expect(problems).toEqual([]);
    else expect(problems.join("; ")).toMatch(problem);
  });
  it("warns at registration when matching on mail", () => {
    expect(graph.registrationWarnings({ ...good, matchAttribute: "mail" })).toHaveLength(1);
    expect(graph.registrationWarnings(good)).toEqual([]);
  });
});
