import { Writable } from "node:stream";
import winston from "winston";
import { createScimAuthenticator } from "../../src/scim/auth.js";
import { hashSecret } from "../../src/secrets.js";
import { createConnection, type Connection } from "../../src/storage/connections-repo.js";
import {
  createBasicCredential,
  createBearerToken,
  CredentialError,
  listCredentials,
  revokeCredential,
  rotateBearerToken,
} from "../../src/storage/credentials-repo.js";
import { StorageUnavailableError, type Db } from "../../src/storage/db.js";
import { createLogger, silentLogger } from "../../src/log.js";
import { testDb } from "../support/test-db.js";

/** A logger without log.ts's redaction, so the test sees exactly what the authenticator handed it. */
function capturingLogger(): { log: winston.Logger; text: () => Promise<string> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const log = winston.createLogger({ level: "debug", format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { log, text: async () => { await new Promise((resolve) => setImmediate(resolve)); return chunks.join(""); } };
}

describe("SCIM bearer token authentication", () => {
  let db: Db;
  let acme: Connection;
  let other: Connection;
  beforeAll(async () => {
    db = await testDb();
    acme = await createConnection(db, "acme");
    other = await createConnection(db, "other");
  });
  afterAll(async () => { await db.close(); });

  it("accepts a connection's bearer token and names the connection and credential", async () => {
    const { credential, token } = await createBearerToken(db, acme.id, "okta prod");
    const auth = createScimAuthenticator(db, silentLogger());
    expect(token).toMatch(/^scb_[A-Za-z0-9_-]{43}$/);
    expect(await auth.authenticate(`Bearer ${token}`)).toEqual({ ok: true, connectionId: acme.id, credentialId: credential.id, kind: "bearer" });
    expect(await auth.authenticate(`bearer   ${token}`)).toMatchObject({ ok: true, connectionId: acme.id });
    await auth.settled();
  });

  it("refuses a missing header, an unsupported scheme and an empty token", async () => {
    const auth = createScimAuthenticator(db, silentLogger());
    expect(await auth.authenticate(undefined)).toEqual({ ok: false, detail: "missing Authorization header" });
    expect(await auth.authenticate("  ")).toEqual({ ok: false, detail: "missing Authorization header" });
    expect(await auth.authenticate("Digest username=x")).toEqual({ ok: false, detail: "unsupported Authorization scheme: use Bearer or Basic" });
    expect(await auth.authenticate("Bearer")).toEqual({ ok: false, detail: "invalid bearer token" });
  });

  it("refuses an unknown or altered token", async () => {
    const { token } = await createBearerToken(db, acme.id);
    const auth = createScimAuthenticator(db, silentLogger());
    const altered = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    expect(await auth.authenticate(`Bearer ${altered}`)).toEqual({ ok: false, detail: "invalid bearer token" });
    expect(await auth.authenticate("Bearer not-one-of-ours")).toEqual({ ok: false, detail: "invalid bearer token" });
  });

  it("refuses a revoked token at once after forget(), and within the acceptance cache time otherwise", async () => {
    const { credential, token } = await createBearerToken(db, acme.id);
    let nowMs = Date.parse("2030-01-01T00:00:00Z");
    const auth = createScimAuthenticator(db, silentLogger(), { now: () => nowMs, acceptCacheMs: 2000 });
    expect(await auth.authenticate(`Bearer ${token}`)).toMatchObject({ ok: true });
    expect(await revokeCredential(db, acme.id, credential.id)).toBe(true);
    // revoked by another replica: this one may reuse its acceptance for at most acceptCacheMs
    nowMs += 1999;
    expect(await auth.authenticate(`Bearer ${token}`)).toMatchObject({ ok: true });
    nowMs += 2;
    expect(await auth.authenticate(`Bearer ${token}`)).toEqual({ ok: false, detail: "invalid bearer token" });
    expect(await revokeCredential(db, acme.id, credential.id)).toBe(false);

    const second = await createBearerToken(db, acme.id);
    expect(await auth.authenticate(`Bearer ${second.token}`)).toMatchObject({ ok: true });
    await revokeCredential(db, acme.id, second.credential.id);
    auth.forget(); // revoked through this process
    expect(await auth.authenticate(`Bearer ${second.token}`)).toEqual({ ok: false, detail: "invalid bearer token" });
    await auth.settled();
  });

  it("revokes a credential only through its own connection", async () => {
    const { credential } = await createBearerToken(db, acme.id);
    expect(await revokeCredential(db, other.id, credential.id)).toBe(false);
    expect(await revokeCredential(db, acme.id, "not-a-uuid")).toBe(false);
  });

  it("rotation with revokeOthers revokes the connection's other bearer tokens, and nothing else", async () => {
    const rotating = await createConnection(db, "rotating");
    const first = await createBearerToken(db, rotating.id);
    const second = await createBearerToken(db, rotating.id);
    const basic = await createBasicCredential(db, rotating.id);
    const elsewhere = await createBearerToken(db, other.id);
    const auth = createScimAuthenticator(db, silentLogger());

    const rotated = await rotateBearerToken(db, rotating.id, { revokeOthers: true });

    expect(rotated.revokedCredentialIds.sort()).toEqual([first.credential.id, second.credential.id].sort());
    expect(await auth.authenticate(`Bearer ${first.token}`)).toMatchObject({ ok: false });
    expect(await auth.authenticate(`Bearer ${second.token}`)).toMatchObject({ ok: false });
    expect(await auth.authenticate(`Bearer ${rotated.token}`)).toMatchObject({ ok: true, connectionId: rotating.id, credentialId: rotated.credential.id });
    const basicHeader = "Basic " + Buffer.from(`${basic.username}:${basic.password}`).toString("base64");
    expect(await auth.authenticate(basicHeader)).toMatchObject({ ok: true, kind: "basic" });
    expect(await auth.authenticate(`Bearer ${elsewhere.token}`)).toMatchObject({ ok: true, connectionId: other.id });
    await auth.settled();
  });

  it("rotation without revokeOthers keeps the old tokens valid", async () => {
    const { token } = await createBearerToken(db, acme.id);
    const rotated = await rotateBearerToken(db, acme.id, { revokeOthers: false });
    const auth = createScimAuthenticator(db, silentLogger());
    expect(rotated.revokedCredentialIds).toEqual([]);
    expect(await auth.authenticate(`Bearer ${token}`)).toMatchObject({ ok: true });
    expect(await auth.authenticate(`Bearer ${rotated.token}`)).toMatchObject({ ok: true });
    await auth.settled();
  });

  it("records last_used_at, at most once a minute per credential", async () => {
    const { credential, token } = await createBearerToken(db, acme.id);
    let nowMs = Date.parse("2030-03-01T09:00:00Z");
    const auth = createScimAuthenticator(db, silentLogger(), { now: () => nowMs });
    const lastUsedAt = async () => (await listCredentials(db, acme.id)).find((c) => c.id === credential.id)?.lastUsedAt?.toISOString();

    expect(await lastUsedAt()).toBeUndefined();
    await auth.authenticate(`Bearer ${token}`);
    await auth.settled();
    expect(await lastUsedAt()).toBe("2030-03-01T09:00:00.000Z");

    nowMs += 59_000;
    await auth.authenticate(`Bearer ${token}`);
    await auth.settled();
    expect(await lastUsedAt()).toBe("2030-03-01T09:00:00.000Z");

    nowMs += 2_000;
    await auth.authenticate(`Bearer ${token}`);
    await auth.settled();
    expect(await lastUsedAt()).toBe("2030-03-01T09:01:01.000Z");
  });

  it("stores only the token's digest and never lists a secret", async () => {
    const { credential, token } = await createBearerToken(db, acme.id);
    const row = await db.query("select * from credentials where id = $1", [credential.id]);
    expect(row.rows[0]).toMatchObject({ secret_hash: hashSecret(token) });
    expect(JSON.stringify(row.rows[0])).not.toContain(token);
    const listed = JSON.stringify(await listCredentials(db, acme.id));
    expect(listed).not.toContain(token);
    expect(listed).not.toContain(hashSecret(token));
  });

  it("never hands the token to the logger, while logging why it refused", async () => {
    const { log, text } = capturingLogger();
    const auth = createScimAuthenticator(db, log);
    const { credential, token } = await createBearerToken(db, acme.id);
    const unknown = "scb_" + "x".repeat(43);
    await auth.authenticate(`Bearer ${token}`);
    await auth.authenticate(`Bearer ${unknown}`);
    await revokeCredential(db, acme.id, credential.id);
    auth.forget();
    await auth.authenticate(`Bearer ${token}`);
    await auth.settled();

    const logged = await text();
    expect(logged).toContain("unknown token");
    expect(logged).toContain("token revoked");
    expect(logged).toContain(credential.id);
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(token.slice(4));
    expect(logged).not.toContain(unknown);
  });

  it("writes refusal reasons that survive the production logger's redaction", async () => {
    const chunks: string[] = [];
    const stream = new Writable({ write(chunk: Buffer, _e, cb) { chunks.push(chunk.toString()); cb(); } });
    const auth = createScimAuthenticator(db, createLogger("warn", stream));
    await auth.authenticate("Bearer scb_" + "z".repeat(43));
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(chunks.join(""))).toMatchObject({ level: "warn", message: "Refused SCIM request, scheme=bearer: unknown token" });
  });

  it("propagates a database failure instead of calling the token invalid", async () => {
    const down: Db = {
      kind: "pglite",
      query: async () => { throw new StorageUnavailableError("database is down"); },
      exec: async () => {},
      transaction: async () => { throw new StorageUnavailableError("database is down"); },
      batch: async () => { throw new StorageUnavailableError("database is down"); },
      close: async () => {},
    };
    const auth = createScimAuthenticator(down, silentLogger());
    await expect(auth.authenticate("Bearer scb_" + "y".repeat(43))).rejects.toThrow(StorageUnavailableError);
    await expect(auth.authenticate("Basic " + Buffer.from("u:p").toString("base64"))).rejects.toThrow(StorageUnavailableError);
  });

  it("logs a failed last_used_at write and still accepts the token", async () => {
    const { token } = await createBearerToken(db, acme.id);
    const { log, text } = capturingLogger();
    const failingWrites: Db = {
      ...db,
      query: (sql, values) => (sql.startsWith("update credentials set last_used_at") ? Promise.reject(new Error("disk full")) : db.query(sql, values)),
    };
    const auth = createScimAuthenticator(failingWrites, log);
    expect(await auth.authenticate(`Bearer ${token}`)).toMatchObject({ ok: true });
    await auth.settled();
    expect(await text()).toContain("Could not record the last use of credential");
  });

  it("refuses to create a token for a connection that does not exist", async () => {
    await expect(createBearerToken(db, "00000000-0000-4000-8000-000000000000")).rejects.toThrow(CredentialError);
    await expect(createBearerToken(db, "nope")).rejects.toMatchObject({ reason: "not-found" });
  });
});
