/**
 * Okta's published SCIM 2.0 test plans, replayed one-to-one against the bridge.
 *
 * - "Okta SCIM 2.0 SPEC Test" (Runscope/BlazeMeter API test), R1–R12 in the order of its steps:
 *   https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-SPEC-Test.json
 *   (export 1715608731; stored copy BerriAI/litellm: tests/scim_tests/scim_e2e_test.json). Its variables
 *   come from the Initial Script table in okta/okta-developer-docs:
 *   packages/@okta/vuepress-site/docs/guides/scim-provisioning-integration-prepare/main/index.md.
 * - The 2016 export of the same suite (export 1478558704, stored copy mwhorse46/node_okta_app:
 *   Okta-SCIM-20-SPEC-Test.json), whose optional discovery steps the current export dropped.
 * - "Okta SCIM 2.0 CRUD Test": https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-CRUD-Test.json
 *   (stored as okta/okta-developer-docs: packages/@okta/vuepress-site/standards/SCIM/SCIMFiles/Okta-SCIM-CRUD-Test.json),
 *   described in .../docs/guides/scim-provisioning-integration-test/main/index.md. It drives an Okta org and
 *   only checks the SCIM server with GETs; the requests Okta sends in between are the ones documented in
 *   "Okta and SCIM Version 2.0": okta/okta-developer-docs: packages/@okta/vuepress-site/docs/reference/scim/scim-20/index.md.
 * - Group Push, from the same "Okta and SCIM Version 2.0" reference (SCIM Group operations).
 *
 * Where Okta checks more loosely than RFC 7643/7644, the RFC is asserted as well and says so.
 */
import { readFileSync } from "node:fs";
import request from "supertest";
import {
  CORE_GROUP,
  CORE_USER,
  ERROR_SCHEMA,
  expectScimError,
  scimHarness,
  userBody,
  type ScimHarness,
} from "../support/scim-app.js";

const LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

type Json = Record<string, unknown>;

/** A fixture beside this file, with `{{name}}` placeholders filled in from `vars`. */
function fixture(file: string, key: string, vars: Record<string, string> = {}): Json {
  const all = JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8")) as Record<string, unknown>;
  if (!(key in all)) throw new Error(`fixture ${file} has no ${key}`);
  const fill = (v: unknown): unknown =>
    typeof v === "string"
      ? v.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
          if (!(name in vars)) throw new Error(`fixture ${file}/${key} needs {{${name}}}`);
          return vars[name] as string;
        })
      : Array.isArray(v)
        ? v.map(fill)
        : v && typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]))
          : v;
  return fill(all[key]) as Json;
}

const SPEC_VARS = (JSON.parse(readFileSync(new URL("./fixtures/okta-spec-test.json", import.meta.url), "utf8")) as { variables: Record<string, string> }).variables;
const v = (name: keyof typeof SPEC_VARS & string): string => SPEC_VARS[name] as string;
const filterQuery = (filter: string) => `filter=${encodeURIComponent(filter)}`;

/** The headers every Runscope step sends (Accept, Accept-Charset, User-Agent), with the connection's token. */
function runscope(h: ScimHarness, method: "get" | "post", path: string, authorization = `Bearer ${h.token}`): request.Test {
  return request(h.app)
    [method](`/scim/v2${path}`)
    .set("Authorization", authorization)
    .set("Accept", "application/scim+json")
    .set("Accept-Charset", "utf-8")
    .set("User-Agent", "OKTA SCIM Integration");
}

/** Runscope's POST steps send the body as `Content-Type: application/json`, not application/scim+json. */
function runscopePost(h: ScimHarness, path: string, body: unknown): request.Test {
  return request(h.app)
    .post(`/scim/v2${path}`)
    .set("Authorization", `Bearer ${h.token}`)
    .set("Accept", "application/scim+json; charset=utf-8")
    .set("Content-Type", "application/json")
    .send(JSON.stringify(body));
}

/** What Runscope's `not_empty` on a response property means. */
const notEmpty = (value: unknown) => {
  expect(value).toBeDefined();
  expect(value).not.toBeNull();
  expect(value).not.toBe("");
};

function expectListResponse(res: request.Response, totalResults?: number): void {
  expectStatus(res, 200);
  expect(res.headers["content-type"]).toMatch(/application\/scim\+json/);
  expect(res.body.schemas).toContain(LIST_RESPONSE);
  expect(typeof res.body.totalResults).toBe("number");
  expect(typeof res.body.startIndex).toBe("number");
  expect(typeof res.body.itemsPerPage).toBe("number");
  expect(Array.isArray(res.body.Resources)).toBe(true);
  if (totalResults !== undefined) expect(res.body.totalResults).toBe(totalResults);
}

/** Asserts the status, showing the whole response when it differs (the failure report needs the body). */
function expectStatus(res: request.Response, ...statuses: number[]): void {
  if (!statuses.includes(res.status)) {
    throw new Error(`expected HTTP ${statuses.join(" or ")}, got ${res.status} ${JSON.stringify(res.body)}`);
  }
}

describe("Okta SCIM 2.0 SPEC Test (Okta-SCIM-20-SPEC-Test.json, export 1715608731)", () => {
  let h: ScimHarness;
  let ISVUserid: string;
  let idUserOne: string;

  beforeAll(async () => {
    h = await scimHarness();
    // "Create at least one user in your SCIM server before running the Okta SCIM API test suite."
    // (scim-provisioning-integration-prepare/main/index.md, "Run Okta SPEC tests against your SCIM server")
    await h.scim.post("/Users", userBody("seed.user@example.com", { name: { givenName: "Seed", familyName: "User" } })).expect(201);
  });
  afterAll(async () => { await h.close(); });

  // Step 1: GET {{SCIMBaseURL}}/Users?count=1&startIndex=1
  it("R1 — Required Test: Test Users endpoint", async () => {
    const res = await runscope(h, "get", "/Users?count=1&startIndex=1");
    expectListResponse(res);
    notEmpty(res.body.Resources);
    const first = res.body.Resources[0];
    notEmpty(first?.id);
    notEmpty(first?.name?.familyName);
    notEmpty(first?.name?.givenName);
    notEmpty(first?.userName);
    notEmpty(first?.active);
    notEmpty(first?.emails?.[0]?.value);
    // RFC 7644 §3.4.2.4: count=1 returns at most one resource, and itemsPerPage says how many.
    expect(res.body.Resources).toHaveLength(1);
    expect(res.body.itemsPerPage).toBe(1);
    expect(res.body.startIndex).toBe(1);
    ISVUserid = first.id;
  });

  // Step 2: GET {{SCIMBaseURL}}/Users/{{ISVUserid}}
  it("R2 — Required Test: Get Users/{{id}}", async () => {
    const res = await runscope(h, "get", `/Users/${ISVUserid}`);
    expectStatus(res, 200);
    notEmpty(res.body.id);
    notEmpty(res.body.name?.familyName);
    notEmpty(res.body.name?.givenName);
    notEmpty(res.body.userName);
    notEmpty(res.body.active);
    notEmpty(res.body.emails?.[0]?.value);
    expect(res.body.id).toBe(ISVUserid);
    expect(res.body.schemas).toContain(CORE_USER);
  });

  // Step 3: GET {{SCIMBaseURL}}/Users?filter=userName eq "{{InvalidUserEmail}}"
  it("R3 — Required Test: Test invalid User by username", async () => {
    const res = await runscope(h, "get", `/Users?${filterQuery(`userName eq "${v("InvalidUserEmail")}"`)}`);
    expectListResponse(res, 0);
    expect(res.body.Resources).toEqual([]);
  });

  // Step 4: GET {{SCIMBaseURL}}/Users/{{UserIdThatDoesNotExist}}
  it("R4 — Required Test: Test invalid User by ID", async () => {
    const res = await runscope(h, "get", `/Users/${v("UserIdThatDoesNotExist")}`);
    expectStatus(res, 404);
    notEmpty(res.body.detail);
    expect(res.body.schemas).toContain(ERROR_SCHEMA);
    expectScimError(res, 404); // RFC 7644 §3.12: the whole error body, status as a string
  });

  // Step 5: GET {{SCIMBaseURL}}/Users?filter=userName eq "{{randomEmail}}"
  it("R5 — Required Test: Make sure random user doesn't exist", async () => {
    const res = await runscope(h, "get", `/Users?${filterQuery(`userName eq "${v("randomEmail")}"`)}`);
    expectListResponse(res, 0);
  });

  // Step 6: POST {{SCIMBaseURL}}/Users (Content-Type: application/json) — fixtures/okta-spec-test.json
  it("R6 — Required Test: Create Okta user with realistic values", async () => {
    const res = await runscopePost(h, "/Users", fixture("okta-spec-test.json", "Required Test: Create Okta user with realistic values", SPEC_VARS));
    expectStatus(res, 201);
    expect(res.body.active).toBe(true);
    notEmpty(res.body.id);
    expect(res.body.name?.familyName).toBe(v("randomFamilyName"));
    expect(res.body.name?.givenName).toBe(v("randomGivenName"));
    expect(res.body.schemas).toContain(CORE_USER);
    expect(res.body.userName).toBe(v("randomUsername"));
    // RFC 7644 §3.3: 201 carries the resource's URI in Location.
    expect(res.headers.location).toBe(res.body.meta?.location);
    idUserOne = res.body.id;
  });

  // Step 7: GET {{SCIMBaseURL}}/Users/{{idUserOne}}
  it("R7 — Required Test: Verify that user was created", async () => {
    const res = await runscope(h, "get", `/Users/${idUserOne}`);
    expectStatus(res, 200);
    expect(res.body.userName).toBe(v("randomUsername"));
    expect(res.body.name?.familyName).toBe(v("randomFamilyName"));
    expect(res.body.name?.givenName).toBe(v("randomGivenName"));
  });

  // Step 8: POST {{SCIMBaseURL}}/Users with the same userName (emails[0].value is {{randomUsername}} here).
  it("R8 — Required Test: Expect failure when recreating user with same values", async () => {
    const res = await runscopePost(h, "/Users", fixture("okta-spec-test.json", "Required Test: Expect failure when recreating user with same values", SPEC_VARS));
    expectStatus(res, 409);
    expectScimError(res, 409, "uniqueness"); // RFC 7644 §3.3 / §3.12: scimType "uniqueness"
  });

  // Step 9: GET {{SCIMBaseURL}}/Users?filter=userName eq "{{randomUsernameCaps}}"
  it("R9 — Required Test: Username Case Sensitivity Check", async () => {
    const res = await runscope(h, "get", `/Users?${filterQuery(`userName eq "${v("randomUsernameCaps")}"`)}`);
    expectStatus(res, 200);
    // Okta asserts only the 200. RFC 7643 §4.1.1: userName is caseExact false, so the upper-cased
    // filter finds the user created in R6.
    expectListResponse(res, 1);
    expect(res.body.Resources[0].id).toBe(idUserOne);
  });

  // Step 10: GET {{SCIMBaseURL}}/Groups, plus its script: totalResults 0, or Resources is an array.
  it("R10 — Optional Test: Verify Groups endpoint", async () => {
    const res = await runscope(h, "get", "/Groups");
    expectStatus(res, 200);
    const { totalResults, Resources } = res.body as { totalResults: number; Resources: unknown };
    expect(totalResults === 0 || (totalResults >= 1 && Array.isArray(Resources))).toBe(true);
    expectListResponse(res, 0); // RFC 7644 §3.4.2: always a ListResponse, Resources [] when empty
  });

  // Step 11: GET {{SCIMBaseURL}}/Users?filter=userName eq "{{randomUsernameCaps}}" with Authorization: non-token
  it("R11 — Required Test: Check status 401", async () => {
    const res = await runscope(h, "get", `/Users?${filterQuery(`userName eq "${v("randomUsernameCaps")}"`)}`, "non-token");
    expectStatus(res, 401);
    notEmpty(res.body.detail);
    expect(res.body.status).toBe("401");
    expect(res.body.schemas).toContain(ERROR_SCHEMA);
    expectScimError(res, 401);
  });

  // Step 12: GET {{SCIMBaseURL}}/Users/00919288221112222
  it("R12 — Required Test: Check status 404", async () => {
    const res = await runscope(h, "get", "/Users/00919288221112222");
    expectStatus(res, 404);
    notEmpty(res.body.detail);
    expect(res.body.status).toBe("404");
    expect(res.body.schemas).toContain(ERROR_SCHEMA);
    expectScimError(res, 404);
  });
});

describe("Okta SCIM 2.0 SPEC Test, 2016 export (Okta-SCIM-20-SPEC-Test.json, export 1478558704): steps the current export dropped", () => {
  let h: ScimHarness;
  beforeAll(async () => { h = await scimHarness(); });
  afterAll(async () => { await h.close(); });

  it("O1 — Optional Test: Test ServiceProviderConfig endpoint", async () => {
    const res = await runscope(h, "get", "/ServiceProviderConfig");
    expectStatus(res, 200);
    expect(res.body.schemas).toContain(SPC_SCHEMA);
    for (const key of ["patch", "bulk", "filter", "changePassword", "sort", "etag", "authenticationSchemes"]) notEmpty(res.body[key]);
    notEmpty(res.body.authenticationSchemes[0]?.type);
    notEmpty(res.body.authenticationSchemes[0]?.description);
    // `not_empty` on a boolean: present and boolean (false is a value, RFC 7643 §5).
    for (const key of ["etag", "sort", "changePassword", "filter", "bulk", "patch"]) expect(typeof res.body[key].supported).toBe("boolean");
    expect(typeof res.body.filter.maxResults).toBe("number");
    expect(typeof res.body.bulk.maxOperations).toBe("number");
    expect(typeof res.body.bulk.maxPayloadSize).toBe("number");
  });

  // Body "test\r\n\r\n", Content-Type application/scim+json; charset=utf-8.
  it("O2 — Optional Test: Check if ServiceProviderConfig is read-only", async () => {
    const res = await runscope(h, "post", "/ServiceProviderConfig").set("Content-Type", "application/scim+json; charset=utf-8").send("test\r\n\r\n");
    expectStatus(res, 405);
  });

  it("O3 — Optional Test: Check ResourceTypes endpoint", async () => {
    const res = await runscope(h, "get", "/ResourceTypes");
    expectStatus(res, 200);
    notEmpty(res.body.Resources);
    expect(res.body.schemas).toContain(LIST_RESPONSE);
    notEmpty(res.body.Resources[0]?.name);
    notEmpty(res.body.Resources[0]?.endpoint);
    notEmpty(res.body.Resources[0]?.schema);
  });

  it("O4 — Optional Test: Check if ResourceTypes is read-only", async () => {
    const res = await runscope(h, "post", "/ResourceTypes").set("Content-Type", "application/scim+json; charset=utf-8").send("test");
    expectStatus(res, 405);
  });

  it("O5 — Optional Test: Check Schemas endpoint", async () => {
    const res = await runscope(h, "get", "/Schemas");
    expectStatus(res, 200);
    notEmpty(res.body.Resources);
    expect(res.body.schemas).toContain(LIST_RESPONSE);
    notEmpty(res.body.Resources[0]?.id);
    notEmpty(res.body.Resources[0]?.attributes);
  });

  it("O6 — Optional Test: Check if Schemas is read-only", async () => {
    const res = await runscope(h, "post", "/Schemas").set("Content-Type", "application/scim+json; charset=utf-8").send("test");
    expectStatus(res, 405);
  });

  // 2016 step "Required Test: Username Case Sensitivity Check": GET /Users?filter={{randomUsernameCaps}}
  // — a bare value, not a filter expression; that export expected 400 (RFC 7644 §3.4.2.2: invalidFilter).
  it("R9 (2016) — Required Test: Username Case Sensitivity Check sends a bare value as filter and expects 400", async () => {
    const res = await runscope(h, "get", `/Users?filter=${encodeURIComponent(v("randomUsernameCaps"))}`);
    expectStatus(res, 400);
    expectScimError(res, 400, "invalidFilter");
  });
});

describe("Okta SCIM 2.0 CRUD Test (Okta-SCIM-20-CRUD-Test.json) with the requests Okta sends (Okta and SCIM Version 2.0)", () => {
  let h: ScimHarness;
  let scimId: string;
  const userName = "test.user@okta.local";
  beforeAll(async () => { h = await scimHarness(); });
  afterAll(async () => { await h.close(); });

  // Okta: "Determine if the User already exists" — the exact query string of the reference.
  it("C1a — Assign user to SCIM App: GET /Users?filter=userName eq \"…\"&startIndex=1&count=100 finds nobody", async () => {
    const res = await h.scim.get("/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100");
    expectListResponse(res, 0);
    expect(res.body).toEqual(expect.objectContaining({ totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] }));
  });

  // Okta: "Create the User" — POST with password, locale, externalId and groups: [].
  it("C1b — Assign user to SCIM App: POST /Users with password answers 201 with the user and never the password", async () => {
    const res = await h.scim.post("/Users", fixture("okta-scim20-reference.json", "Create the User"));
    expectStatus(res, 201);
    expect(res.body).toEqual(expect.objectContaining({
      schemas: expect.arrayContaining([CORE_USER]),
      id: expect.any(String),
      userName,
      name: { givenName: "Test", familyName: "User" },
      emails: [{ primary: true, value: userName, type: "work" }],
      displayName: "Test User",
      locale: "en-US",
      externalId: "00ujl29u0le5T6Aj10h7",
      active: true,
      meta: expect.objectContaining({ resourceType: "User" }),
    }));
    expect(res.body.password).toBeUndefined(); // RFC 7643 §4.1.1: password is returned "never"
    scimId = res.body.id;
  });

  // CRUD step "Verify if user is created in SCIM App": GET {{SCIMUrl}}/Users?filter=userName eq "{{okta_user_email}}"
  it("C1 — Verify if user is created in SCIM App", async () => {
    const res = await h.scim.get(`/Users?${filterQuery(`userName eq "${userName}"`)}`);
    expectStatus(res, 200);
    expect(res.body.Resources[0]?.userName).toBe(userName);
    expect(res.body.Resources[0]?.emails?.[0]?.value).toBe(userName);
    expect(res.body.Resources[0]?.name?.familyName).toBe("User");
    expect(res.body.Resources[0]?.name?.givenName).toBe("Test");
    expectListResponse(res, 1);
    expect(res.body.Resources[0].id).toBe(scimId);
  });

  // Okta: "Update a specific User (PUT)" — GET the user, then PUT the whole object back with the change.
  it("C2a — Update user firstname: GET then PUT /Users/{id} replaces the user and answers 200 with it", async () => {
    await h.scim.get(`/Users/${scimId}`).expect(200);
    const res = await h.scim.put(`/Users/${scimId}`, fixture("okta-scim20-reference.json", "Update the User", { userId: scimId }));
    expectStatus(res, 200);
    expect(res.body).toEqual(expect.objectContaining({
      id: scimId,
      userName,
      name: { givenName: "Another", middleName: "Excited", familyName: "User" },
      emails: [{ primary: true, value: userName, type: "work", display: userName }],
      active: true,
    }));
  });

  // CRUD step "Verify firstname update in SCIM App": GET {{SCIMUrl}}/Users/{{scim_id}}
  it("C2 — Verify firstname update in SCIM App", async () => {
    const res = await h.scim.get(`/Users/${scimId}`);
    expectStatus(res, 200);
    expect(res.body.name.givenName).toBe("Another");
  });

  // Okta: "Update a specific User (PATCH)" — deactivation, no path.
  it("C3a — Deactivate user in Okta: PATCH {\"op\":\"replace\",\"value\":{\"active\":false}} answers 200 with active false", async () => {
    const res = await h.scim.patch(`/Users/${scimId}`, fixture("okta-scim20-reference.json", "Update a specific User (PATCH): deactivate"));
    expectStatus(res, 200);
    expect(res.body).toEqual(expect.objectContaining({ id: scimId, userName, active: false }));
  });

  it("C3 — Verify if user is deactivated in SCIM App", async () => {
    const res = await h.scim.get(`/Users/${scimId}`);
    expectStatus(res, 200);
    expect(res.body.active).toBe(false);
  });

  // Okta sends activation as PATCH too; the reference shows only the deactivation body, this is its mirror.
  it("C4a — Reactivate user in Okta: PATCH {\"op\":\"replace\",\"value\":{\"active\":true}} answers 200 with active true", async () => {
    const res = await h.scim.patch(`/Users/${scimId}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: true } }] });
    expectStatus(res, 200);
    expect(res.body.active).toBe(true);
  });

  it("C4 — Verify if user is reactivated in SCIM App", async () => {
    const res = await h.scim.get(`/Users/${scimId}`);
    expectStatus(res, 200);
    expect(res.body.active).toBe(true);
  });

  // "Removes an assignment for a user in Okta": Okta never DELETEs; OIN apps get the deactivation PATCH,
  // apps made with the App Integration Wizard get a PUT of the whole user with active false.
  it("C5a — Removes an assignment for a user in Okta (AIW app): PUT /Users/{id} with active false answers 200", async () => {
    const body = { ...fixture("okta-scim20-reference.json", "Update the User", { userId: scimId }), active: false };
    const res = await h.scim.put(`/Users/${scimId}`, body);
    expectStatus(res, 200);
    expect(res.body.active).toBe(false);
  });

  it("C5 — Verify if user is deactivated in SCIM App", async () => {
    const res = await h.scim.get(`/Users/${scimId}`);
    expectStatus(res, 200);
    expect(res.body.active).toBe(false);
    // The deactivated user is still listed and still found by the filter Okta uses.
    const found = await h.scim.get("/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100");
    expectListResponse(found, 1);
    expect(found.body.Resources[0].active).toBe(false);
  });

  // "Retrieve Users": Okta imports page by page with count=100 and expects the same order every time.
  it("C6 — Retrieve Users: GET /Users?startIndex=1&count=100 pages in a stable order", async () => {
    for (const name of ["page.a@okta.local", "page.b@okta.local", "page.c@okta.local"]) await h.scim.post("/Users", userBody(name)).expect(201);
    const all = await h.scim.get("/Users?startIndex=1&count=100");
    expectListResponse(all, 4);
    const ids = (all.body.Resources as { id: string }[]).map((r) => r.id);
    const paged: string[] = [];
    for (let start = 1; start <= 4; start += 2) {
      const page = await h.scim.get(`/Users?startIndex=${start}&count=2`);
      expectListResponse(page, 4);
      expect(page.body.startIndex).toBe(start);
      paged.push(...(page.body.Resources as { id: string }[]).map((r) => r.id));
    }
    expect(paged).toEqual(ids);
  });
});

describe("Okta Group Push (Okta and SCIM Version 2.0, SCIM Group operations)", () => {
  let h: ScimHarness;
  let groupId: string;
  let userId: string;
  let otherUserId: string;
  beforeAll(async () => {
    h = await scimHarness();
    userId = (await h.scim.post("/Users", fixture("okta-scim20-reference.json", "Create the User")).expect(201)).body.id;
    otherUserId = (await h.scim.post("/Users", userBody("other.user@okta.local")).expect(201)).body.id;
  });
  afterAll(async () => { await h.close(); });

  it("G1 — Create Groups: POST /Groups with members [] answers 201 with the group", async () => {
    const res = await h.scim.post("/Groups", fixture("okta-scim20-reference.json", "Create Groups"));
    expectStatus(res, 201);
    expect(res.body).toEqual(expect.objectContaining({
      schemas: [CORE_GROUP],
      id: expect.any(String),
      displayName: "Test SCIMv2",
      meta: expect.objectContaining({ resourceType: "Group" }),
    }));
    expect(res.body.members ?? []).toEqual([]);
    groupId = res.body.id;
  });

  it("G2 — Retrieve Groups: GET /Groups?startIndex=1&count=100", async () => {
    const res = await h.scim.get("/Groups?startIndex=1&count=100");
    expectListResponse(res, 1);
    expect(res.body.Resources[0]).toEqual(expect.objectContaining({ id: groupId, displayName: "Test SCIMv2" }));
  });

  it("G3 — Retrieve specific Groups: GET /Groups/{id}", async () => {
    const res = await h.scim.get(`/Groups/${groupId}`);
    expectStatus(res, 200);
    expect(res.body).toEqual(expect.objectContaining({ schemas: [CORE_GROUP], id: groupId, displayName: "Test SCIMv2" }));
  });

  // No path; the value repeats the group's own id (readOnly, RFC 7643 §3.1: ignored, not an error).
  it("G4 — Update a specific Group name: PATCH no-path replace {id, displayName} answers 200 or 204", async () => {
    const res = await h.scim.patch(`/Groups/${groupId}`, fixture("okta-scim20-reference.json", "Update a specific Group name", { groupId }));
    expectStatus(res, 200, 204);
    if (res.status === 200) expect(res.body).toEqual(expect.objectContaining({ id: groupId, displayName: "Test SCIMv2" }));
    const read = await h.scim.get(`/Groups/${groupId}`).expect(200);
    expect(read.body.displayName).toBe("Test SCIMv2");
  });

  it("G5 — Update specific Group membership: PATCH remove members[value eq \"…\"] and add members in one request", async () => {
    // Precondition of the documented request: the user being removed was pushed before.
    expectStatus(await h.scim.patch(`/Groups/${groupId}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "add", path: "members", value: [{ value: otherUserId }] }] }), 200, 204);
    const res = await h.scim.patch(`/Groups/${groupId}`, fixture("okta-scim20-reference.json", "Update specific Group membership", { userId, otherUserId }));
    expectStatus(res, 200, 204);
    const read = await h.scim.get(`/Groups/${groupId}`).expect(200);
    expect((read.body.members as { value: string }[]).map((m) => m.value)).toEqual([userId]);
  });

  it("G6 — Update specific Group membership: PATCH replace members sets the whole membership", async () => {
    const res = await h.scim.patch(`/Groups/${groupId}`, fixture("okta-scim20-reference.json", "Update specific Group membership: replace", { userId, otherUserId }));
    expectStatus(res, 200, 204);
    const read = await h.scim.get(`/Groups/${groupId}`).expect(200);
    expect((read.body.members as { value: string }[]).map((m) => m.value).sort()).toEqual([userId, otherUserId].sort());
  });

  it("G7 — Delete a specific Group: DELETE /Groups/{id} answers 204, then the group is gone", async () => {
    const res = await h.scim.delete(`/Groups/${groupId}`);
    expectStatus(res, 204);
    expect(res.text).toBe("");
    expectScimError(await h.scim.get(`/Groups/${groupId}`), 404);
    // Deleting the group leaves its members in place.
    await h.scim.get(`/Users/${userId}`).expect(200);
  });
});
