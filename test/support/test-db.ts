import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import pg from "pg";
import type { Db } from "../../src/storage/db.js";
import { migrate } from "../../src/storage/migrate.js";
import { openPg } from "../../src/storage/pg-driver.js";
import { openPglite } from "../../src/storage/pglite-driver.js";
import { openPgliteThread } from "../../src/storage/pglite-thread-driver.js";
import { databaseUrlFor, pgliteTemplatePath, pgTemplateDatabase } from "./template.js";

/** Which store this run tests against: `npm test` → PGlite, `npm run test:pg` → DATABASE_URL. */
export const testStore = (): "pg" | "pglite" => (process.env.DATABASE_URL ? "pg" : "pglite");

/**
 * One migrated template per migration set, built by whichever test file gets there first: a PGlite
 * data-dir tarball (a fresh PGlite takes seconds to initialise, a clone under one) or a template
 * database on the DATABASE_URL server. Its name carries a hash of the migrations, so a changed
 * migration never meets a stale template.
 */
async function ensurePgliteTemplate(): Promise<Buffer> {
  const path = pgliteTemplatePath();
  if (!existsSync(path)) {
    const db = await openPglite();
    await migrate(db);
    const dump = await db.pglite.dumpDataDir("none");
    const partial = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, path); // atomic: a racing worker sees a whole file or none
    await db.close();
  }
  return readFile(path);
}

async function ensurePgTemplate(databaseUrl: string): Promise<string> {
  const template = pgTemplateDatabase();
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query("select pg_advisory_lock(76442027)");
    const exists = await admin.query("select 1 from pg_database where datname = $1", [template]);
    if (exists.rowCount === 0) {
      await admin.query(`create database ${template}`);
      const db = await openPg({ connectionString: databaseUrlFor(databaseUrl, template), max: 1 });
      await migrate(db);
      await db.close();
    }
    await admin.query("select pg_advisory_unlock(76442027)");
  } finally {
    await admin.end();
  }
  return template;
}

/**
 * A fresh, migrated database of its own for one test file: a clone of the PGlite template, or a
 * new database created from the server-side template. `close()` drops what it made.
 */
export async function testDb(): Promise<Db> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    // the same driver as production: PGlite in its own thread
    return openPgliteThread({ loadDataDir: new Uint8Array(await ensurePgliteTemplate()) });
  }
  const template = await ensurePgTemplate(databaseUrl);
  const name = `scim_bridge_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${template}`);
  } finally {
    await admin.end();
  }
  const db = await openPg({ connectionString: databaseUrlFor(databaseUrl, name), max: 5 });
  const close = db.close.bind(db);
  return Object.assign(db, {
    async close() {
      await close();
      const dropper = new pg.Client({ connectionString: databaseUrl });
      await dropper.connect();
      await dropper.query(`drop database if exists ${name} with (force)`).finally(() => dropper.end());
    },
  });
}
