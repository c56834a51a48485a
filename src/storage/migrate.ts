import { readdir, readFile } from "node:fs/promises";
import { MIGRATIONS_DIR } from "../paths.js";
import type { Db } from "./db.js";

/** Any key will do as long as every replica uses the same one. */
const MIGRATION_LOCK_KEY = 7_644_2026;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}-[a-z0-9-]+\.sql$/.test(f)).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    migrations.push({ version: Number(file.slice(0, 4)), name: file.replace(/\.sql$/, ""), sql: await readFile(`${dir}/${file}`, "utf8") });
  }
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`Migration ${m.name} is out of sequence: expected number ${String(i + 1).padStart(4, "0")}`);
  });
  return migrations;
}

/**
 * Applies every migration not yet recorded, each in its own transaction that first takes an
 * advisory lock and records its number, so two replicas starting together never both apply one
 * (graphile-worker src/migrate.ts does the same). Safe to run at every start: a directory left
 * half-initialised by a crash is completed, never re-applied.
 * Returns the versions applied by this call.
 */
export async function migrate(db: Db, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  const applied: number[] = [];
  for (const migration of all) {
    const didApply = await db.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
      await tx.exec(
        "create table if not exists schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())",
      );
      const done = await tx.query("select 1 from schema_migrations where version = $1", [migration.version]);
      if (done.rows.length > 0) return false;
      await tx.query("insert into schema_migrations (version, name) values ($1, $2)", [migration.version, migration.name]);
      await tx.exec(migration.sql);
      return true;
    });
    if (didApply) applied.push(migration.version);
  }
  return applied;
}

/** The highest applied migration and the highest known one: `/readyz` compares them. */
export async function migrationStatus(db: Db): Promise<{ applied: number; known: number }> {
  const known = (await loadMigrations()).length;
  const result = await db.query<{ v: number | null }>(
    "select max(version)::int as v from schema_migrations",
  ).catch(() => ({ rows: [{ v: 0 }] }));
  return { applied: result.rows[0]?.v ?? 0, known };
}
