import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import winston from "winston";
import { createScimAuthenticator, type ScimAuthenticator } from "../../src/scim/auth.js";
import { JwksUnavailableError } from "../../src/scim/jwt-verifier.js";
import { createConnection, type Connection } from "../../src/storage/connections-repo.js";
import {
  createJwtCredential,
  CredentialError,
  revokeCredential,
  validateJwtConfig,
  type JwtConfigInput,
} from "../../src/storage/credentials-repo.js";
import type { Db } from "../../src/storage/db.js";
import { testDb } from "../support/test-db.js";

const NOW_MS = Date.parse("2030-06-01T12:00:00Z");
const nowSec = Math.floor(NOW_MS / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

interface KeyPair { publicKey: CryptoKey; privateKey: CryptoKey }

/** A real JWKS endpoint on 127.0.0.1:0: path → key set; counts fetches per path. */
function jwksServer(sets: Record<string, JWK[]>) {
  const fetches: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "";
    fetches[path] = (fetches[path] ?? 0) + 1;
    const keys = sets[path];
    if (!keys) { res.writeHead(500).end("down"); return; }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
  });
  return {
    fetches,
    url: (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    start: () => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)),
    stop: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

function capturingLogger() {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, cb) { chunks.push(chunk.toString()); cb(); } });
  const log = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return {
    log,
    /** What was logged since the last call. */
    async take(): Promise<string> {
      await new Promise((resolve) => setImmediate(resolve));
      return chunks.splice(0).join("");
    },
  };
}

/** The same RSA private key bound to another algorithm (WebCrypto binds a CryptoKey to one). */
async function rebind(pair: KeyPair, alg: string): Promise<CryptoKey> {
  return importPKCS8(await exportPKCS8(pair.privateKey), alg);
}

async function sign(key: KeyPair["privateKey"] | Uint8Array, header: { alg: string; kid?: string }, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

describe("SCIM JWT authentication", () => {
  let db: Db;
  let rsa: KeyPair;
  let ec: KeyPair;
  let staticRsa: KeyPair;
  let rogue: KeyPair;
  let a: Connection;
  let b: Connection;
  let c: Connection;
  let aCredentialId: string;
  let bCredentialId: string;
  let cCredentialId: string;
  let auth: ScimAuthenticator;
  const logs = capturingLogger();
  const sets: Record<string, JWK[]> = {};
  const jwks = jwksServer(sets);

  const issA = "https://idp-a.example.com/";
  const issB = "https://login.idp-b.example.com/tenant-b/v2.0";
  const issC = "https://idp-c.example.com/";
  const claimsA = (extra: JWTPayload = {}): JWTPayload => ({ iss: issA, aud: "scim-bridge-a", sub: "okta-app", iat: nowSec - 10, exp: nowSec + 300, ...extra });
  const signA = (extra: JWTPayload = {}) => sign(rsa.privateKey, { alg: "RS256", kid: "a-1" }, claimsA(extra));
  const bearer = (token: string) => `Bearer ${token}`;
  const refused = { ok: false, detail: "invalid JWT" };

  beforeAll(async () => {
    db = await testDb();
    [rsa, ec, staticRsa, rogue] = await Promise.all([
      generateKeyPair("RS256", { extractable: true }), generateKeyPair("ES256"), generateKeyPair("RS256", { extractable: true }), generateKeyPair("RS256"),
    ]) as [KeyPair, KeyPair, KeyPair, KeyPair];
    const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: "a-1", alg: "RS256", use: "sig" };
    const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: "b-1", alg: "ES256", use: "sig" };
    // The server reads `sets` on each request.
    sets["/a/jwks"] = [rsaJwk];
    sets["/b/jwks"] = [ecJwk];
    await jwks.start();

    a = await createConnection(db, "okta-a");
    b = await createConnection(db, "entra-b");
    c = await createConnection(db, "static-c");
    aCredentialId = (await createJwtCredential(db, a.id, { issuer: issA, audience: "scim-bridge-a", jwksUrl: jwks.url("/a/jwks") })).id;
    bCredentialId = (await createJwtCredential(db, b.id, { issuer: issB, audience: ["api://scim-b", "other-b"], jwksUrl: jwks.url("/b/jwks"), algorithms: ["ES256"] })).id;
    cCredentialId = (await createJwtCredential(db, c.id, { issuer: issC, audience: "scim-bridge-c", publicKey: await exportSPKI(staticRsa.publicKey), clockToleranceSec: 0 })).id;
    auth = createScimAuthenticator(db, logs.log, { now: () => NOW_MS });
  });
  afterAll(async () => {
    await auth.settled();
    await jwks.stop();
    await db.close();
  });
  beforeEach(async () => { await logs.take(); });

  it("accepts a valid RS256 token from a JWKS and names the connection", async () => {
    expect(await auth.authenticate(bearer(await signA()))).toEqual({ ok: true, connectionId: a.id, credentialId: aCredentialId, kind: "jwt" });
  });

  it("resolves two connections with different issuers to the right one", async () => {
    const tokenB = await sign(ec.privateKey, { alg: "ES256", kid: "b-1" }, { iss: issB, aud: "api://scim-b", exp: nowSec + 60 });
    expect(await auth.authenticate(bearer(tokenB))).toEqual({ ok: true, connectionId: b.id, credentialId: bCredentialId, kind: "jwt" });
    expect(await auth.authenticate(bearer(await signA()))).toMatchObject({ ok: true, connectionId: a.id });
  });

  it("accepts a static public key config", async () => {
    const token = await sign(await rebind(staticRsa, "PS256"), { alg: "PS256" }, { iss: issC, aud: "scim-bridge-c", exp: nowSec + 60 });
    expect(await auth.authenticate(bearer(token))).toEqual({ ok: true, connectionId: c.id, credentialId: cCredentialId, kind: "jwt" });
  });

  it("refuses an issuer no credential names", async () => {
    expect(await auth.authenticate(bearer(await signA({ iss: "https://evil.example.com/" })))).toEqual(refused);
    expect(await logs.take()).toContain("no JWT credential for this issuer");
  });

  it("refuses a token that claims one issuer but is signed with another's key", async () => {
    const forged = await sign(rsa.privateKey, { alg: "RS256", kid: "a-1" }, { iss: issB, aud: "api://scim-b", exp: nowSec + 60 });
    expect(await auth.authenticate(bearer(forged))).toEqual(refused);
    expect(await logs.take()).toContain("ERR_JOSE_ALG_NOT_ALLOWED");
    const forgedEs = await sign(ec.privateKey, { alg: "ES256", kid: "a-1" }, claimsA());
    expect(await auth.authenticate(bearer(forgedEs))).toEqual(refused);
  });

  it("refuses a wrong audience", async () => {
    expect(await auth.authenticate(bearer(await signA({ aud: "someone-else" })))).toEqual(refused);
    const logged = await logs.take();
    expect(logged).toContain("ERR_JWT_CLAIM_VALIDATION_FAILED");
    expect(logged).toContain("(aud)");
  });

  it("refuses a token expired beyond the clock tolerance", async () => {
    expect(await auth.authenticate(bearer(await signA({ exp: nowSec - 61 })))).toEqual(refused);
    expect(await logs.take()).toContain("ERR_JWT_EXPIRED");
  });

  it("refuses a token not yet valid beyond the clock tolerance", async () => {
    expect(await auth.authenticate(bearer(await signA({ nbf: nowSec + 61 })))).toEqual(refused);
    expect(await logs.take()).toContain("(nbf)");
  });

  it("accepts expiry and not-before within the clock skew", async () => {
    expect(await auth.authenticate(bearer(await signA({ exp: nowSec - 30 })))).toMatchObject({ ok: true });
    expect(await auth.authenticate(bearer(await signA({ nbf: nowSec + 30 })))).toMatchObject({ ok: true });
  });

  it("applies each credential's own tolerance: zero means none", async () => {
    const late = await sign(staticRsa.privateKey, { alg: "RS256" }, { iss: issC, aud: "scim-bridge-c", exp: nowSec - 5 });
    expect(await auth.authenticate(bearer(late))).toEqual(refused);
  });

  it("refuses a token without exp", async () => {
    expect(await auth.authenticate(bearer(await signA({ exp: undefined })))).toEqual(refused);
    expect(await logs.take()).toContain("ERR_JWT_CLAIM_VALIDATION_FAILED (exp)");
  });

  it("refuses an unknown kid", async () => {
    const token = await sign(rogue.privateKey, { alg: "RS256", kid: "rogue-1" }, claimsA());
    expect(await auth.authenticate(bearer(token))).toEqual(refused);
    expect(await logs.take()).toContain("ERR_JWKS_NO_MATCHING_KEY");
  });

  it("refuses alg none, from a JWKS or a static key", async () => {
    for (const claims of [claimsA(), { iss: issC, aud: "scim-bridge-c", exp: nowSec + 60 }]) {
      const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`;
      expect(await auth.authenticate(bearer(unsigned))).toEqual(refused);
      expect(await logs.take()).toContain("ERR_JOSE_ALG_NOT_ALLOWED");
    }
  });

  it("refuses HS256 signed with the public key's bytes as the HMAC secret", async () => {
    const pemC = await exportSPKI(staticRsa.publicKey);
    const pemA = await exportSPKI(rsa.publicKey);
    const jwkA = JSON.stringify(await exportJWK(rsa.publicKey));
    const attempts = [
      await sign(new TextEncoder().encode(pemC), { alg: "HS256" }, { iss: issC, aud: "scim-bridge-c", exp: nowSec + 60 }),
      await sign(new TextEncoder().encode(pemA), { alg: "HS256", kid: "a-1" }, claimsA()),
      await sign(new TextEncoder().encode(jwkA), { alg: "HS256", kid: "a-1" }, claimsA()),
    ];
    for (const token of attempts) {
      expect(await auth.authenticate(bearer(token))).toEqual(refused);
      expect(await logs.take()).toContain("ERR_JOSE_ALG_NOT_ALLOWED");
    }
  });

  it("refuses an algorithm outside the credential's allow-list", async () => {
    // Connection a allows the defaults (RS256, PS256, ES256, EdDSA): RS384 with the right key is still refused.
    const token = await sign(await rebind(rsa, "RS384"), { alg: "RS384", kid: "a-1" }, claimsA());
    expect(await auth.authenticate(bearer(token))).toEqual(refused);
    expect(await logs.take()).toContain("ERR_JOSE_ALG_NOT_ALLOWED");
  });

  it("refuses a revoked credential's tokens", async () => {
    const d = await createConnection(db, "revoked-d");
    const credential = await createJwtCredential(db, d.id, { issuer: "https://idp-d.example.com/", audience: "d", publicKey: await exportJWK(staticRsa.publicKey) });
    const token = await sign(staticRsa.privateKey, { alg: "RS256" }, { iss: "https://idp-d.example.com/", aud: "d", exp: nowSec + 60 });
    expect(await auth.authenticate(bearer(token))).toMatchObject({ ok: true, connectionId: d.id });
    await revokeCredential(db, d.id, credential.id);
    expect(await auth.authenticate(bearer(token))).toEqual(refused);
  });

  it("resolves one issuer serving two connections by audience, and refuses a second claim on the same audience", async () => {
    const e = await createConnection(db, "same-issuer-e");
    const credential = await createJwtCredential(db, e.id, { issuer: issA, audience: "scim-bridge-e", jwksUrl: jwks.url("/a/jwks") });
    expect(await auth.authenticate(bearer(await signA({ aud: "scim-bridge-e" })))).toEqual({ ok: true, connectionId: e.id, credentialId: credential.id, kind: "jwt" });
    expect(await auth.authenticate(bearer(await signA()))).toMatchObject({ ok: true, connectionId: a.id });
    await expect(createJwtCredential(db, e.id, { issuer: issA, audience: ["x", "scim-bridge-a"], jwksUrl: jwks.url("/a/jwks") }))
      .rejects.toMatchObject({ reason: "conflict", message: expect.stringContaining("okta-a") });
  });

  it("fetches a JWKS once and reuses it", async () => {
    const fresh = createScimAuthenticator(db, logs.log, { now: () => NOW_MS });
    const before = jwks.fetches["/a/jwks"] ?? 0;
    for (let i = 0; i < 3; i++) expect(await fresh.authenticate(bearer(await signA()))).toMatchObject({ ok: true });
    expect((jwks.fetches["/a/jwks"] ?? 0) - before).toBe(1);
    await fresh.settled();
  });

  it("throws rather than refusing when the issuer's JWKS cannot be fetched", async () => {
    const f = await createConnection(db, "jwks-down-f");
    await createJwtCredential(db, f.id, { issuer: "https://idp-f.example.com/", audience: "f", jwksUrl: jwks.url("/f/missing") });
    const token = await sign(rsa.privateKey, { alg: "RS256", kid: "a-1" }, { iss: "https://idp-f.example.com/", aud: "f", exp: nowSec + 60 });
    await expect(auth.authenticate(bearer(token))).rejects.toThrow(JwksUnavailableError);
  });

  it("refuses a malformed JWT", async () => {
    expect(await auth.authenticate("Bearer abc.def.ghi")).toEqual(refused);
    expect(await auth.authenticate(`Bearer ${b64url({ alg: "RS256" })}.${b64url({ aud: "x" })}.c2ln`)).toEqual(refused);
  });

  it("never hands a token to the logger", async () => {
    const tokens = [await signA(), await signA({ aud: "nope" }), await signA({ exp: nowSec - 3600 })];
    for (const token of tokens) await auth.authenticate(bearer(token));
    const logged = await logs.take();
    expect(logged).toContain("ERR_JWT_EXPIRED");
    for (const token of tokens) {
      for (const part of token.split(".")) expect(logged).not.toContain(part);
    }
  });
});

describe("validateJwtConfig", () => {
  let rsaPem: string;
  let rsaJwk: JWK;
  let privatePem: string;
  beforeAll(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    rsaPem = await exportSPKI(pair.publicKey);
    rsaJwk = await exportJWK(pair.publicKey);
    privatePem = await exportPKCS8(pair.privateKey);
  });
  const base = { issuer: "https://idp.example.com/", audience: "scim" };
  const jwks = { ...base, jwksUrl: "https://idp.example.com/jwks" };

  it("applies the defaults", async () => {
    expect(await validateJwtConfig(jwks)).toEqual({ ...jwks, algorithms: ["RS256", "PS256", "ES256", "EdDSA"], clockToleranceSec: 60 });
  });

  it("narrows default algorithms to those a static key fits", async () => {
    expect((await validateJwtConfig({ ...base, publicKey: rsaPem })).algorithms).toEqual(["RS256", "PS256"]);
    expect((await validateJwtConfig({ ...base, publicKey: rsaJwk })).algorithms).toEqual(["RS256", "PS256"]);
  });

  it("accepts http only for loopback JWKS", async () => {
    expect((await validateJwtConfig({ ...base, jwksUrl: "http://127.0.0.1:8080/jwks" })).jwksUrl).toBe("http://127.0.0.1:8080/jwks");
    expect((await validateJwtConfig({ ...base, jwksUrl: "http://localhost/jwks" })).jwksUrl).toBe("http://localhost/jwks");
  });

  const invalid: [string, () => JwtConfigInput, string][] = [
    ["no issuer", () => ({ ...jwks, issuer: "" }), "issuer is required"],
    ["no audience", () => ({ ...jwks, audience: undefined }), "audience is required"],
    ["an empty audience list", () => ({ ...jwks, audience: [] }), "audience is required"],
    ["neither jwksUrl nor publicKey", () => base, "give jwksUrl (the issuer's JWKS) or publicKey"],
    ["both jwksUrl and publicKey", () => ({ ...jwks, publicKey: rsaPem }), "not both"],
    ["a plain-http JWKS elsewhere", () => ({ ...base, jwksUrl: "http://idp.example.com/jwks" }), "must use https"],
    ["a JWKS URL that is not one", () => ({ ...base, jwksUrl: "idp/jwks" }), "is not a URL"],
    ["alg none", () => ({ ...jwks, algorithms: ["RS256", "none"] }), 'algorithm "none" is refused'],
    ["HS256", () => ({ ...jwks, algorithms: ["HS256"] }), "HMAC algorithms are refused: a public key must never be used as an HMAC secret"],
    ["an unknown algorithm", () => ({ ...jwks, algorithms: ["XY256"] }), 'unknown algorithm "XY256"'],
    ["an unparsable key", () => ({ ...base, publicKey: "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----" }), "cannot be parsed"],
    ["a key that is not PEM", () => ({ ...base, publicKey: "ssh-rsa AAAA" }), "PEM SPKI"],
    ["a private key", () => ({ ...base, publicKey: privatePem }), "is a private key"],
    ["a symmetric JWK", () => ({ ...base, publicKey: { kty: "oct", k: "c2VjcmV0" } }), "HMAC algorithms are refused"],
    ["a key that does not fit a chosen algorithm", () => ({ ...base, publicKey: rsaPem, algorithms: ["RS256", "ES256"] }), "does not fit algorithm ES256"],
    ["a tolerance over 300 s", () => ({ ...jwks, clockToleranceSec: 301 }), "clockToleranceSec must be"],
    ["a misspelt field", () => ({ ...jwks, jwks_url: "x" }) as JwtConfigInput, 'unknown field "jwks_url"'],
  ];
  it.each(invalid)("refuses %s", async (_name, config, message) => {
    const attempt = validateJwtConfig(config());
    await expect(attempt).rejects.toThrow(CredentialError);
    await expect(attempt).rejects.toThrow(message);
  });
});
