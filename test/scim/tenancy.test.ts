import { expectScimError, scimHarness, userBody, type ScimHarness } from "../support/scim-app.js";

describe("tenancy: a connection sees only its own resources", () => {
  let h: ScimHarness;
  beforeAll(async () => { h = await scimHarness(); });
  afterAll(async () => { await h.close(); });

  it("lets two connections hold the same userName", async () => {
    const other = await h.other();
    await h.scim.post("/Users", userBody("same@corp.test")).expect(201);
    await other.post("/Users", userBody("same@corp.test")).expect(201);
  });

  it("hides one connection's users from another's reads, lists, writes and deletes", async () => {
    const other = await h.other();
    const mine = (await h.scim.post("/Users", userBody("private@corp.test")).expect(201)).body.id;
    expectScimError(await other.get(`/Users/${mine}`), 404);
    expectScimError(await other.patch(`/Users/${mine}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] }), 404);
    expectScimError(await other.delete(`/Users/${mine}`), 404);
    const list = await other.get(`/Users?filter=${encodeURIComponent('userName eq "private@corp.test"')}`).expect(200);
    expect(list.body.totalResults).toBe(0);
    const still = await h.scim.get(`/Users/${mine}`).expect(200);
    expect(still.body.active).toBe(true);
  });

  it("refuses another connection's user as a group member", async () => {
    const other = await h.other();
    const theirs = (await other.post("/Users", userBody("theirs@corp.test")).expect(201)).body.id;
    expectScimError(await h.scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Mixed", members: [{ value: theirs }] }), 400, "invalidValue");
  });
});
