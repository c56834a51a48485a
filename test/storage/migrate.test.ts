import { loadMigrations, migrate, migrationStatus } from "../../src/storage/migrate.js";
import type { Db } from "../../src/storage/db.js";
import { testDb } from "../support/test-db.js";

describe("migrations", () => {
  let db: Db;
  beforeAll(async () => { db = await testDb(); });
  afterAll(async () => { await db.close(); });

  it("are numbered without gaps", async () => {
    const migrations = await loadMigrations();
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
  });

  it("apply nothing twice: a migrated database stays as it is", async () => {
    expect(await migrate(db)).toEqual([]);
    const status = await migrationStatus(db);
    expect(status.applied).toBe(status.known);
  });

  it("run concurrently without applying one migration twice", async () => {
    const extra = [...(await loadMigrations()), { version: 0, name: "", sql: "" }].slice(0, -1);
    extra.push({ version: extra.length + 1, name: "9999-probe", sql: "create table probe_once (x int)" });
    const results = await Promise.all([migrate(db, extra), migrate(db, extra)]);
    expect(results.flat()).toEqual([extra.length]);
    const tables = await db.query("select count(*)::int as n from pg_tables where tablename = 'probe_once'");
    expect(tables.rows[0]).toEqual({ n: 1 });
  });
});
