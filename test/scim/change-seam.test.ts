import type { ChangeRecorder } from "../../src/scim/changes.js";
import { patchBody, scimHarness, userBody, CORE_USER, type ScimHarness } from "../support/scim-app.js";

describe("the change seam: every SCIM write reports what changed, inside its transaction", () => {
  let h: ScimHarness;
  beforeAll(async () => { h = await scimHarness(); });
  afterAll(async () => { await h.close(); });

  it("reports active true → false on a PATCH and on a PUT", async () => {
    const a = (await h.scim.post("/Users", userBody("pat@acme.test")).expect(201)).body.id;
    await h.scim.patch(`/Users/${a}`, patchBody({ op: "replace", path: "active", value: false })).expect(200);
    expect(h.changes.at(-1)).toEqual(expect.objectContaining({ type: "user.updated", userId: a, before: { active: true, userName: "pat@acme.test" }, after: { active: false, userName: "pat@acme.test" } }));
    const b = (await h.scim.post("/Users", userBody("put@acme.test")).expect(201)).body.id;
    await h.scim.put(`/Users/${b}`, { schemas: [CORE_USER], userName: "put@acme.test", active: false }).expect(200);
    expect(h.changes.at(-1)).toEqual(expect.objectContaining({ type: "user.updated", userId: b, before: expect.objectContaining({ active: true }), after: expect.objectContaining({ active: false }) }));
  });

  it("reports nothing when a PATCH changes nothing (an IdP re-sending the same request)", async () => {
    const id = (await h.scim.post("/Users", userBody("same@acme.test")).expect(201)).body.id;
    await h.scim.patch(`/Users/${id}`, patchBody({ op: "replace", path: "active", value: false })).expect(200);
    const count = h.changes.length;
    const again = await h.scim.patch(`/Users/${id}`, patchBody({ op: "replace", path: "active", value: false })).expect(200);
    expect(again.body.active).toBe(false);
    expect(h.changes.length).toBe(count);
  });

  it("rolls the SCIM write back when the recorder fails, and answers 500 without detail", async () => {
    const failing: ChangeRecorder = { async record(_tx, change) { if (change.type === "user.created" && change.userName === "boom@acme.test") throw new Error("recorder down"); } };
    const f = await scimHarness({ recorders: [failing] });
    try {
      const res = await f.scim.post("/Users", userBody("boom@acme.test"));
      expect(res.status).toBe(500);
      expect(JSON.stringify(res.body)).not.toContain("recorder down");
      const list = await f.scim.get(`/Users?filter=${encodeURIComponent('userName eq "boom@acme.test"')}`).expect(200);
      expect(list.body.totalResults).toBe(0);
    } finally {
      await f.close();
    }
  });

  it("sees the write's own rows through the transaction handle it is given", async () => {
    const seen: number[] = [];
    const probe: ChangeRecorder = {
      async record(tx, change) {
        if (change.type !== "user.created") return;
        const r = await tx.query<{ n: number }>("select count(*)::int as n from scim_users where id = $1", [change.userId]);
        seen.push(r.rows[0]!.n);
      },
    };
    const p = await scimHarness({ recorders: [probe] });
    try {
      await p.scim.post("/Users", userBody("seen@acme.test")).expect(201);
      expect(seen).toEqual([1]);
    } finally {
      await p.close();
    }
  });
});
