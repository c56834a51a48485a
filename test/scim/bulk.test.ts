import { CORE_GROUP, CORE_USER, scimHarness, type ScimHarness } from "../support/scim-app.js";

const BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

describe("/Bulk (RFC 7644 §3.7)", () => {
  let h: ScimHarness;
  beforeAll(async () => { h = await scimHarness(); });
  afterAll(async () => { await h.close(); });

  it("resolves bulkId references between operations", async () => {
    const res = await h.scim
      .post("/Bulk", {
        schemas: [BULK_REQUEST],
        Operations: [
          { method: "POST", path: "/Users", bulkId: "u1", data: { schemas: [CORE_USER], userName: "bulk1@acme.test", active: "True" } },
          { method: "POST", path: "/Groups", bulkId: "g1", data: { schemas: [CORE_GROUP], displayName: "Bulk group", members: [{ value: "bulkId:u1" }] } },
        ],
      })
      .expect(200);
    const statuses = res.body.Operations.map((o: { status: string }) => o.status);
    expect(statuses).toEqual(["201", "201"]);
    const groupLocation: string = res.body.Operations[1].location;
    const group = await h.scim.get(groupLocation.replace("https://bridge.test/scim/v2", "")).expect(200);
    const user = await h.scim.get(res.body.Operations[0].location.replace("https://bridge.test/scim/v2", "")).expect(200);
    expect(user.body.active).toBe(true);
    expect(group.body.members.map((m: { value: string }) => m.value)).toEqual([user.body.id]);
  });

  it("stops after failOnErrors errors", async () => {
    const res = await h.scim
      .post("/Bulk", {
        schemas: [BULK_REQUEST],
        failOnErrors: 1,
        Operations: [
          { method: "POST", path: "/Users", bulkId: "a", data: { schemas: [CORE_USER], userName: "bulk1@acme.test" } },
          { method: "POST", path: "/Users", bulkId: "b", data: { schemas: [CORE_USER], userName: "bulk2@acme.test" } },
        ],
      })
      .expect(200);
    expect(res.body.Operations).toHaveLength(1);
    expect(res.body.Operations[0].status).toBe("409");
  });

  it("refuses more operations than maxOperations with 413", async () => {
    const Operations = Array.from({ length: 101 }, (_, i) => ({ method: "POST", path: "/Users", bulkId: `x${i}`, data: { schemas: [CORE_USER], userName: `many${i}@acme.test` } }));
    const res = await h.scim.post("/Bulk", { schemas: [BULK_REQUEST], Operations });
    expect(res.status).toBe(413);
  });
});
