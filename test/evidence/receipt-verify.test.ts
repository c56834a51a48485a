import { compactVerify, createLocalJWKSet, type JWK } from "jose";
import { newReceiptKey, signingKeyOf, type SigningKey } from "../../src/evidence/keys.js";
import { RECEIPT_TYP, verifyReceipt, type ReceiptPart, type ReceiptPayload } from "../../src/evidence/receipt-verify.js";
import { signReceipt } from "../../src/evidence/receipts.js";
import { ephemeralSecretBox } from "../../src/secret-box.js";

const PAYLOAD: ReceiptPayload = {
  iss: "https://bridge.example.com",
  iat: 1_767_603_600,
  receiptId: "3f0e8a52-4c1b-4d6e-9a7f-1b2c3d4e5f60",
  operation: { id: "0b9f6d1e-4a57-4c1e-9d59-6a3c1f0e2b11", kind: "deactivate", requestedAt: "2026-01-05T09:00:00.000Z", completedAt: "2026-01-05T09:40:00.000Z" },
  connection: { id: "5d0c2a4f-7b1e-4b8a-8f5c-2e9d1a3b4c5d", name: "acme" },
  subject: { id: "7e57a1ce-0000-4000-8000-000000000001", userName: "alice@example.com", externalId: "okta-00u1" },
  targets: [
    {
      id: "10000000-0000-4000-8000-000000000001", name: "crm", kind: "fake", intent: { kind: "deactivate" }, state: "verified",
      account: { found: true, id: "a-1" },
      steps: [
        { name: "revoke-sessions", outcome: "done", quality: "observed", at: "2026-01-05T09:00:01.000Z" },
        { name: "sign-out-everywhere", outcome: "done", quality: "acknowledged", at: "2026-01-05T09:00:02.000Z" },
      ],
      evidence: { revoked: true, observation: "GET /users/a-1 → active=false, sessions=0 (ünïcode)", at: "2026-01-05T09:00:04.000Z" },
    },
    {
      id: "10000000-0000-4000-8000-000000000002", name: "hr", kind: "fake", intent: { kind: "deactivate" }, state: "escalated",
      account: { found: true, id: "h-9" }, steps: [{ name: "suspend-user", outcome: "done", quality: "acknowledged", at: "2026-01-05T09:00:03.000Z" }],
      evidence: { revoked: false, observation: "GET /users/h-9 → active=true", at: "2026-01-05T09:15:00.000Z" },
      resolution: { by: "sam", at: "2026-01-05T09:40:00.000Z", note: "disabled by hand" },
      reason: "deadline passed (900000 ms) without an observed revocation",
    },
  ],
};

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

async function aKey(): Promise<{ signing: SigningKey; jwk: JWK }> {
  const box = ephemeralSecretBox();
  const record = await newReceiptKey(box, new Date());
  return { signing: await signingKeyOf(record, box), jwk: record.publicJwk };
}

/** The same character position with a different byte: the next base64url character, or one that breaks the form. */
const flipped = (c: string) => (c === "." ? "A" : c === "\n" ? " " : BASE64URL[(BASE64URL.indexOf(c) + 1) % BASE64URL.length]!);
const replaceAt = (text: string, i: number, c: string) => text.slice(0, i) + c + text.slice(i + 1);

describe("verifying a receipt offline", () => {
  let key: { signing: SigningKey; jwk: JWK };
  let jwks: { keys: JWK[] };
  let jws: string;
  beforeAll(async () => {
    key = await aKey();
    jwks = { keys: [key.jwk] };
    jws = await signReceipt(PAYLOAD, key.signing);
  });

  it("accepts the receipt it signed, with or without the file's final line break, and returns what it says", async () => {
    for (const text of [jws, `${jws}\n`, `${jws}\r\n`]) {
      expect(await verifyReceipt(text, jwks)).toEqual({ ok: true, payload: PAYLOAD, kid: key.signing.kid });
    }
  });

  it("writes the header in one fixed form naming the key, the receipt type and the payload's digest", () => {
    const header = JSON.parse(Buffer.from(jws.split(".")[0]!, "base64url").toString("utf8"));
    expect(Object.keys(header)).toEqual(["alg", "kid", "typ", "payloadSha256"]);
    expect(header).toEqual({ alg: "EdDSA", kid: key.signing.kid, typ: RECEIPT_TYP, payloadSha256: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  });

  it("is a standard JWS: a generic JOSE verifier accepts it with the JWKS", async () => {
    const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(jwks), { algorithms: ["EdDSA"] });
    expect(protectedHeader.kid).toBe(key.signing.kid);
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(PAYLOAD);
  });

  it("fails at every changed byte of the file, naming the part that changed", async () => {
    const file = `${jws}\n`;
    const [firstDot, secondDot] = [file.indexOf("."), file.indexOf(".", file.indexOf(".") + 1)];
    const partAt = (i: number): ReceiptPart => (i === firstDot || i === secondDot ? "jws" : i < firstDot ? "header" : i < secondDot ? "payload" : "signature");
    const wrong: string[] = [];
    for (let i = 0; i < file.length; i++) {
      const result = await verifyReceipt(replaceAt(file, i, flipped(file[i]!)), jwks);
      const expected = partAt(i);
      const named = expected === "jws" ? /segment/ : new RegExp(`${expected} \\(segment ${["header", "payload", "signature"].indexOf(expected) + 1}\\)`);
      if (result.ok || result.part !== expected || !named.test(result.problem)) wrong.push(`byte ${i} (${expected}): ${JSON.stringify(result).slice(0, 300)}`);
    }
    expect(wrong).toEqual([]);
  });

  it.each([
    ["a non-base64url byte in the header", (t: string) => replaceAt(t, 5, "+"), "header", /header \(segment 1\) has a character that is not base64url at byte 5/],
    ["a non-ASCII byte in the payload", (t: string) => replaceAt(t, t.indexOf(".") + 10, "é"), "payload", /payload \(segment 2\) has a character that is not base64url/],
    ["padding after the signature", (t: string) => `${t}=`, "signature", /signature \(segment 3\) has a character that is not base64url/],
    ["a space after the final line break", (t: string) => `${t}\n `, "signature", /signature \(segment 3\)/],
    ["a byte removed from the signature", (t: string) => t.slice(0, -1), "signature", /signature \(segment 3\)/],
    ["a byte removed from the payload", (t: string) => t.slice(0, t.indexOf(".") + 5) + t.slice(t.indexOf(".") + 6), "payload", /payload \(segment 2\)/],
    ["a fourth segment", (t: string) => `${t}.AAAA`, "jws", /4 segment\(s\)/],
    ["only two segments", (t: string) => t.split(".").slice(0, 2).join("."), "jws", /2 segment\(s\)/],
    ["an empty signature", (t: string) => t.split(".").slice(0, 2).join(".") + ".", "signature", /signature \(segment 3\) is empty/],
    ["nothing at all", () => "", "jws", /empty/],
  ] as const)("fails on %s, naming the part", async (_name, tamper, part, problem) => {
    const result = await verifyReceipt(tamper(jws), jwks);
    expect(result).toEqual({ ok: false, part, problem: expect.stringMatching(problem) });
  });

  it("names the header altered when it claims alg none, and when it names another receipt key", async () => {
    const [, payload, signature] = jws.split(".");
    const none = Buffer.from(JSON.stringify({ alg: "none", kid: key.signing.kid, typ: RECEIPT_TYP })).toString("base64url");
    expect(await verifyReceipt(`${none}.${payload}.${signature}`, jwks)).toEqual({ ok: false, part: "header", problem: expect.stringMatching(/header \(segment 1\) was altered: it names alg "none", not EdDSA/) });
    const other = await aKey();
    const header = JSON.parse(Buffer.from(jws.split(".")[0]!, "base64url").toString("utf8"));
    const swapped = Buffer.from(JSON.stringify({ ...header, kid: other.signing.kid })).toString("base64url");
    expect(await verifyReceipt(`${swapped}.${payload}.${signature}`, { keys: [key.jwk, other.jwk] })).toEqual({
      ok: false, part: "header", problem: expect.stringMatching(new RegExp(`names key ${other.signing.kid}, not ${key.signing.kid}`)),
    });
  });

  it("names an unknown key when the JWKS does not hold the signer's", async () => {
    const other = await aKey();
    const result = await verifyReceipt(jws, { keys: [other.jwk] });
    expect(result).toEqual({ ok: false, part: "key", problem: expect.stringMatching(new RegExp(`signed with key ${key.signing.kid}, which the JWKS does not hold \\(it holds ${other.signing.kid}\\)`)) });
    expect(await verifyReceipt(jws, { keys: [] })).toEqual({ ok: false, part: "key", problem: expect.stringMatching(/it holds no Ed25519 signing key/) });
    expect(await verifyReceipt(jws, { nope: true } as unknown as { keys: JWK[] })).toEqual({ ok: false, part: "key", problem: expect.stringMatching(/not a JSON object with a keys array/) });
  });

  it("names a payload a valid key signed that is not a receipt, and what it lacks", async () => {
    const { targets: _targets, subject: _subject, ...rest } = PAYLOAD;
    const signed = await signReceipt({ ...rest, operation: { ...rest.operation, kind: "promote" } } as unknown as ReceiptPayload, key.signing);
    const result = await verifyReceipt(signed, jwks);
    expect(result).toEqual({ ok: false, part: "receipt", problem: expect.stringMatching(/signature is valid but the payload is not a receipt: operation.kind is not an operation kind; subject.id is missing; .*targets is missing/) });
  });

  it("names the signature when it was made by another key under the same kid", async () => {
    const impostor = await aKey();
    const forged = await signReceipt(PAYLOAD, { kid: key.signing.kid, privateKey: impostor.signing.privateKey });
    expect(await verifyReceipt(forged, jwks)).toEqual({ ok: false, part: "signature", problem: expect.stringMatching(/signature \(segment 3\) does not match the header and payload/) });
  });
});
