import type { Logger } from "../log.js";
import type { Db } from "./db.js";

/**
 * Housekeeping a PostgreSQL server's autovacuum does by itself and embedded PGlite never does (it
 * runs single-user, without the autovacuum launcher): VACUUM reclaims the dead rows each task
 * update leaves behind, ANALYZE gives the planner statistics (without them every table looks
 * empty to it, `reltuples = -1`). Each statement runs on its own, outside any transaction.
 */
export const MAINTENANCE_STATEMENTS: readonly string[] = [
  "vacuum (analyze) tasks",
  "vacuum (analyze) escalation_notices",
  "vacuum (analyze) targets",
  "analyze operations",
  "analyze scim_users",
  "analyze scim_groups",
  "analyze scim_group_members",
  "analyze audit_log",
  "analyze receipts",
];

/** Runs the housekeeping once; returns how long it took. */
export async function runMaintenance(db: Db): Promise<number> {
  const started = performance.now();
  for (const statement of MAINTENANCE_STATEMENTS) await db.query(statement);
  return performance.now() - started;
}

/**
 * On PGlite, housekeeping shortly after start and then every `intervalMs` (Default: 10 min);
 * on a PostgreSQL server, nothing (autovacuum does it). Returns a function that stops it.
 */
export function scheduleMaintenance(db: Db, log: Logger, intervalMs = 600_000, firstAfterMs = 30_000): () => void {
  if (db.kind !== "pglite") return () => {};
  let running = false;
  const run = () => {
    if (running) return;
    running = true;
    void runMaintenance(db)
      .then((ms) => log.debug("storage maintenance done", { ms: Math.round(ms) }))
      .catch((error: unknown) => log.warn("storage maintenance (vacuum, analyze) failed; it runs again at the next interval", { error }))
      .finally(() => (running = false));
  };
  const first = setTimeout(run, firstAfterMs);
  const every = setInterval(run, intervalMs);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}
