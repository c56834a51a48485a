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

  it("rolls the SCIM write back when a recorder statement fails, and answers 500 without detail", async () => {
    const failing: ChangeRecorder = {
      statements: (change) => (change.type === "user.created" && change.userName === "boom@acme.test" ? [{ text: "select 1 / 0" }] : []),
    };
    const f = await scimHarness({ recorders: [failing] });
    try {
      const res = await f.scim.post("/Users", userBody("boom@acme.test"));
      expect(res.status).toBe(500);
      expect(JSON.stringify(res.body)).not.toMatch(/division|select/i);
      const list = await f.scim.get(`/Users?filter=${encodeURIComponent('userName eq "boom@acme.test"')}`).expect(200);
      expect(list.body.totalResults).toBe(0);
      expect(f.changes.filter((c) => c.type === "user.created" && c.userName === "boom@acme.test")).toEqual([]);
    } finally {
      await f.close();
    }
  });

  it("runs the recorder's statements in the write's transaction: they see its rows and fail with it", async () => {
    const probe: ChangeRecorder = {
      statements: (change) =>
        change.type === "user.created" || change.type === "user.updated"
          ? [{ text: "insert into seam_probe (user_id, kind, seen) select $1::uuid, $2, count(*)::int from scim_users where id = $1::uuid", values: [change.userId, change.type] }]
          : [],
    };
    const p = await scimHarness({ recorders: [probe] });
    try {
      await p.db.exec("create table seam_probe (user_id uuid, kind text, seen int)");
      const id = (await p.scim.post("/Users", userBody("seen@acme.test")).expect(201)).body.id;
      await p.scim.patch(`/Users/${id}`, patchBody({ op: "replace", path: "active", value: false })).expect(200);
      await p.scim.put(`/Users/${id}`, { schemas: [CORE_USER], userName: "seen@acme.test", active: true }).expect(200);
      // a refused write records nothing
      await p.scim.post("/Users", userBody("SEEN@acme.test")).expect(409);
      const rows = await p.db.query<{ user_id: string; kind: string; seen: number }>("select user_id, kind, seen from seam_probe order by kind");
      expect(rows.rows).toEqual([
        { user_id: id, kind: "user.created", seen: 1 },
        { user_id: id, kind: "user.updated", seen: 1 },
        { user_id: id, kind: "user.updated", seen: 1 },
      ]);
    } finally {
      await p.close();
    }
  });
});
