import { Writable } from "node:stream";
import winston from "winston";
import { createScimAuthenticator } from "../../src/scim/auth.js";
import { createConnection, type Connection } from "../../src/storage/connections-repo.js";
import { createBasicCredential, listCredentials, revokeCredential } from "../../src/storage/credentials-repo.js";
import type { Db } from "../../src/storage/db.js";
import { silentLogger } from "../../src/log.js";
import { testDb } from "../support/test-db.js";

const basicHeader = (username: string, password: string) => "Basic " + Buffer.from(`${username}:${password}`, "utf8").toString("base64");

describe("SCIM HTTP Basic authentication", () => {
  let db: Db;
  let acme: Connection;
  beforeAll(async () => {
    db = await testDb();
    acme = await createConnection(db, "acme");
  });
  afterAll(async () => { await db.close(); });

  it("generates a user name from the connection name and a password shown once", async () => {
    const { credential, username, password } = await createBasicCredential(db, acme.id);
    expect(username).toMatch(/^acme-[0-9a-f]{6}$/);
    expect(password).toMatch(/^scb_[A-Za-z0-9_-]{43}$/);
    expect(credential).toMatchObject({ kind: "basic", username, connectionId: acme.id, revokedAt: null });
    expect(JSON.stringify(await listCredentials(db, acme.id))).not.toContain(password);
  });

  it("accepts Basic base64(user:password)", async () => {
    const { credential, username, password } = await createBasicCredential(db, acme.id);
    const auth = createScimAuthenticator(db, silentLogger());
    expect(await auth.authenticate(basicHeader(username, password))).toEqual({ ok: true, connectionId: acme.id, credentialId: credential.id, kind: "basic" });
    await auth.settled();
  });

  it("refuses a wrong password, an unknown user name and malformed credentials alike", async () => {
    const { username, password } = await createBasicCredential(db, acme.id);
    const auth = createScimAuthenticator(db, silentLogger());
    const refused = { ok: false, detail: "invalid basic credentials" };
    expect(await auth.authenticate(basicHeader(username, password + "x"))).toEqual(refused);
    expect(await auth.authenticate(basicHeader("nobody", password))).toEqual(refused);
    expect(await auth.authenticate(basicHeader(username, ""))).toEqual(refused);
    expect(await auth.authenticate("Basic " + Buffer.from(username).toString("base64"))).toEqual(refused);
    expect(await auth.authenticate("Basic !!!not-base64")).toEqual(refused);
    expect(await auth.authenticate("Basic")).toEqual(refused);
  });

  it("refuses a revoked credential", async () => {
    const { credential, username, password } = await createBasicCredential(db, acme.id);
    const auth = createScimAuthenticator(db, silentLogger());
    await revokeCredential(db, acme.id, credential.id);
    expect(await auth.authenticate(basicHeader(username, password))).toEqual({ ok: false, detail: "invalid basic credentials" });
  });

  it("takes a chosen user name, and refuses one that is taken or holds a colon", async () => {
    const { username, password } = await createBasicCredential(db, acme.id, "okta-provisioning");
    expect(username).toBe("okta-provisioning");
    const auth = createScimAuthenticator(db, silentLogger());
    expect(await auth.authenticate(basicHeader(username, password))).toMatchObject({ ok: true });
    await expect(createBasicCredential(db, acme.id, "okta-provisioning")).rejects.toMatchObject({ reason: "conflict" });
    await expect(createBasicCredential(db, acme.id, "a:b")).rejects.toMatchObject({ reason: "invalid" });
    await auth.settled();
  });

  it("never hands the password to the logger", async () => {
    const chunks: string[] = [];
    const stream = new Writable({ write(chunk: Buffer, _e, cb) { chunks.push(chunk.toString()); cb(); } });
    const log = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
    const { username, password } = await createBasicCredential(db, acme.id);
    const auth = createScimAuthenticator(db, log);
    await auth.authenticate(basicHeader(username, password + "x"));
    await auth.authenticate(basicHeader("nobody", password));
    await new Promise((resolve) => setImmediate(resolve));
    const logged = chunks.join("");
    expect(logged).toContain("wrong password");
    expect(logged).toContain("unknown username");
    expect(logged).not.toContain(password);
    expect(logged).not.toContain(Buffer.from(`${username}:${password}x`).toString("base64"));
  });
});
