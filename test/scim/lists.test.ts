import { CORE_GROUP, expectScimError, scimHarness, userBody, type ScimHarness } from "../support/scim-app.js";

const q = (filter: string) => encodeURIComponent(filter);

describe("listing, filtering, sorting and paging", () => {
  let h: ScimHarness;
  const ids: string[] = [];
  beforeAll(async () => {
    h = await scimHarness();
    for (let i = 1; i <= 100; i++) {
      const n = String(i).padStart(3, "0");
      const res = await h.scim.post("/Users", userBody(`user${n}@list.test`, { externalId: `ext-${n}`, displayName: `User ${n}`, active: i % 10 !== 0 })).expect(201);
      ids.push(res.body.id);
    }
  });
  afterAll(async () => { await h.close(); });

  it("pages correctly when startIndex > 1 and count ≥ startIndex (scimmy-facts.md §3)", async () => {
    const res = await h.scim.get("/Users?startIndex=21&count=30&sortBy=userName").expect(200);
    expect(res.body).toEqual(expect.objectContaining({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 100, startIndex: 21, itemsPerPage: 30 }));
    expect(res.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(Array.from({ length: 30 }, (_, i) => `user${String(21 + i).padStart(3, "0")}@list.test`));
  });

  it("returns the last partial page and the true total", async () => {
    const res = await h.scim.get("/Users?startIndex=91&count=20&sortBy=userName").expect(200);
    expect(res.body.totalResults).toBe(100);
    expect(res.body.Resources).toHaveLength(10);
    expect(res.body.Resources[0].userName).toBe("user091@list.test");
  });

  it("answers count=0 with the total and no resources", async () => {
    const res = await h.scim.get("/Users?count=0").expect(200);
    expect(res.body.totalResults).toBe(100);
    expect(res.body.Resources).toEqual([]);
  });

  it("treats startIndex < 1 as 1 and refuses a non-numeric count", async () => {
    const res = await h.scim.get("/Users?startIndex=0&count=2&sortBy=userName").expect(200);
    expect(res.body.startIndex).toBe(1);
    expect(res.body.Resources[0].userName).toBe("user001@list.test");
    expectScimError(await h.scim.get("/Users?count=lots"), 400, "invalidValue");
  });

  it("filters with Okta's exact query: userName eq, startIndex=1, count=100", async () => {
    const res = await h.scim.get(`/Users?filter=${q('userName eq "USER007@list.test"')}&startIndex=1&count=100`).expect(200);
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0].id).toBe(ids[6]);
  });

  it("finds deactivated users by filter (both IdPs rely on it)", async () => {
    const res = await h.scim.get(`/Users?filter=${q("active eq false")}&count=100`).expect(200);
    expect(res.body.totalResults).toBe(10);
    expect(res.body.Resources.every((u: { active: boolean }) => u.active === false)).toBe(true);
  });

  it("combines and/or/not with grouping and value paths", async () => {
    const filter = '(externalId eq "ext-001" or externalId eq "ext-002") and emails[type eq "work" and value co "@list.test"] and not (active eq false)';
    const res = await h.scim.get(`/Users?filter=${q(filter)}&sortBy=userName`).expect(200);
    expect(res.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(["user001@list.test", "user002@list.test"]);
  });

  it("sorts descending", async () => {
    const res = await h.scim.get(`/Users?sortBy=userName&sortOrder=descending&count=3`).expect(200);
    expect(res.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(["user100@list.test", "user099@list.test", "user098@list.test"]);
  });

  it("returns only the attributes asked for, always with id", async () => {
    const res = await h.scim.get(`/Users?filter=${q('userName eq "user003@list.test"')}&attributes=userName`).expect(200);
    expect(Object.keys(res.body.Resources[0]).sort()).toEqual(["id", "schemas", "userName"].sort());
  });

  it("answers POST /.search like GET (RFC 7644 §3.4.3)", async () => {
    const res = await h.scim
      .post("/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: 'userName sw "user01"', startIndex: 1, count: 5, sortBy: "userName", attributes: ["userName"] })
      .expect(200);
    expect(res.body.totalResults).toBe(10);
    expect(res.body.Resources).toHaveLength(5);
    expect(res.body.Resources[0]).toEqual({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], id: expect.any(String), userName: "user010@list.test" });
  });

  it("refuses a bad filter with 400 invalidFilter", async () => {
    expectScimError(await h.scim.get(`/Users?filter=${q('userName eq')}`), 400, "invalidFilter");
    expectScimError(await h.scim.get(`/Users?filter=${q('nosuchattr eq "x"')}`), 400, "invalidFilter");
  });

  it("filters groups by displayName and by member, as IdPs do", async () => {
    const g = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Filterable", members: [{ value: ids[0] }] }).expect(201)).body;
    const byName = await h.scim.get(`/Groups?filter=${q('displayName eq "filterable"')}&excludedAttributes=members`).expect(200);
    expect(byName.body.totalResults).toBe(1);
    expect(byName.body.Resources[0].members).toBeUndefined();
    const byMember = await h.scim.get(`/Groups?filter=${q(`members.value eq "${ids[0]}"`)}`).expect(200);
    expect(byMember.body.Resources.map((x: { id: string }) => x.id)).toEqual([g.id]);
  });
});
