import request from "supertest";
import { receiptIssuer, type ReceiptIssuer } from "../../src/evidence/receipt-issuer.js";
import { verifyReceipt } from "../../src/evidence/receipt-verify.js";
import { silentLogger } from "../../src/log.js";
import { fakeClock } from "../support/fake-clock.js";
import { fakeConnector } from "../support/fake-connector.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";

/** An admin rotates the receipt key through the API: new receipts use the new key, old ones still verify. */
describe("POST /admin/api/receipt-keys/rotate", () => {
  let h: EngineHarness;
  let issuer: ReceiptIssuer;
  const users = ["rosa@example.com", "ravi@example.com"];

  beforeAll(async () => {
    const clock = fakeClock();
    const { connector } = fakeConnector({ clock, accounts: users.map((userName) => ({ userName })) });
    h = await engineHarness({ connectors: [connector], clock });
    await h.addTarget("crm", connector.id);
    issuer = receiptIssuer({ db: h.db, box: h.engine.secrets, log: silentLogger(), publicUrl: "https://bridge.test", clock });
  });
  afterAll(() => h.close());

  const receiptOf = async (userName: string): Promise<string> => {
    const id = await h.createUser(userName);
    await h.deactivate(id);
    await h.drain();
    expect(await issuer.sweepOnce()).toBe(1);
    const op = (await h.operations()).find((o) => o.user_name === userName)!;
    const res = await h.admin.get(`/operations/${op.id}/receipt`).buffer(true).parse((r, done) => {
      let text = "";
      r.on("data", (c: Buffer) => (text += c.toString("utf8")));
      r.on("end", () => done(null, text));
    }).expect(200);
    return res.body as string;
  };
  const jwks = async () => (await request(h.app).get("/.well-known/jwks.json").expect(200)).body as { keys: { kid: string }[] };

  it("signs new receipts with the new key and keeps the old one published", async () => {
    const before = await receiptOf(users[0]!);
    const first = await verifyReceipt(before, await jwks());
    expect(first.ok).toBe(true);

    const rotated = await h.admin.post("/receipt-keys/rotate").expect(200);
    expect(rotated.body.retired).toEqual([first.ok && first.kid]);
    expect(rotated.body.kid).not.toBe(first.ok && first.kid);

    const after = await verifyReceipt(await receiptOf(users[1]!), await jwks());
    expect(after).toMatchObject({ ok: true, kid: rotated.body.kid });
    expect(await verifyReceipt(before, await jwks())).toMatchObject({ ok: true }); // the old receipt still verifies
    expect((await jwks()).keys.map((k) => k.kid).sort()).toEqual([rotated.body.kid, first.ok && first.kid].sort());
  });

  it("is for admins only", async () => {
    const { createAdminToken } = await import("../../src/storage/admin-tokens-repo.js");
    const { token } = await createAdminToken(h.db, { name: "ops", role: "operator" });
    await request(h.app).post("/admin/api/receipt-keys/rotate").set("Authorization", `Bearer ${token}`).expect(403);
  });
});
