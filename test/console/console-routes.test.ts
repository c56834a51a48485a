import express from "express";
import request from "supertest";
import { CONSOLE_CSP, consoleRoutes } from "../../src/console/console-routes.js";

/** The console router in front of a stand-in for the routes mounted after it. */
function app(): express.Express {
  const a = express();
  a.use(consoleRoutes());
  a.use((_req, res) => void res.status(404).json({ error: { status: 404, message: "not found" } }));
  return a;
}

describe("the console's static routes", () => {
  it("serves index.html at / with a strict Content-Security-Policy", async () => {
    const res = await request(app()).get("/");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.text).toContain('<script type="module" src="app.js"></script>');
    expect(res.headers["content-security-policy"]).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("default-src 'none'");
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
  });

  it("serves the modules as JavaScript, revalidated by ETag", async () => {
    const res = await request(app()).get("/lib/api.js");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^(text|application)\/javascript/);
    expect(res.headers["cache-control"]).toBe("no-cache");
    const etag = res.headers.etag;
    expect(etag).toBeDefined();
    const again = await request(app()).get("/lib/api.js").set("if-none-match", etag!);
    expect(again.status).toBe(304);
  });

  it("passes what is not one of its files to the routes after it", async () => {
    for (const path of ["/nope.js", "/admin/api/whoami", "/scim/v2/Users", "/views", "/../package.json", "/%2e%2e/package.json"]) {
      const res = await request(app()).get(path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.body).toEqual({ error: { status: 404, message: "not found" } });
    }
    const post = await request(app()).post("/").send({});
    expect(post.status).toBe(404);
  });

  it("needs no inline script or style, which its CSP would block", async () => {
    const html = (await request(app()).get("/")).text;
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style/);
    expect(html).not.toMatch(/\son[a-z]+=/);
  });
});
