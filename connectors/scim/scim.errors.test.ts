import type { TargetErrorKind } from "../../src/connector-kit.js";
import { classifyScimError, type ScimCall, type ScimErrorBody } from "./errors.js";

const patchPath: ScimCall = { kind: "deactivate", mode: "patch-path" };
const patchNoPath: ScimCall = { kind: "deactivate", mode: "patch-no-path" };
const put: ScimCall = { kind: "deactivate", mode: "put" };
const del: ScimCall = { kind: "deactivate", mode: "delete" };
const removeMember: ScimCall = { kind: "remove-member" };
const findUsers: ScimCall = { kind: "search", resource: "Users", attribute: "externalId" };
const findGroups: ScimCall = { kind: "search", resource: "Groups", attribute: "displayName" };

describe("classifyScimError: a SCIM error answer → TargetError kind and the fix it names", () => {
  const rows: { name: string; status: number; body?: ScimErrorBody; call: ScimCall; kind: TargetErrorKind; says: string }[] = [
    { name: "PATCH with path refused (invalidPath)", status: 400, body: { scimType: "invalidPath" }, call: patchPath, kind: "permanent", says: "set deactivateWith: patch-no-path, or put" },
    { name: "PATCH with path refused (noTarget)", status: 400, body: { scimType: "noTarget" }, call: patchPath, kind: "permanent", says: "set deactivateWith: patch-no-path, or put" },
    { name: "PATCH without path refused", status: 400, body: { scimType: "invalidValue" }, call: patchNoPath, kind: "permanent", says: "set deactivateWith: patch-path, or put" },
    { name: "PUT refused for a read-only attribute", status: 400, body: { scimType: "mutability" }, call: put, kind: "permanent", says: "written back: set deactivateWith: patch-path" },
    { name: "DELETE refused", status: 400, call: del, kind: "permanent", says: "DELETE is not allowed here" },
    { name: "no PATCH at all (501)", status: 501, call: patchPath, kind: "permanent", says: "does not implement PATCH: set deactivateWith: put" },
    { name: "no PUT (501)", status: 501, call: put, kind: "permanent", says: "does not implement PUT: set deactivateWith: patch-path" },
    { name: "no PATCH for group members (501)", status: 501, call: removeMember, kind: "permanent", says: "map no entitlements to this target" },
    { name: "member removal by filter path refused", status: 400, body: { scimType: "invalidPath" }, call: removeMember, kind: "permanent", says: "members[value eq" },
    { name: "unsupported user filter", status: 400, body: { scimType: "invalidFilter" }, call: findUsers, kind: "permanent", says: "filtering Users on externalId: set matchAttribute" },
    { name: "unsupported group filter", status: 400, body: { scimType: "invalidFilter" }, call: findGroups, kind: "permanent", says: "set groupEntitlements: id" },
    { name: "search too broad", status: 400, body: { scimType: "tooMany" }, call: findUsers, kind: "permanent", says: "too broad" },
    { name: "no /Users endpoint (wrong baseUrl)", status: 404, call: findUsers, kind: "permanent", says: "check that baseUrl is the SCIM base" },
    { name: "uniqueness conflict writing back", status: 409, body: { scimType: "uniqueness" }, call: put, kind: "permanent", says: "set deactivateWith: patch-path" },
    { name: "concurrent change (409)", status: 409, call: patchPath, kind: "retryable", says: "re-reads it on retry" },
    { name: "stale ETag (412)", status: 412, call: put, kind: "retryable", says: "between read and write (ETag)" },
    { name: "500 on a path-less PATCH", status: 500, call: patchNoPath, kind: "retryable", says: "set deactivateWith: patch-path" },
    { name: "500 elsewhere: the default", status: 500, call: patchPath, kind: "retryable", says: "answered 500" },
    { name: "503: the default", status: 503, call: findUsers, kind: "retryable", says: "answered 503" },
    { name: "401: the default", status: 401, call: patchPath, kind: "auth", says: "answered 401" },
    { name: "403: the default", status: 403, call: removeMember, kind: "auth", says: "answered 403" },
    { name: "429: the default", status: 429, call: findUsers, kind: "rate-limited", says: "answered 429" },
    { name: "another 4xx: the default", status: 422, call: del, kind: "permanent", says: "answered 422" },
  ];

  it.each(rows)("$name: $status → $kind", ({ status, body, call, kind, says }) => {
    const result = classifyScimError(status, body ?? {}, call, "PATCH /Users/42");
    expect(result.kind).toBe(kind);
    expect(result.message).toContain(says);
    expect(result.message.startsWith(`PATCH /Users/42 answered ${status}`)).toBe(true);
  });

  it("quotes the provider's detail for writes, cut short", () => {
    const { message } = classifyScimError(400, { scimType: "invalidPath", detail: `Unsupported path ${"x".repeat(300)}` }, patchPath, "PATCH /Users/42");
    expect(message).toContain(`400 invalidPath: "Unsupported path ${"x".repeat(143)}";`);
    expect(message).not.toContain("x".repeat(145));
  });

  it.each([["a search", findUsers], ["a read", { kind: "read", resource: "Users" } as ScimCall], ["a PUT", put]])("never quotes the detail of %s, which may echo the person's userName or email", (_, call) => {
    const { message } = classifyScimError(409, { detail: 'emails.value "alice@example.com" is taken' }, call, "GET /Users");
    expect(message).not.toContain("alice");
  });
});
