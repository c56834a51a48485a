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

describe("the Db seam", () => {
  let db: Db;
  beforeAll(async () => { db = await testDb(); });
  afterAll(async () => { await db.close(); });

  it("reports rowCount for selects and writes alike", async () => {
    await db.exec("create table seam_rows (n int)");
    expect((await db.query("insert into seam_rows select generate_series(1, 3)")).rowCount).toBe(3);
    expect((await db.query("select n from seam_rows where n > $1", [1])).rowCount).toBe(2);
    expect((await db.query("update seam_rows set n = n + 10 where n = $1", [3])).rowCount).toBe(1);
  });

  it("runs a batch as one transaction: an expectOne that finds no row keeps nothing of it", async () => {
    await db.exec("create table seam_batch (id int primary key, v text)");
    await db.batch([{ text: "insert into seam_batch values ($1, $2)", values: [1, "a"] }]);
    await expect(
      db.batch([
        { text: "insert into seam_batch values ($1, $2)", values: [2, "b"] },
        { text: "update seam_batch set v = $2 where id = $1", values: [99, "x"], expectOne: true },
      ]),
    ).rejects.toMatchObject({ name: "BatchConditionFailed", index: 1 });
    expect((await db.query("select id from seam_batch order by id")).rows).toEqual([{ id: 1 }]);
  });

  it("quotes values safely, whatever they contain", async () => {
    const nasty = ["it's", "back\\slash", "$1", "'); drop table seam_rows; --", "é ✓ 😀", "{\"a\",\"b\"}"];
    const result = await db.query<{ t: string; a: string[] }>("select $1::text as t, $2::text[] as a", [nasty[3], nasty]);
    expect(result.rows[0]).toEqual({ t: nasty[3], a: nasty });
    expect((await db.query("select count(*)::int as n from seam_rows")).rows[0]).toEqual({ n: 3 });
  });
});
