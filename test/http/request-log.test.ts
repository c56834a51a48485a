import { Writable } from "node:stream";
import { createLogger } from "../../src/log.js";
import { scimHarness, userBody } from "../support/scim-app.js";

describe("request log", () => {
  it("writes one JSON line per request with method, path, status, connection, duration and SCIM id — no query values, emails or tokens", async () => {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk, _enc, cb) { lines.push(...String(chunk).split("\n").filter(Boolean)); cb(); } });
    const h = await scimHarness({ log: createLogger("http", stream) });
    try {
      const created = await h.scim.post("/Users", userBody("logged@acme.test")).expect(201);
      await h.scim.get(`/Users?filter=${encodeURIComponent('userName eq "logged@acme.test"')}`).expect(200);
      await new Promise((r) => setTimeout(r, 20));
      const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === "request");
      expect(requests).toHaveLength(2);
      expect(requests[0]).toEqual(expect.objectContaining({ method: "POST", path: "/scim/v2/Users", status: 201, connectionId: h.connectionId, scimId: created.body.id, durationMs: expect.any(Number) }));
      expect(requests[1]).toEqual(expect.objectContaining({ method: "GET", path: "/scim/v2/Users", status: 200, queryKeys: ["filter"] }));
      const all = lines.join("\n");
      expect(all).not.toContain("logged@acme.test");
      expect(all).not.toContain(h.token);
    } finally {
      await h.close();
    }
  });
});
