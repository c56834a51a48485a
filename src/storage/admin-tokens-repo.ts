/**
 * Admin tokens: role-scoped bearer tokens for `/admin/api`, the console and the CLI's remote
 * commands (DESIGN.md "Surfaces"). Generated tokens start with `scba_`; only their SHA-256 digest
 * is stored (src/secrets.ts says why that is enough). The one human-chosen token is ADMIN_TOKEN,
 * which config.ts refuses below 24 characters and `bootstrapAdminToken` stores on first start.
 */
import { randomUUID } from "node:crypto";
import { createLogger, type Logger } from "../log.js";
import { hashSecret, newSecret } from "../secrets.js";
import type { Db } from "./db.js";

/**
 * What a token may do: `viewer` reads status (support staff); `operator` also retries, resolves
 * and approves held operations; `app-owner` registers and edits targets; `admin` does everything,
 * including managing connections and tokens. The admin API decides which role each route needs.
 */
export type AdminRole = "viewer" | "operator" | "app-owner" | "admin";
export const ADMIN_ROLES: readonly AdminRole[] = ["viewer", "operator", "app-owner", "admin"];

/** An admin token as listed: never the secret, never its digest. */
export interface AdminToken {
  id: string;
  name: string;
  role: AdminRole;
  createdAt: Date;
  /** Updated at most once a minute per token and replica, so it is approximate. */
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Who presented a valid admin token: what the admin API needs to authorise a request. */
export interface AdminPrincipal {
  id: string;
  name: string;
  role: AdminRole;
}

interface AdminTokenRow {
  [key: string]: unknown;
  id: string;
  name: string;
  role: AdminRole;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = "id, name, role, created_at, last_used_at, revoked_at";

const toAdminToken = (row: AdminTokenRow): AdminToken => ({
  id: row.id,
  name: row.name,
  role: row.role,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

const isAdminRole = (value: unknown): value is AdminRole => ADMIN_ROLES.includes(value as AdminRole);

/**
 * Stores a new admin token and returns it with its secret, shown this once. `token` given → that
 * value is stored (hashed) as it is: the ADMIN_TOKEN bootstrap; omitted → a new `scba_` token.
 */
export async function createAdminToken(
  db: Db,
  input: { name: string; role: AdminRole; token?: string },
): Promise<{ adminToken: AdminToken; token: string }> {
  const name = input.name.trim();
  if (name === "" || name.length > 200) throw new Error("admin token name must be 1 to 200 characters");
  if (!isAdminRole(input.role)) throw new Error(`admin token role ${JSON.stringify(input.role)} is unknown; use one of ${ADMIN_ROLES.join(", ")}`);
  if (input.token !== undefined && input.token.trim() === "") throw new Error("a given admin token must not be empty");
  const token = input.token ?? newSecret("scba");
  const result = await db.query<AdminTokenRow>(
    `insert into admin_tokens (id, name, role, token_hash) values ($1, $2, $3, $4) returning ${COLUMNS}`,
    [randomUUID(), name, input.role, hashSecret(token)],
  );
  return { adminToken: toAdminToken(result.rows[0]!), token };
}

// Touch memo: module state because `findAdminTokenBySecret` is a plain function. Keyed by token id.
const LAST_USED_INTERVAL_MS = 60_000;
const lastTouched = new Map<string, number>();
const inFlight = new Set<Promise<void>>();
let fallbackLog: Logger | undefined;

export interface FindAdminTokenOptions {
  /** Where a failed last_used_at write is reported (Default: a root logger at level warn). */
  log?: Logger;
  /** The clock, in epoch milliseconds (Default: Date.now). */
  now?: () => number;
}

/**
 * The active admin token whose secret this is, or null (unknown or revoked). Records last_used_at
 * at most once a minute per token, off the request path; a failed write is logged, never thrown.
 * Database errors of the lookup itself propagate.
 */
export async function findAdminTokenBySecret(db: Db, secret: string, options: FindAdminTokenOptions = {}): Promise<AdminPrincipal | null> {
  if (secret === "") return null;
  const result = await db.query<{ id: string; name: string; role: AdminRole }>(
    "select id, name, role from admin_tokens where token_hash = $1 and revoked_at is null",
    [hashSecret(secret)],
  );
  const row = result.rows[0];
  if (!row) return null;
  const at = (options.now ?? Date.now)();
  const last = lastTouched.get(row.id);
  if (last === undefined || at - last >= LAST_USED_INTERVAL_MS) {
    lastTouched.set(row.id, at);
    const write: Promise<void> = db
      .query("update admin_tokens set last_used_at = $2 where id = $1 and (last_used_at is null or last_used_at < $2)", [row.id, new Date(at)])
      .then(() => undefined)
      .catch((error: unknown) => {
        lastTouched.delete(row.id);
        const log = options.log ?? (fallbackLog ??= createLogger("warn").child({ module: "admin-tokens" }));
        log.warn(`Could not record the last use of admin token ${row.id}`, { adminTokenId: row.id, error });
      })
      .finally(() => inFlight.delete(write));
    inFlight.add(write);
  }
  return { id: row.id, name: row.name, role: row.role };
}

/** Resolves when the admin-token last_used_at writes in flight have finished: await it before closing the database. */
export async function adminTokenWritesSettled(): Promise<void> {
  while (inFlight.size > 0) await Promise.all([...inFlight]);
}

/** Every admin token, revoked ones included, oldest first. */
export async function listAdminTokens(db: Db): Promise<AdminToken[]> {
  const result = await db.query<AdminTokenRow>(`select ${COLUMNS} from admin_tokens order by created_at, id`);
  return result.rows.map(toAdminToken);
}

/** Revokes an admin token. False when there is no such token or it already was revoked. */
export async function revokeAdminToken(db: Db, id: string): Promise<boolean> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return false;
  const result = await db.query("update admin_tokens set revoked_at = now() where id = $1 and revoked_at is null", [id]);
  return result.rowCount > 0;
}

/** How many admin tokens can still be used (revoked ones are not counted). */
export async function countAdminTokens(db: Db): Promise<number> {
  const result = await db.query<{ n: number }>("select count(*)::int as n from admin_tokens where revoked_at is null");
  return result.rows[0]?.n ?? 0;
}

/** Any key will do as long as every replica uses the same one (distinct from the migration lock). */
const BOOTSTRAP_LOCK_KEY = 7_644_2100;

export type BootstrapResult =
  /** This call made the first admin token. `token` is set when it was generated: print it once. */
  | { created: true; token: string | undefined }
  /** An admin token already existed (revoked ones count): nothing was done. */
  | { created: false };

/**
 * Makes the first admin token (role admin, name "bootstrap") when none has ever existed:
 * `configuredToken` (ADMIN_TOKEN) when given, else a generated one returned for the caller to
 * print once. Runs in a transaction under an advisory lock, so replicas starting together create
 * exactly one. Revoked tokens count as existing: revoking every token does not make a restart
 * with ADMIN_TOKEN set hand out admin access again.
 */
export async function bootstrapAdminToken(db: Db, configuredToken: string | undefined): Promise<BootstrapResult> {
  return db.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock($1)", [BOOTSTRAP_LOCK_KEY]);
    const existing = await tx.query("select 1 from admin_tokens limit 1");
    if (existing.rows.length > 0) return { created: false };
    const { token } = await createAdminToken(tx, { name: "bootstrap", role: "admin", ...(configuredToken !== undefined ? { token: configuredToken } : {}) });
    return { created: true, token: configuredToken === undefined ? token : undefined };
  });
}
