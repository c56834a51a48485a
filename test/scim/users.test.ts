import { CORE_USER, ENTERPRISE_USER, expectScimError, patchBody, scimHarness, userBody, type ScimHarness } from "../support/scim-app.js";

describe("/Users", () => {
  let h: ScimHarness;
  beforeAll(async () => { h = await scimHarness(); });
  afterAll(async () => { await h.close(); });

  describe("POST", () => {
    it("creates a user and answers 201 with id, meta, Location and a weak ETag", async () => {
      const res = await h.scim.post("/Users", userBody("alice@acme.test", { externalId: "ext-alice" }));
      expect(res.status).toBe(201);
      expect(res.headers["content-type"]).toMatch(/application\/scim\+json/);
      expect(res.body).toEqual(expect.objectContaining({
        schemas: [CORE_USER],
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        userName: "alice@acme.test",
        externalId: "ext-alice",
        active: true,
        meta: expect.objectContaining({ resourceType: "User", version: 'W/"1"', location: `https://bridge.test/scim/v2/Users/${res.body.id}` }),
      }));
      expect(res.headers.location).toBe(res.body.meta.location);
      expect(res.headers.etag).toBe('W/"1"');
    });

    it("refuses a userName that differs only in case with 409 uniqueness (RFC 7643 §4.1)", async () => {
      await h.scim.post("/Users", userBody("bob@acme.test")).expect(201);
      expectScimError(await h.scim.post("/Users", userBody("BOB@acme.test")), 409, "uniqueness");
    });

    it("stores the enterprise extension and returns it with its schema", async () => {
      const res = await h.scim.post("/Users", {
        ...userBody("carol@acme.test"),
        schemas: [CORE_USER, ENTERPRISE_USER],
        [ENTERPRISE_USER]: { employeeNumber: "42", department: "Finance", manager: { value: "boss-1" } },
      });
      expect(res.status).toBe(201);
      expect(res.body.schemas).toEqual([CORE_USER, ENTERPRISE_USER]);
      const read = await h.scim.get(`/Users/${res.body.id}`).expect(200);
      expect(read.body[ENTERPRISE_USER]).toEqual({ employeeNumber: "42", department: "Finance", manager: { value: "boss-1" } });
    });

    it("never returns the password it was sent", async () => {
      const res = await h.scim.post("/Users", userBody("dave@acme.test", { password: "hunter2!" })).expect(201);
      expect(JSON.stringify(res.body)).not.toContain("hunter2");
      const read = await h.scim.get(`/Users/${res.body.id}`).expect(200);
      expect(JSON.stringify(read.body)).not.toContain("hunter2");
    });

    it("refuses unknown attributes with 400 naming them, and stores nothing", async () => {
      expectScimError(await h.scim.post("/Users", userBody("erin@acme.test", { favouriteColour: "blue" })), 400, "invalidSyntax", /favouriteColour/);
      const list = await h.scim.get(`/Users?filter=${encodeURIComponent('userName eq "erin@acme.test"')}`).expect(200);
      expect(list.body.totalResults).toBe(0);
    });

    it("refuses a body without userName with 400", async () => {
      const res = await h.scim.post("/Users", { schemas: [CORE_USER], active: true });
      expectScimError(res, 400);
    });
  });

  describe("GET by id", () => {
    it("reads a deactivated user with active false (Okta and Entra both read users back)", async () => {
      const created = await h.scim.post("/Users", userBody("frank@acme.test")).expect(201);
      await h.scim.patch(`/Users/${created.body.id}`, patchBody({ op: "replace", path: "active", value: false })).expect(200);
      const read = await h.scim.get(`/Users/${created.body.id}`).expect(200);
      expect(read.body.active).toBe(false);
      expect(read.headers.etag).toBe('W/"2"');
    });

    it("answers 404 for an unknown id and for an id that is not a UUID", async () => {
      expectScimError(await h.scim.get("/Users/00000000-0000-4000-8000-000000000000"), 404);
      expectScimError(await h.scim.get("/Users/not-a-uuid"), 404);
    });

    it("honours attributes and excludedAttributes", async () => {
      const created = await h.scim.post("/Users", userBody("gina@acme.test")).expect(201);
      const only = await h.scim.get(`/Users/${created.body.id}?attributes=userName`).expect(200);
      expect(only.body.userName).toBe("gina@acme.test");
      expect(only.body.emails).toBeUndefined();
      const without = await h.scim.get(`/Users/${created.body.id}?excludedAttributes=emails`).expect(200);
      expect(without.body.emails).toBeUndefined();
      expect(without.body.name).toEqual({ givenName: "gina", familyName: "Test" });
    });
  });

  describe("PUT", () => {
    it("replaces the whole resource (attributes left out are removed)", async () => {
      const created = await h.scim.post("/Users", userBody("hank@acme.test", { title: "Engineer", nickName: "H" })).expect(201);
      const res = await h.scim.put(`/Users/${created.body.id}`, { schemas: [CORE_USER], userName: "hank@acme.test", active: false, title: "Manager" }).expect(200);
      expect(res.body).toEqual(expect.objectContaining({ userName: "hank@acme.test", active: false, title: "Manager" }));
      expect(res.body.nickName).toBeUndefined();
      expect(res.body.emails).toBeUndefined();
    });

    it("refuses to take another user's userName with 409", async () => {
      await h.scim.post("/Users", userBody("ivy@acme.test")).expect(201);
      const jack = await h.scim.post("/Users", userBody("jack@acme.test")).expect(201);
      expectScimError(await h.scim.put(`/Users/${jack.body.id}`, { schemas: [CORE_USER], userName: "Ivy@Acme.test" }), 409, "uniqueness");
    });

    it("leaves the version alone when the same PUT is sent again", async () => {
      const created = await h.scim.post("/Users", userBody("kim@acme.test")).expect(201);
      const body = { schemas: [CORE_USER], userName: "kim@acme.test", active: true, displayName: "Kim" };
      const first = await h.scim.put(`/Users/${created.body.id}`, body).expect(200);
      const second = await h.scim.put(`/Users/${created.body.id}`, body).expect(200);
      expect(first.body.meta.version).toBe('W/"2"');
      expect(second.body.meta.version).toBe('W/"2"');
    });
  });

  describe("PATCH paths as RFC 7643 §2.1 and RFC 7644 §3.10 allow them", () => {
    it("accepts attribute names in any case and the core schema's URN, and stores them in the schema's spelling", async () => {
      const { body: user } = await h.scim.post("/Users", userBody("dora@acme.test")).expect(201);
      const res = await h.scim
        .patch(`/Users/${user.id}`, patchBody(
          { op: "Replace", path: "DisplayName", value: "Dora D" },
          { op: "add", path: "urn:ietf:params:scim:schemas:core:2.0:User:Title", value: "Engineer" },
          { op: "replace", path: "NAME.GIVENNAME", value: "Dora" },
          { op: "add", path: `${ENTERPRISE_USER}:Department`, value: "Finance" },
        ))
        .expect(200);
      expect(res.body).toEqual(expect.objectContaining({ displayName: "Dora D", title: "Engineer", name: expect.objectContaining({ givenName: "Dora" }), [ENTERPRISE_USER]: { department: "Finance" } }));
      const read = await h.scim.get(`/Users/${user.id}`).expect(200);
      expect(Object.keys(read.body)).not.toEqual(expect.arrayContaining(["DisplayName", "Title"]));
      expect(read.body).toEqual(expect.objectContaining({ displayName: "Dora D", title: "Engineer" }));
    });

    it("refuses a read-only attribute in any case, and changes nothing", async () => {
      const { body: user } = await h.scim.post("/Users", userBody("ed@acme.test")).expect(201);
      expectScimError(await h.scim.patch(`/Users/${user.id}`, patchBody({ op: "replace", path: "ID", value: "other" })), 400);
      expect((await h.scim.get(`/Users/${user.id}`).expect(200)).body.meta.version).toBe('W/"1"');
    });
  });

  describe("ETags (RFC 7644 §3.14)", () => {
    it("applies a write whose If-Match is current and refuses a stale one with 412", async () => {
      const created = await h.scim.post("/Users", userBody("liam@acme.test")).expect(201);
      const ok = await h.scim.patch(`/Users/${created.body.id}`, patchBody({ op: "replace", path: "displayName", value: "Liam" })).set("If-Match", 'W/"1"');
      expect(ok.status).toBe(200);
      const stale = await h.scim.patch(`/Users/${created.body.id}`, patchBody({ op: "replace", path: "displayName", value: "L" })).set("If-Match", 'W/"1"');
      expectScimError(stale, 412);
      expectScimError(await h.scim.delete(`/Users/${created.body.id}`).set("If-Match", 'W/"1"'), 412);
      const read = await h.scim.get(`/Users/${created.body.id}`).expect(200);
      expect(read.body.displayName).toBe("Liam");
    });
  });

  describe("DELETE", () => {
    it("deletes the user, answers 204, and the user is gone from reads and lists", async () => {
      const created = await h.scim.post("/Users", userBody("mia@acme.test")).expect(201);
      await h.scim.delete(`/Users/${created.body.id}`).expect(204);
      expectScimError(await h.scim.get(`/Users/${created.body.id}`), 404);
      expectScimError(await h.scim.delete(`/Users/${created.body.id}`), 404);
      const list = await h.scim.get(`/Users?filter=${encodeURIComponent('userName eq "mia@acme.test"')}`).expect(200);
      expect(list.body.totalResults).toBe(0);
    });
  });
});
