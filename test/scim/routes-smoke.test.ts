import request from "supertest";
import { CORE_GROUP, expectScimError, scimHarness, userBody, type ScimHarness } from "../support/scim-app.js";

const SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/** STYLE.md: scimmy-routers is tested on express 4; every route it serves is checked here on express 5. */
describe("every SCIM route answers on express 5", () => {
  let h: ScimHarness;
  beforeAll(async () => {
    h = await scimHarness();
    const u = (await h.scim.post("/Users", userBody("smoke@acme.test")).expect(201)).body.id;
    await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "smoke-group", members: [{ value: u }] }).expect(201);
  });
  afterAll(async () => { await h.close(); });

  it.each(["/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/User", "/Schemas", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"])("GET %s → 200", async (path) => {
    const res = await h.scim.get(path);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/application\/scim\+json/);
  });

  it("GET /Me → 501: a provisioning client is no SCIM user", async () => {
    expectScimError(await h.scim.get("/Me"), 501);
  });

  it("POST /.search at the root searches Users and Groups as one list", async () => {
    const all = await h.scim.post("/.search", { schemas: [SEARCH], count: 10 }).expect(200);
    expect(all.body.totalResults).toBe(2);
    expect(all.body.Resources.map((r: { meta: { resourceType: string } }) => r.meta.resourceType)).toEqual(["User", "Group"]);
    const byName = await h.scim.post("/.search", { schemas: [SEARCH], filter: 'displayName eq "smoke-group"' }).expect(200);
    expect(byName.body.Resources.map((r: { displayName: string }) => r.displayName)).toEqual(["smoke-group"]);
    const userOnly = await h.scim.post("/.search", { schemas: [SEARCH], filter: 'userName eq "smoke@acme.test"' }).expect(200);
    expect(userOnly.body.totalResults).toBe(1);
    expectScimError(await h.scim.post("/.search", { schemas: [SEARCH], filter: 'shoeSize eq "9"' }), 400, "invalidFilter");
    const paged = await h.scim.post("/.search", { schemas: [SEARCH], startIndex: 2, count: 1 }).expect(200);
    expect(paged.body).toEqual(expect.objectContaining({ totalResults: 2, startIndex: 2, itemsPerPage: 1 }));
    expect(paged.body.Resources[0].displayName).toBe("smoke-group");
  });

  it("answers 405 with Allow: GET for writes to discovery endpoints", async () => {
    const res = await request(h.app).post("/scim/v2/Schemas").set("Authorization", `Bearer ${h.token}`).send("test");
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe("GET");
  });
});
