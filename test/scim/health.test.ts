import request from "supertest";
import { scimHarness, type ScimHarness } from "../support/scim-app.js";

describe("/healthz and /readyz", () => {
  let h: ScimHarness;
  beforeAll(async () => { h = await scimHarness(); });
  afterAll(async () => { await h.close(); });

  it("answers healthz while the process runs", async () => {
    expect((await request(h.app).get("/healthz")).body).toEqual({ status: "ok" });
  });

  it("is ready when the database answers and every migration is applied", async () => {
    const res = await request(h.app).get("/readyz").expect(200);
    expect(res.body).toEqual(expect.objectContaining({ status: "ready", database: "reachable" }));
    expect(res.body.migrations.applied).toBe(res.body.migrations.known);
  });

  it("is not ready, with 503, when the database does not answer", async () => {
    const real = h.db.query.bind(h.db);
    (h.db as { query: unknown }).query = () => Promise.reject(new Error("connection refused"));
    try {
      const res = await request(h.app).get("/readyz");
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: "unavailable", database: "unreachable" });
    } finally {
      (h.db as { query: unknown }).query = real;
    }
  });
});
