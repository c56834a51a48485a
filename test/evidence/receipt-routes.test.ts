import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Command } from "commander";
import express from "express";
import request from "supertest";
import { adminAuth } from "../../src/admin/admin-auth.js";
import { jwksHandler, receiptRoutes } from "../../src/admin/receipt-routes.js";
import { registerReceipts } from "../../src/cli/receipts.js";
import { ensureReceiptKey } from "../../src/evidence/keys.js";
import { receiptIssuer, type ReceiptIssuer } from "../../src/evidence/receipt-issuer.js";
import { verifyReceipt } from "../../src/evidence/receipt-verify.js";
import { silentLogger } from "../../src/log.js";
import { createAdminToken, type AdminRole } from "../../src/storage/admin-tokens-repo.js";
import { tempDir } from "../support/bridge-process.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";
import { fakeConnector, type FakeConnectorState } from "../support/fake-connector.js";
import { fakeClock } from "../support/fake-clock.js";

/** The receipt routes as the lead mounts them: the JWKS on the app, the receipt inside /admin/api after adminAuth. */
function receiptApp(h: EngineHarness, issuer?: ReceiptIssuer): express.Express {
  const log = silentLogger();
  const app = express();
  app.get("/.well-known/jwks.json", jwksHandler({ db: h.db, log }));
  app.use("/admin/api", adminAuth(h.db, log), receiptRoutes({ db: h.db, log, ...(issuer ? { issuer } : {}) }));
  return app;
}

describe("receipts over HTTP and the CLI", () => {
  let h: EngineHarness;
  let fake: FakeConnectorState;
  let issuer: ReceiptIssuer;
  let app: express.Express;
  const tokens = {} as Record<AdminRole, string>;
  let n = 0;

  beforeAll(async () => {
    const clock = fakeClock();
    const made = fakeConnector({ clock });
    fake = made.state;
    h = await engineHarness({ connectors: [made.connector], clock });
    await h.addTarget("crm", "fake");
    issuer = receiptIssuer({ db: h.db, box: h.engine.secrets, log: silentLogger(), publicUrl: "https://bridge.test", clock });
    await ensureReceiptKey(h.db, h.engine.secrets); // what issuer.start() does first; never started here, so only the tests sweep
    app = receiptApp(h, issuer);
    for (const role of ["viewer", "operator", "app-owner", "admin"] as const) tokens[role] = (await createAdminToken(h.db, { name: `${role}-1`, role })).token;
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => fake.setMode("honest"));

  async function deactivated(): Promise<string> {
    const userName = `r${++n}@example.com`;
    fake.seed([{ userName }]);
    const id = await h.createUser(userName);
    await h.deactivate(id);
    await h.drain();
    return (await h.operations()).find((o) => o.subject_id === id)!.id;
  }
  /** The receipt as text (supertest buffers only types it knows), errors as JSON. */
  const getReceipt = (id: string, role: AdminRole, on = app) =>
    request(on).get(`/admin/api/operations/${id}/receipt`).set("Authorization", `Bearer ${tokens[role]}`).buffer(true).parse((res, done) => {
      let text = "";
      res.on("data", (chunk) => (text += String(chunk)));
      res.on("end", () => done(null, /json/.test(String(res.headers["content-type"])) ? JSON.parse(text) : text));
    });

  describe("GET /operations/:id/receipt", () => {
    it.each(["viewer", "operator", "admin"] as const)("answers %s with the signed receipt as an application/jose attachment", async (role) => {
      const id = await deactivated();
      const res = await getReceipt(id, role).expect(200);
      expect(res.headers["content-type"]).toBe("application/jose");
      expect(res.headers["content-disposition"]).toBe(`attachment; filename="receipt-${id}.jws"`);
      const jwks = await request(app).get("/.well-known/jwks.json").expect(200);
      expect(await verifyReceipt(res.body as string, jwks.body)).toEqual(expect.objectContaining({ ok: true, payload: expect.objectContaining({ operation: expect.objectContaining({ id }) }) }));
    });

    it("answers 403 to an app-owner and 401 without a token", async () => {
      const id = await deactivated();
      const refused = await getReceipt(id, "app-owner").expect(403);
      expect(refused.body.error.message).toBe("role app-owner may not do this");
      await request(app).get(`/admin/api/operations/${id}/receipt`).expect(401);
    });

    it("answers 404 naming why while the operation is not complete, and the same receipt once it is", async () => {
      fake.setMode("auth-broken");
      const id = await deactivated();
      const pending = await getReceipt(id, "viewer").expect(404);
      expect(pending.body.error).toEqual(expect.objectContaining({ message: expect.stringMatching(new RegExp(`operation ${id} has no receipt: 1 of its 1 task\\(s\\) are still open \\(crm: escalated\\)`)), hint: expect.stringMatching(/resolved by a person/) }));
      const [task] = await h.tasks("t.operation_id = $1", [id]);
      await h.admin.post(`/tasks/${task!.id}/resolve`, { note: "removed by hand" }).expect(200);
      const first = await getReceipt(id, "operator").expect(200);
      const again = await getReceipt(id, "viewer").expect(200);
      expect(first.body).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(again.body).toBe(first.body);
      expect((await h.db.query("select 1 from receipts where operation_id = $1", [id])).rowCount).toBe(1);
    });

    it("answers 404 for an id that names no operation", async () => {
      expect((await getReceipt("not-a-uuid", "viewer").expect(404)).body.error.message).toBe('no operation "not-a-uuid"');
      const unknown = "00000000-0000-4000-8000-000000000000";
      expect((await getReceipt(unknown, "viewer").expect(404)).body.error.message).toBe(`no operation ${unknown}`);
    });

    it("without an issuer serves only stored receipts: a complete operation waits for the sweep", async () => {
      const id = await deactivated();
      const storedOnly = receiptApp(h);
      expect((await getReceipt(id, "viewer", storedOnly).expect(404)).body.error.message).toMatch(/is complete and its receipt is being issued/);
      await issuer.sweepOnce();
      await getReceipt(id, "viewer", storedOnly).expect(200);
    });
  });

  it("publishes every receipt key at /.well-known/jwks.json without a token", async () => {
    const res = await request(app).get("/.well-known/jwks.json").expect(200);
    expect(res.headers["cache-control"]).toBe("public, max-age=300");
    expect(res.body).toEqual({ keys: [{ kty: "OKP", crv: "Ed25519", x: expect.any(String), kid: expect.any(String), alg: "EdDSA", use: "sig" }] });
    expect(JSON.stringify(res.body)).not.toMatch(/"d"/);
  });

  describe("scim-bridge receipt", () => {
    let server: Server;
    let url: string;
    let dir: string;
    let printed: string[];
    const log = console.log;
    beforeAll(async () => {
      server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      dir = await tempDir("scim-bridge-receipts-");
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    beforeEach(() => {
      printed = [];
      console.log = (...args: unknown[]) => void printed.push(args.join(" "));
    });
    afterEach(() => {
      console.log = log;
    });

    const cli = async (token: string | undefined, ...args: string[]) => {
      const program = new Command("scim-bridge").exitOverride();
      registerReceipts(program, () => ({ url, token }));
      await program.parseAsync(args, { from: "user" });
      return printed.join("\n");
    };

    it("downloads a receipt, then verifies it against the bridge's JWKS and offline against a saved one", async () => {
      const id = await deactivated();
      const file = join(dir, `receipt-${id}.jws`);
      expect(await cli(tokens.viewer, "receipt", "get", id, "--out", file)).toMatch(`saved to ${file}`);
      printed = [];
      const shown = await cli(undefined, "receipt", "verify", file);
      expect(shown).toMatch(new RegExp(`^Receipt [0-9a-f-]{36} for operation ${id}\\n  event: deactivate, requested `));
      expect(shown).toMatch(/subject: r\d+@example\.com/);
      expect(shown).toMatch(/target crm \(fake\): verified\n/);
      expect(shown).toMatch(/step revoke-sessions: done, observed/);
      expect(shown).toMatch(/evidence \(.*\): .* · revoked/);
      expect(shown).toMatch(/signature valid \(key [A-Za-z0-9_-]{43}\)$/);

      const jwksFile = join(dir, "jwks.json");
      await writeFile(jwksFile, JSON.stringify((await request(app).get("/.well-known/jwks.json")).body));
      printed = [];
      const json = JSON.parse(await cli(undefined, "receipt", "verify", file, "--jwks", jwksFile, "--json"));
      expect(json).toEqual(expect.objectContaining({ ok: true, kid: expect.any(String), payload: expect.objectContaining({ operation: expect.objectContaining({ id }) }) }));
      printed = [];
      expect(await cli(undefined, "receipt", "verify", file, "--jwks", `${url}/.well-known/jwks.json`)).toMatch(/signature valid/);
    });

    it("fails naming the altered part when one byte of the file changed", async () => {
      const id = await deactivated();
      const file = join(dir, `tampered-${id}.jws`);
      await cli(tokens.operator, "receipt", "get", id, "--out", file);
      const text = await readFile(file, "utf8");
      const at = text.indexOf(".") + 40;
      await writeFile(file, text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1));
      await expect(cli(undefined, "receipt", "verify", file)).rejects.toThrow(/the receipt does not verify: the payload \(segment 2\) was altered/);
      printed = [];
      await expect(cli(undefined, "receipt", "verify", file, "--json")).rejects.toThrow(/does not verify/);
      expect(JSON.parse(printed.join("\n"))).toEqual({ ok: false, part: "payload", problem: expect.stringMatching(/payload \(segment 2\) was altered/) });
    });

    it("says why it cannot get a receipt: no token, an incomplete operation, an unreachable JWKS", async () => {
      await expect(cli(undefined, "receipt", "get", "00000000-0000-4000-8000-000000000000")).rejects.toThrow(/SCIM_BRIDGE_ADMIN_TOKEN is not set/);
      fake.setMode("auth-broken");
      const id = await deactivated();
      await expect(cli(tokens.viewer, "receipt", "get", id)).rejects.toThrow(/has no receipt: 1 of its 1 task\(s\) are still open/);
      const file = join(dir, "any.jws");
      await writeFile(file, "x.y.z");
      await expect(cli(undefined, "receipt", "verify", file, "--jwks", "http://127.0.0.1:1/jwks.json")).rejects.toThrow(/cannot fetch the JWKS from http:\/\/127\.0\.0\.1:1\/jwks\.json/);
      await expect(cli(undefined, "receipt", "verify", join(dir, "missing.jws"), "--jwks", file)).rejects.toThrow(/cannot read the receipt .*missing\.jws \(ENOENT\)/);
    });
  });
});
