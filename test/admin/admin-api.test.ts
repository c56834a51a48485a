import request from "supertest";
import { createAdminToken } from "../../src/storage/admin-tokens-repo.js";
import { scimHarness, type ScimHarness } from "../support/scim-app.js";

describe("/admin/api: connections and credentials, by role", () => {
  let h: ScimHarness;
  let viewer: string;
  let operator: string;
  const as = (token: string) => ({
    get: (path: string) => request(h.app).get(`/admin/api${path}`).set("Authorization", `Bearer ${token}`),
    post: (path: string, body: unknown = {}) => request(h.app).post(`/admin/api${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
    delete: (path: string) => request(h.app).delete(`/admin/api${path}`).set("Authorization", `Bearer ${token}`),
  });
  beforeAll(async () => {
    h = await scimHarness();
    viewer = (await createAdminToken(h.db, { name: "support", role: "viewer" })).token;
    operator = (await createAdminToken(h.db, { name: "ops", role: "operator" })).token;
  });
  afterAll(async () => { await h.close(); });

  it("refuses requests without a valid admin token with 401 and a hint", async () => {
    const missing = await request(h.app).get("/admin/api/connections");
    expect(missing.status).toBe(401);
    expect(missing.body.error).toEqual(expect.objectContaining({ message: "missing admin token", hint: expect.any(String) }));
    expect((await as("scba_nope").get("/connections")).status).toBe(401);
    expect((await as(h.token).get("/connections")).status).toBe(401); // a SCIM token is no admin token
  });

  it("lets viewers and operators list connections but only admins create them", async () => {
    expect((await as(viewer).get("/connections")).status).toBe(200);
    expect((await as(operator).get("/connections")).status).toBe(200);
    const refused = await as(viewer).post("/connections", { name: "nope" });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe("role viewer may not do this");
    expect((await as(operator).post("/connections", { name: "nope" })).status).toBe(403);
  });

  it("creates a connection whose token works at once on /scim/v2, and refuses a duplicate name", async () => {
    const created = await as(h.adminToken).post("/connections", { name: "entra-prod" }).expect(201);
    expect(created.body).toEqual(expect.objectContaining({ name: "entra-prod", scimUrl: "https://bridge.test/scim/v2", token: expect.stringMatching(/^scb_/) }));
    await request(h.app).get("/scim/v2/Users").set("Authorization", `Bearer ${created.body.token}`).expect(200);
    expect((await as(h.adminToken).post("/connections", { name: "entra-prod" })).status).toBe(409);
    expect((await as(h.adminToken).post("/connections", { name: "Bad Name!" })).status).toBe(400);
  });

  it("rotates and revokes tokens with immediate effect, and never lists secrets", async () => {
    const first = (await as(h.adminToken).post("/connections", { name: "rotating" }).expect(201)).body.token as string;
    await request(h.app).get("/scim/v2/Users").set("Authorization", `Bearer ${first}`).expect(200);
    const rotated = await as(h.adminToken).post("/connections/rotating/tokens", { revokeOthers: true }).expect(201);
    expect((await request(h.app).get("/scim/v2/Users").set("Authorization", `Bearer ${first}`)).status).toBe(401);
    await request(h.app).get("/scim/v2/Users").set("Authorization", `Bearer ${rotated.body.token}`).expect(200);
    const listed = await as(h.adminToken).get("/connections/rotating/credentials").expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(rotated.body.token);
    await as(h.adminToken).delete(`/connections/rotating/credentials/${rotated.body.id}`).expect(204);
    expect((await request(h.app).get("/scim/v2/Users").set("Authorization", `Bearer ${rotated.body.token}`)).status).toBe(401);
    expect((await as(h.adminToken).delete(`/connections/rotating/credentials/${rotated.body.id}`)).status).toBe(404);
  });

  it("issues HTTP Basic credentials that authenticate SCIM requests", async () => {
    const made = await as(h.adminToken).post("/connections/acme/basic", {}).expect(201);
    const basic = "Basic " + Buffer.from(`${made.body.username}:${made.body.password}`).toString("base64");
    await request(h.app).get("/scim/v2/Users").set("Authorization", basic).expect(200);
  });

  it("refuses a JWT credential with an HMAC algorithm, saying why", async () => {
    const res = await as(h.adminToken).post("/connections/acme/jwt", { issuer: "https://idp.test", audience: "bridge", jwksUrl: "https://idp.test/jwks", algorithms: ["HS256"] });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/HMAC/);
  });

  it("answers 404 with a hint for an unknown connection", async () => {
    const res = await as(h.adminToken).get("/connections/nowhere");
    expect(res.status).toBe(404);
    expect(res.body.error.hint).toMatch(/connection list/);
  });
});
