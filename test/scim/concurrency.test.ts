import { CORE_GROUP, patchBody, scimHarness, userBody, type ScimHarness } from "../support/scim-app.js";

describe("concurrent PATCHes to one resource lose nothing", () => {
  let h: ScimHarness;
  beforeAll(async () => { h = await scimHarness(); });
  afterAll(async () => { await h.close(); });

  it("keeps every member when 12 PATCHes add members to one group at once", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await h.scim.post("/Users", userBody(`member${i}@acme.test`)).expect(201)).body.id);
    const group = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Contended" }).expect(201)).body;
    const statuses = await Promise.all(ids.map((id) => h.scim.patch(`/Groups/${group.id}`, patchBody({ op: "add", path: "members", value: [{ value: id }] })).then((r) => r.status)));
    expect(statuses.every((s) => s === 204)).toBe(true);
    const read = await h.scim.get(`/Groups/${group.id}`).expect(200);
    expect((read.body.members as { value: string }[]).map((m) => m.value).sort()).toEqual([...ids].sort());
  });

  it("applies every one of 12 concurrent attribute PATCHes to one user exactly once", async () => {
    const id = (await h.scim.post("/Users", userBody("busy@acme.test")).expect(201)).body.id;
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => h.scim.patch(`/Users/${id}`, patchBody({ op: "add", path: "emails", value: [{ value: `alias${i}@acme.test`, type: "other" }] })).then((r) => r.status)),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    const read = await h.scim.get(`/Users/${id}`).expect(200);
    expect(read.body.emails).toHaveLength(13);
    expect(read.body.meta.version).toBe('W/"13"');
  });
});
