import { hashSecret } from "../../src/secrets.js";
import {
  adminTokenWritesSettled,
  bootstrapAdminToken,
  countAdminTokens,
  createAdminToken,
  findAdminTokenBySecret,
  listAdminTokens,
  revokeAdminToken,
} from "../../src/storage/admin-tokens-repo.js";
import type { Db } from "../../src/storage/db.js";
import { silentLogger } from "../../src/log.js";
import { testDb } from "../support/test-db.js";

const CONFIGURED = "configured-admin-token-0123456789abcdef";

describe("admin tokens", () => {
  let db: Db;
  beforeAll(async () => { db = await testDb(); });
  afterAll(async () => {
    await adminTokenWritesSettled();
    await db.close();
  });
  beforeEach(async () => {
    await adminTokenWritesSettled();
    await db.query("delete from admin_tokens");
  });

  describe("bootstrapAdminToken", () => {
    it("stores the configured token as an admin token named bootstrap, and returns no secret", async () => {
      expect(await bootstrapAdminToken(db, CONFIGURED)).toEqual({ created: true, token: undefined });
      expect(await findAdminTokenBySecret(db, CONFIGURED)).toMatchObject({ name: "bootstrap", role: "admin" });
    });

    it("generates a token when none is configured and returns it once", async () => {
      const result = await bootstrapAdminToken(db, undefined);
      expect(result).toEqual({ created: true, token: expect.stringMatching(/^scba_[A-Za-z0-9_-]{43}$/) });
      const token = (result as { token: string }).token;
      expect(await findAdminTokenBySecret(db, token)).toMatchObject({ name: "bootstrap", role: "admin" });
    });

    it("does nothing once an admin token exists", async () => {
      await bootstrapAdminToken(db, CONFIGURED);
      expect(await bootstrapAdminToken(db, CONFIGURED)).toEqual({ created: false });
      expect(await bootstrapAdminToken(db, undefined)).toEqual({ created: false });
      expect(await countAdminTokens(db)).toBe(1);
    });

    it("counts revoked tokens as existing, so a restart hands out no new admin access", async () => {
      const { adminToken } = await createAdminToken(db, { name: "ops", role: "operator" });
      await revokeAdminToken(db, adminToken.id);
      expect(await bootstrapAdminToken(db, CONFIGURED)).toEqual({ created: false });
      expect(await findAdminTokenBySecret(db, CONFIGURED)).toBeNull();
    });

    it("creates exactly one token when replicas bootstrap concurrently", async () => {
      // On a server, open the pool's connections first so that the four transactions really overlap.
      if (db.kind === "pg") await Promise.all([1, 2, 3, 4].map(() => db.query("select pg_sleep(0.05)")));
      const results = await Promise.all([
        bootstrapAdminToken(db, undefined),
        bootstrapAdminToken(db, undefined),
        bootstrapAdminToken(db, undefined),
        bootstrapAdminToken(db, undefined),
      ]);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect((await listAdminTokens(db)).map((t) => t.name)).toEqual(["bootstrap"]);
    });
  });

  it("generates scba_ tokens and stores only their digest", async () => {
    const { adminToken, token } = await createAdminToken(db, { name: "support", role: "viewer" });
    expect(token).toMatch(/^scba_[A-Za-z0-9_-]{43}$/);
    const rows = await db.query("select * from admin_tokens");
    expect(rows.rows).toEqual([expect.objectContaining({ id: adminToken.id, token_hash: hashSecret(token) })]);
    expect(JSON.stringify(rows.rows)).not.toContain(token);
    expect(JSON.stringify(await listAdminTokens(db))).not.toContain(hashSecret(token));
  });

  it("finds a token by its secret, and not once revoked or unknown", async () => {
    const { adminToken, token } = await createAdminToken(db, { name: "app owner", role: "app-owner" });
    expect(await findAdminTokenBySecret(db, token)).toEqual({ id: adminToken.id, name: "app owner", role: "app-owner" });
    expect(await findAdminTokenBySecret(db, token + "x")).toBeNull();
    expect(await findAdminTokenBySecret(db, "")).toBeNull();
    expect(await revokeAdminToken(db, adminToken.id)).toBe(true);
    expect(await revokeAdminToken(db, adminToken.id)).toBe(false);
    expect(await findAdminTokenBySecret(db, token)).toBeNull();
    expect(await countAdminTokens(db)).toBe(0);
  });

  it("refuses an unknown role or an empty name", async () => {
    await expect(createAdminToken(db, { name: "x", role: "root" as "admin" })).rejects.toThrow("role \"root\" is unknown");
    await expect(createAdminToken(db, { name: " ", role: "admin" })).rejects.toThrow("name must be");
  });

  it("records last_used_at at most once a minute", async () => {
    const { adminToken, token } = await createAdminToken(db, { name: "cli", role: "admin" });
    let nowMs = Date.parse("2030-01-01T00:00:00Z");
    const find = () => findAdminTokenBySecret(db, token, { now: () => nowMs, log: silentLogger() });
    const lastUsedAt = async () => {
      await adminTokenWritesSettled();
      return (await listAdminTokens(db)).find((t) => t.id === adminToken.id)?.lastUsedAt?.toISOString();
    };
    await find();
    expect(await lastUsedAt()).toBe("2030-01-01T00:00:00.000Z");
    nowMs += 30_000;
    await find();
    expect(await lastUsedAt()).toBe("2030-01-01T00:00:00.000Z");
    nowMs += 30_000;
    await find();
    expect(await lastUsedAt()).toBe("2030-01-01T00:01:00.000Z");
  });
});
