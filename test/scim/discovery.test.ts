import request from "supertest";
import { scimHarness, type ScimHarness } from "../support/scim-app.js";

describe("discovery endpoints tell the truth (RFC 7644 §4)", () => {
  let h: ScimHarness;
  beforeAll(async () => { h = await scimHarness(); });
  afterAll(async () => { await h.close(); });

  it("announces patch, bulk, filter, sort and etag as supported, changePassword not", async () => {
    const res = await h.scim.get("/ServiceProviderConfig").expect(200);
    expect(res.body).toEqual(expect.objectContaining({
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 100, maxPayloadSize: 1024 * 1024 },
      filter: { supported: true, maxResults: 1000 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
    }));
    expect(res.body.authenticationSchemes.map((s: { type: string }) => s.type)).toEqual(["oauthbearertoken", "httpbasic"]);
  });

  it("lists the User and Group resource types, the User with the enterprise extension", async () => {
    const res = await h.scim.get("/ResourceTypes").expect(200);
    const byName = Object.fromEntries(res.body.Resources.map((r: { name: string }) => [r.name, r]));
    expect(Object.keys(byName).sort()).toEqual(["Group", "User"]);
    expect(byName.User.schemaExtensions).toEqual([{ schema: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", required: false }]);
  });

  it("serves the schemas", async () => {
    const res = await h.scim.get("/Schemas").expect(200);
    expect(res.body.Resources.map((s: { id: string }) => s.id).sort()).toEqual([
      "urn:ietf:params:scim:schemas:core:2.0:Group",
      "urn:ietf:params:scim:schemas:core:2.0:User",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ]);
  });

  it("requires authentication for discovery too", async () => {
    expect((await request(h.app).get("/scim/v2/ServiceProviderConfig")).status).toBe(401);
  });
});
