import { CORE_GROUP, expectScimError, patchBody, scimHarness, userBody, type ScimHarness } from "../support/scim-app.js";

describe("/Groups", () => {
  let h: ScimHarness;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    h = await scimHarness();
    for (const name of ["ann", "ben", "cat", "dan"]) ids[name] = (await h.scim.post("/Users", userBody(`${name}@acme.test`)).expect(201)).body.id;
  });
  afterAll(async () => { await h.close(); });

  const members = (...names: string[]) => names.map((n) => ({ value: ids[n] }));
  const memberIds = (body: { members?: { value: string }[] }) => (body.members ?? []).map((m) => m.value).sort();

  it("creates a group with members and answers 201", async () => {
    const res = await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Engineering", members: members("ann", "ben") });
    expect(res.status).toBe(201);
    expect(res.body).toEqual(expect.objectContaining({ schemas: [CORE_GROUP], displayName: "Engineering", meta: expect.objectContaining({ resourceType: "Group", version: 'W/"1"' }) }));
    expect(memberIds(res.body)).toEqual([ids.ann, ids.ben].sort());
  });

  it("refuses members that name nothing in this connection with 400", async () => {
    expectScimError(await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Ghosts", members: [{ value: "00000000-0000-4000-8000-000000000001" }] }), 400, "invalidValue", /name no User or Group/);
  });

  it("removes only the listed members for Entra's remove-by-value", async () => {
    const group = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Sales", members: members("ann", "ben", "cat") }).expect(201)).body;
    await h.scim.patch(`/Groups/${group.id}`, patchBody({ op: "Remove", path: "members", value: [{ value: ids.ben }] })).expect(204);
    const res = await h.scim.get(`/Groups/${group.id}`).expect(200);
    expect(memberIds(res.body)).toEqual([ids.ann, ids.cat].sort());
    const change = h.changes.filter((c) => c.type === "group.updated" && c.groupId === group.id).at(-1);
    expect(change).toEqual(expect.objectContaining({ membersAdded: [], membersRemoved: [{ value: ids.ben, type: "User" }] }));
  });

  it("removes a member by value filter (Okta) and adds members (Entra)", async () => {
    const group = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Support", members: members("ann") }).expect(201)).body;
    await h.scim.patch(`/Groups/${group.id}`, patchBody({ op: "Add", path: "members", value: members("cat", "dan") })).expect(204);
    await h.scim.patch(`/Groups/${group.id}`, patchBody({ op: "remove", path: `members[value eq "${ids.ann}"]` })).expect(204);
    const res = await h.scim.get(`/Groups/${group.id}`).expect(200);
    expect(memberIds(res.body)).toEqual([ids.cat, ids.dan].sort());
  });

  it("treats re-adding a present member as nothing new", async () => {
    const group = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Ops", members: members("ann") }).expect(201)).body;
    const before = h.changes.length;
    await h.scim.patch(`/Groups/${group.id}`, patchBody({ op: "add", path: "members", value: members("ann") })).expect(204);
    const res = await h.scim.get(`/Groups/${group.id}`).expect(200);
    expect(memberIds(res.body)).toEqual([ids.ann]);
    expect(h.changes.length).toBe(before);
  });

  it("omits members when excludedAttributes=members (Entra)", async () => {
    const group = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Quiet", members: members("ann") }).expect(201)).body;
    const read = await h.scim.get(`/Groups/${group.id}?excludedAttributes=members`).expect(200);
    expect(read.body.members).toBeUndefined();
    expect(read.body.displayName).toBe("Quiet");
  });

  it("replaces displayName with Entra's no-path replace that carries the id", async () => {
    const group = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Old name" }).expect(201)).body;
    await h.scim.patch(`/Groups/${group.id}`, patchBody({ op: "Replace", value: { id: group.id, displayName: "New name" } })).expect(204);
    expect((await h.scim.get(`/Groups/${group.id}`).expect(200)).body.displayName).toBe("New name");
  });

  it("answers a group PATCH with the group when attributes are asked for", async () => {
    const group = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Asked" }).expect(201)).body;
    const res = await h.scim.patch(`/Groups/${group.id}?attributes=displayName`, patchBody({ op: "replace", path: "displayName", value: "Answered" })).expect(200);
    expect(res.body).toEqual({ schemas: [CORE_GROUP], id: group.id, displayName: "Answered" });
  });

  it("lists the user's groups on the user (read-only groups attribute)", async () => {
    const group = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Readers", members: members("dan") }).expect(201)).body;
    const user = await h.scim.get(`/Users/${ids.dan}`).expect(200);
    expect(user.body.groups).toEqual(expect.arrayContaining([expect.objectContaining({ value: group.id, display: "Readers" })]));
  });

  it("removes a deleted user from every group and records it", async () => {
    const eve = (await h.scim.post("/Users", userBody("eve@acme.test")).expect(201)).body.id as string;
    const group = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Leavers", members: [{ value: eve }, { value: ids.ann }] }).expect(201)).body;
    await h.scim.delete(`/Users/${eve}`).expect(204);
    const read = await h.scim.get(`/Groups/${group.id}`).expect(200);
    expect(memberIds(read.body)).toEqual([ids.ann]);
    expect(h.changes.at(-1)).toEqual(expect.objectContaining({ type: "user.deleted", userId: eve, removedFromGroups: [group.id] }));
  });

  it("deletes a group and records the members it had", async () => {
    const group = (await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Temp", members: members("ben") }).expect(201)).body;
    await h.scim.delete(`/Groups/${group.id}`).expect(204);
    expectScimError(await h.scim.get(`/Groups/${group.id}`), 404);
    expect(h.changes.at(-1)).toEqual({ type: "group.deleted", connectionId: h.connectionId, groupId: group.id, displayName: "Temp", membersRemoved: [{ value: ids.ben, type: "User" }] });
  });
});
