import { randomBytes } from "node:crypto";
import { calculateJwkThumbprint } from "jose";
import { ensureReceiptKey, receiptJwks, receiptKeyring, resealReceiptKeys, rotateReceiptKey } from "../../src/evidence/keys.js";
import { verifyReceipt, type ReceiptPayload } from "../../src/evidence/receipt-verify.js";
import { signReceipt } from "../../src/evidence/receipts.js";
import { secretBox } from "../../src/secret-box.js";
import type { Db } from "../../src/storage/db.js";
import { listReceiptKeys } from "../../src/storage/receipts-repo.js";
import { fakeClock } from "../support/fake-clock.js";
import { testDb } from "../support/test-db.js";

const payload = (receiptId: string): ReceiptPayload => ({
  iss: "https://bridge.test",
  iat: 1_767_603_600,
  receiptId,
  operation: { id: "0b9f6d1e-4a57-4c1e-9d59-6a3c1f0e2b11", kind: "delete", requestedAt: "2026-01-05T09:00:00.000Z", completedAt: "2026-01-05T09:01:00.000Z" },
  connection: { id: "5d0c2a4f-7b1e-4b8a-8f5c-2e9d1a3b4c5d", name: "acme" },
  subject: { id: "7e57a1ce-0000-4000-8000-000000000001", userName: "bob@example.com", externalId: null },
  targets: [{ id: "t", name: "crm", kind: "fake", intent: { kind: "delete" }, state: "verified", account: { found: false }, steps: [], evidence: { revoked: true, observation: "no account", at: "2026-01-05T09:01:00.000Z" } }],
});

describe("receipt signing keys", () => {
  let db: Db;
  const secretsKey = randomBytes(32);
  const box = secretBox([secretsKey]);
  const clock = fakeClock();
  beforeAll(async () => {
    db = await testDb();
  });
  afterAll(async () => {
    await db.close();
  });

  it("makes one first key even when two replicas start at once, and keeps it across starts", async () => {
    const [a, b] = await Promise.all([ensureReceiptKey(db, box, clock), ensureReceiptKey(db, secretBox([secretsKey]), clock)]);
    expect(a.kid).toBe(b.kid);
    expect((await ensureReceiptKey(db, box, clock)).kid).toBe(a.kid);
    expect(await listReceiptKeys(db)).toHaveLength(1);
  });

  it("names a key by its RFC 7638 thumbprint and stores its private half sealed, never in clear", async () => {
    const [key] = await listReceiptKeys(db);
    expect(key!.kid).toBe(await calculateJwkThumbprint({ kty: "OKP", crv: "Ed25519", x: key!.publicJwk.x }, "sha256"));
    expect(key!.publicJwk).toEqual({ kty: "OKP", crv: "Ed25519", x: expect.any(String), kid: key!.kid, alg: "EdDSA", use: "sig" });
    const row = await db.query<{ private_sealed: unknown }>("select private_sealed from receipt_keys where kid = $1", [key!.kid]);
    expect(row.rows[0]!.private_sealed).toEqual({ $sealed: expect.stringMatching(/^v1\./) });
    expect(JSON.stringify(row.rows[0])).not.toMatch(/"d"/);
    expect(() => secretBox([randomBytes(32)]).open(`receipt-key:${key!.kid}`, key!.privateSealed as { $sealed: string })).toThrow(/SECRETS_KEY does not hold/);
  });

  it("after a rotation signs with the new key, while receipts of the retired key still verify with the JWKS", async () => {
    const keys = receiptKeyring(db, box, clock);
    const before = await keys.signingKey();
    const oldReceipt = await signReceipt(payload("r-old"), before);
    clock.advance(1000);
    const rotated = await rotateReceiptKey(db, box, clock);
    expect(rotated.kid).not.toBe(before.kid);
    const after = await keys.signingKey();
    expect(after.kid).toBe(rotated.kid);
    const newReceipt = await signReceipt(payload("r-new"), after);

    const jwks = await receiptJwks(db);
    expect(jwks.keys.map((k) => k.kid)).toEqual([before.kid, rotated.kid]);
    expect(await verifyReceipt(oldReceipt, jwks)).toEqual(expect.objectContaining({ ok: true, kid: before.kid }));
    expect(await verifyReceipt(newReceipt, jwks)).toEqual(expect.objectContaining({ ok: true, kid: rotated.kid }));
    const stored = await listReceiptKeys(db);
    expect(stored.map((k) => [k.kid, k.retiredAt === null])).toEqual([[before.kid, false], [rotated.kid, true]]);
  });

  it("seals every receipt key again when SECRETS_KEY gains a newer key, and still signs", async () => {
    const newer = secretBox([randomBytes(32), secretsKey]);
    expect(await resealReceiptKeys(db, newer)).toEqual({ resealed: 2, failures: [] });
    expect((await listReceiptKeys(db)).every((k) => newer.keyIdOf(k.privateSealed) === newer.primaryKeyId)).toBe(true);
    expect(await resealReceiptKeys(db, newer)).toEqual({ resealed: 0, failures: [] });
    await expect(receiptKeyring(db, secretBox([secretsKey])).signingKey()).rejects.toThrow(/SECRETS_KEY does not hold/);
    expect(await verifyReceipt(await signReceipt(payload("r-resealed"), await receiptKeyring(db, newer).signingKey()), await receiptJwks(db))).toEqual(expect.objectContaining({ ok: true }));
  });
});
