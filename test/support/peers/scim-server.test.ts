import { startScimServer, type ScimServer } from "./scim-server.js";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

let server: ScimServer;
beforeAll(async () => {
  server = await startScimServer({ token: "peer-token" });
});
afterAll(async () => {
  await server.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.baseUrl + path, {
    method,
    headers: { authorization: "Bearer peer-token", ...(body === undefined ? {} : { "content-type": "application/scim+json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as Record<string, any> };
}
const patch = (path: string, ...Operations: unknown[]) => call("PATCH", path, { schemas: [PATCH_OP], Operations });
const expectError = (r: { status: number; body: Record<string, unknown> }, status: number, scimType?: string) => {
  expect(r.status).toBe(status);
  expect(r.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: String(status), ...(scimType ? { scimType } : {}) });
};
let n = 0;
const newUser = async (extra: Record<string, unknown> = {}) => {
  const r = await call("POST", "/Users", { schemas: [USER], userName: `user${++n}`, emails: [{ value: `user${n}@example.com`, type: "work" }], ...extra });
  expect(r.status).toBe(201);
  return r.body;
};

describe("the independent SCIM peer (RFC 7643/7644)", () => {
  it("refuses a request without the bearer token with 401 and a SCIM error body", async () => {
    const res = await fetch(`${server.baseUrl}/Users`);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/scim+json; charset=utf-8");
    expect(await res.json()).toEqual({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "401", detail: "authorization failed" });
  });

  it("creates users with id, meta and an ETag, and refuses a taken userName in any case (409 uniqueness)", async () => {
    const r = await call("POST", "/Users", { schemas: [USER], userName: "Creator" });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ id: expect.any(String), userName: "Creator", active: true, groups: [], meta: { resourceType: "User", version: 'W/"1"' } });
    expect(r.headers.get("etag")).toBe('W/"1"');
    expectError(await call("POST", "/Users", { schemas: [USER], userName: "creator" }), 409, "uniqueness");
  });

  it("filters with eq: userName and emails case-insensitively, externalId exactly, with JSON string escapes", async () => {
    const u = await newUser({ userName: 'Qu"ote\\d', externalId: "Ext-1" });
    const list = async (filter: string) => (await call("GET", `/Users?filter=${encodeURIComponent(filter)}`)).body;
    expect(await list('userName eq "qu\\"OTE\\\\d"')).toEqual({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [expect.objectContaining({ id: u.id })] });
    expect((await list(`emails.value eq "${u.emails[0].value.toUpperCase()}"`)).totalResults).toBe(1);
    expect((await list('externalId eq "Ext-1"')).totalResults).toBe(1);
    expect((await list('externalId eq "ext-1"')).totalResults).toBe(0);
    expectError(await call("GET", `/Users?filter=${encodeURIComponent('title eq "x"')}`), 400, "invalidFilter");
    expectError(await call("GET", `/Users?filter=${encodeURIComponent('userName eq "open')}`), 400, "invalidFilter");
  });

  it("pages lists with startIndex and count", async () => {
    for (let i = 0; i < 3; i++) await newUser({ externalId: "page" });
    const page = (await call("GET", `/Users?filter=${encodeURIComponent('externalId eq "page"')}&startIndex=2&count=1`)).body;
    expect(page).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
    expect(page.Resources).toHaveLength(1);
  });

  it("PATCH replace with a path, without a path, op names in any case (RFC 7644 §3.5.2.3)", async () => {
    const u = await newUser();
    expect((await patch(`/Users/${u.id}`, { op: "replace", path: "active", value: false })).body.active).toBe(false);
    expect((await patch(`/Users/${u.id}`, { op: "Replace", value: { active: true, displayName: "D" } })).body).toMatchObject({ active: true, displayName: "D" });
    expect((await patch(`/Users/${u.id}`, { op: "replace", path: `${ENTERPRISE}:department`, value: "R&D" })).body[ENTERPRISE]).toEqual({ department: "R&D" });
    expect((await patch(`/Users/${u.id}`, { op: "replace", path: 'emails[type eq "work"].value', value: "new@example.com" })).body.emails).toEqual([{ value: "new@example.com", type: "work" }]);
    expectError(await patch(`/Users/${u.id}`, { op: "replace", path: 'emails[type eq "home"].value', value: "x@example.com" }), 400, "noTarget");
  });

  it("PATCH add appends to multi-valued attributes; remove needs a path and honours filters (§3.5.2.1, §3.5.2.2)", async () => {
    const u = await newUser();
    const added = await patch(`/Users/${u.id}`, { op: "add", path: "emails", value: [{ value: "home@example.com", type: "home" }] });
    expect(added.body.emails.map((e: { type: string }) => e.type)).toEqual(["work", "home"]);
    expect((await patch(`/Users/${u.id}`, { op: "remove", path: 'emails[type eq "work"]' })).body.emails).toEqual([{ value: "home@example.com", type: "home" }]);
    expectError(await patch(`/Users/${u.id}`, { op: "remove" }), 400, "noTarget");
  });

  it("PATCH refuses read-only attributes, wrong types and bodies without the PatchOp schema", async () => {
    const u = await newUser();
    expectError(await patch(`/Users/${u.id}`, { op: "replace", path: "id", value: "x" }), 400, "mutability");
    expectError(await patch(`/Users/${u.id}`, { op: "replace", path: "active", value: "False" }), 400, "invalidValue");
    expectError(await call("PATCH", `/Users/${u.id}`, { Operations: [{ op: "replace", path: "active", value: false }] }), 400, "invalidSyntax");
    expectError(await patch(`/Users/${u.id}`, { op: "move", path: "active", value: false }), 400, "invalidSyntax");
  });

  it("groups: members are removed by value filter, and remove without a filter removes them all (§3.5.2.2)", async () => {
    const a = await newUser();
    const b = await newUser();
    const g = (await call("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "G", members: [{ value: a.id }, { value: b.id }] })).body;
    expect((await call("GET", `/Users/${a.id}`)).body.groups).toEqual([expect.objectContaining({ value: g.id, type: "direct" })]);
    expect((await patch(`/Groups/${g.id}`, { op: "remove", path: `members[value eq "${a.id}"]` })).body.members).toEqual([{ value: b.id }]);
    expect((await call("GET", `/Groups?filter=${encodeURIComponent(`members.value eq "${b.id}"`)}`)).body.totalResults).toBe(1);
    expect((await patch(`/Groups/${g.id}`, { op: "remove", path: "members", value: [{ value: b.id }] })).body.members).toBeUndefined();
    expectError(await patch(`/Groups/${g.id}`, { op: "add", path: "members", value: [{ value: "no-such-user" }] }), 400, "invalidValue");
  });

  it("DELETE answers 204, then 404 for every operation, and the user leaves its groups (§3.6)", async () => {
    const u = await newUser();
    const g = (await call("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "H", members: [{ value: u.id }] })).body;
    expect((await call("DELETE", `/Users/${u.id}`)).status).toBe(204);
    expectError(await call("GET", `/Users/${u.id}`), 404);
    expectError(await patch(`/Users/${u.id}`, { op: "replace", path: "active", value: false }), 404);
    expectError(await call("DELETE", `/Users/${u.id}`), 404);
    expect((await call("GET", `/Groups/${g.id}`)).body.members).toEqual([]);
  });

  it("PUT replaces the user; a stale If-Match is 412", async () => {
    const u = await newUser({ displayName: "Before" });
    const put = await call("PUT", `/Users/${u.id}`, { schemas: [USER], userName: u.userName, active: false }, { "if-match": u.meta.version });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ active: false, meta: { version: 'W/"2"' } });
    expect(put.body.displayName).toBeUndefined();
    expectError(await call("PUT", `/Users/${u.id}`, { schemas: [USER], userName: u.userName }, { "if-match": u.meta.version }), 412);
  });

  it("switchable behaviours: no PATCH (501), PATCH without path only (400 invalidPath), a throttled request (429 Retry-After)", async () => {
    const u = await newUser();
    server.setBehaviour({ patchSupport: "none" });
    expectError(await patch(`/Users/${u.id}`, { op: "replace", path: "active", value: false }), 501);
    expect((await call("GET", "/ServiceProviderConfig")).body.patch).toEqual({ supported: false });
    server.setBehaviour({ patchSupport: "no-path-only" });
    expectError(await patch(`/Users/${u.id}`, { op: "replace", path: "active", value: false }), 400, "invalidPath");
    expect((await patch(`/Users/${u.id}`, { op: "replace", value: { active: false } })).status).toBe(200);
    server.setBehaviour({ patchSupport: "full" });
    server.throttleNext(5);
    const throttled = await call("GET", `/Users/${u.id}`);
    expectError(throttled, 429);
    expect(throttled.headers.get("retry-after")).toBe("5");
    expect((await call("GET", `/Users/${u.id}`)).status).toBe(200);
  });

  it("counts every mutating request, answered or refused, and no read", async () => {
    const before = server.writes();
    const u = await newUser();
    await call("GET", `/Users/${u.id}`);
    await patch(`/Users/${u.id}`, { op: "replace", path: "id", value: "x" });
    expect(server.writes() - before).toBe(2);
  });
});
