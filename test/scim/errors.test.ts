import request from "supertest";
import { silentLogger } from "../../src/log.js";
import { expectScimError, patchBody, scimHarness, userBody, type ScimHarness } from "../support/scim-app.js";
import type { Db } from "../../src/storage/db.js";

describe("errors: RFC 7644 §3.12 bodies, never a 5xx for client input", () => {
  let h: ScimHarness;
  let userId: string;
  beforeAll(async () => {
    h = await scimHarness({ maxBodyBytes: 64 * 1024 });
    userId = (await h.scim.post("/Users", userBody("err@acme.test")).expect(201)).body.id;
  });
  afterAll(async () => { await h.close(); });

  it("answers 401 with a SCIM body for a missing or wrong token", async () => {
    expectScimError(await request(h.app).get("/scim/v2/Users"), 401, undefined, "missing Authorization header");
    expectScimError(await request(h.app).get("/scim/v2/Users").set("Authorization", "Bearer scb_wrong"), 401, undefined, "invalid bearer token");
  });

  it("answers 400 invalidSyntax for malformed JSON", async () => {
    const res = await h.scim.post("/Users").set("Content-Type", "application/scim+json").send('{"userName": ');
    expectScimError(res, 400, "invalidSyntax");
  });

  it("answers 413 for a body over the limit", async () => {
    const res = await h.scim.post("/Users", userBody("big@acme.test", { title: "x".repeat(70 * 1024) }));
    expectScimError(res, 413);
  });

  it.each([
    ["a wrong type", { op: "replace", path: "active", value: "sometimes" }, "invalidValue"],
    ["an unknown path", { op: "replace", path: "shoeSize", value: 9 }, "invalidPath"],
    ["an unknown op", { op: "frobnicate", path: "active", value: false }, "invalidSyntax"],
    ["a remove without path", { op: "remove" }, "noTarget"],
  ])("answers 400 for a PATCH with %s", async (_name, operation, scimType) => {
    expectScimError(await h.scim.patch(`/Users/${userId}`, patchBody(operation)), 400, scimType);
  });

  it.each([
    ["not an object", [1, 2]],
    ["no Operations", { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"] }],
    ["the wrong schema", { schemas: ["urn:x"], Operations: [{ op: "replace", path: "active", value: false }] }],
  ])("answers 400 for a PATCH body with %s", async (_name, body) => {
    const res = await h.scim.patch(`/Users/${userId}`, body);
    expect(res.status).toBe(400);
    expectScimError(res, 400);
  });

  it.each(["userName eq", '"unterminated', "userName xx \"a\"", "((userName eq \"a\")", 'emails[type eq "work"', 'userName eq "x\\" y"'])(
    "answers 400 invalidFilter for the filter %s",
    async (filter) => {
      expectScimError(await h.scim.get(`/Users?filter=${encodeURIComponent(filter)}`), 400, "invalidFilter");
    },
  );

  it("keeps the user unchanged after refused writes", async () => {
    const read = await h.scim.get(`/Users/${userId}`).expect(200);
    expect(read.body.active).toBe(true);
    expect(read.body.meta.version).toBe('W/"1"');
  });

  it("answers 404 with a SCIM body for an unknown endpoint", async () => {
    expectScimError(await h.scim.get("/Widgets"), 404);
  });

  it("answers 503, not SCIMMY's 404, when the database fails, and shows no SQL or stack", async () => {
    const broken = await scimHarness({ log: silentLogger() });
    const id = (await broken.scim.post("/Users", userBody("down@acme.test")).expect(201)).body.id;
    const real = broken.db.query.bind(broken.db);
    const failing = (text: string, values?: readonly unknown[]) =>
      /scim_users/.test(text) ? Promise.reject(Object.assign(new Error("connection terminated unexpectedly"), { code: "57P01" })) : real(text, values);
    (broken.db as { query: Db["query"] }).query = failing as Db["query"];
    try {
      expectScimError(await broken.scim.get(`/Users/${id}`), 503);
      expectScimError(await broken.scim.patch(`/Users/${id}`, patchBody({ op: "replace", path: "active", value: false })), 503);
      expectScimError(await broken.scim.get("/Users?filter=" + encodeURIComponent('userName eq "down@acme.test"')), 503);
    } finally {
      (broken.db as { query: Db["query"] }).query = real;
      await broken.close();
    }
  });
});
