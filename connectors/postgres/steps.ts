/**
 * The revoke steps. Each one reads the role first and answers "already-done" when there is
 * nothing left to do, so a second run (after a crash, or a retry) changes nothing. A role that
 * is gone counts as revoked for every step. Superusers and the connector's own login are refused
 * (`guard`).
 */
import { TargetError, type Account, type RevokeStep, type TargetContext } from "../../src/connector-kit.js";
import { settingsOf, type PostgresConfig, type Settings } from "./config.js";
import { sqlStateOf, toTargetError } from "./errors.js";
import { guard, ident, literal, loadRole, membershipGrants, revokeGrants, sessionPids, withClient, type RoleRow } from "./sql.js";
import type pg from "pg";

type Ctx = TargetContext<PostgresConfig>;
type Step = RevokeStep<PostgresConfig>;

/** Runs `fn` on the account's role in one admin session, after the guard; a missing role is "already-done". */
async function onRole(account: Account, ctx: Ctx, step: string, fn: (client: pg.Client, role: RoleRow, settings: Settings) => Promise<"done" | "already-done">) {
  const settings = settingsOf(ctx.config);
  return withClient(ctx, settings, `${step} for role ${JSON.stringify(account.id)}`, async (client) => {
    const role = await loadRole(client, account.id);
    if (!role) return "already-done";
    guard(role, settings);
    return fn(client, role, settings);
  });
}

/** The oid recorded by findAccount: a dropped role's sessions are still found by it. */
export const recordedOid = (account: Account): string | null => (typeof account.data?.oid === "string" ? account.data.oid : null);

/** `ALTER ROLE … NOLOGIN` (and `VALID UNTIL` now, with expirePassword). No new session can start once it has committed. */
export const disableLogin: Step = {
  name: "disable-login",
  run: (account, ctx) => onRole(account, ctx, "disable-login", async (client, role, settings) => {
    const expire = settings.expirePassword && !role.expired;
    if (!role.rolcanlogin && !expire) return "already-done";
    let sql = `alter role ${ident(role.rolname)} nologin`;
    if (expire) {
      // the server's clock, not the engine's: VALID UNTIL is compared with the server's
      const { rows } = await client.query<{ now: Date }>("select now() as now");
      sql += ` valid until ${literal(rows[0]!.now.toISOString())}`;
    }
    await client.query(sql);
    return "done";
  }),
};

/** How long pg_terminate_backend waits for each session to end: 5 s, within the statement timeout. */
const terminateWaitMs = (settings: Settings) => Math.min(5_000, Math.floor(settings.statementTimeoutMs / 2));

/**
 * Ends every session whose login is the role, waiting for each to exit (`pg_terminate_backend(pid,
 * timeout)`, PostgreSQL 14+). Runs after disable-login, so a client that reconnects at once is refused.
 */
export const terminateSessions: Step = {
  name: "terminate-sessions",
  async run(account, ctx) {
    const settings = settingsOf(ctx.config);
    return withClient(ctx, settings, `terminate-sessions for role ${JSON.stringify(account.id)}`, async (client) => {
      const role = await loadRole(client, account.id);
      if (role) guard(role, settings);
      const oid = role?.oid ?? recordedOid(account);
      if (!oid) return "already-done";
      return terminate(client, oid, account.id, terminateWaitMs(settings));
    });
  },
};

async function terminate(client: pg.Client, oid: string, name: string, waitMs: number): Promise<"done" | "already-done"> {
  const { rowCount } = await client.query(
    "select pid, pg_terminate_backend(pid, $2::bigint) from pg_stat_activity where usesysid = $1::oid and pid <> pg_backend_pid()",
    [oid, Math.round(waitMs)],
  );
  if (!rowCount) return "already-done";
  const left = await sessionPids(client, oid);
  if (left.length > 0) throw new TargetError("retryable", `terminate-sessions for role ${JSON.stringify(name)}: ${left.length} session(s) still open after pg_terminate_backend (pid ${left.join(", ")}); trying again`);
  return "done";
}

/** Revokes every role the role is a direct member of (its grants, entitlements and predefined roles alike). */
export const revokeRoleMemberships: Step = {
  name: "revoke-role-memberships",
  run: (account, ctx) => onRole(account, ctx, "revoke-role-memberships", async (client, role) => {
    const grants = await membershipGrants(client, role.oid);
    if (grants.length === 0) return "already-done";
    await revokeGrants(client, role.rolname, grants, role.serverVersion);
    return "done";
  }),
};

function entitlementOf(ctx: Ctx): string {
  if (ctx.intent.kind !== "revoke-entitlement") throw new Error(`revoke-role-membership runs for revoke-entitlement, not ${ctx.intent.kind}`);
  return ctx.intent.entitlement;
}

/** Revokes the one membership the intent names; a role that does not exist is not granted. */
export const revokeRoleMembership: Step = {
  name: "revoke-role-membership",
  run: (account, ctx) => onRole(account, ctx, "revoke-role-membership", async (client, role) => {
    const grants = await membershipGrants(client, role.oid, entitlementOf(ctx));
    if (grants.length === 0) return "already-done";
    await revokeGrants(client, role.rolname, grants, role.serverVersion);
    return "done";
  }),
};

/** The databases REASSIGN/DROP OWNED visit: the configured list, or every one that takes connections. */
async function databasesOf(client: pg.Client, settings: Settings): Promise<{ names: string[]; configured: boolean }> {
  if (settings.databases) return { names: settings.databases, configured: true };
  const { rows } = await client.query<{ datname: string }>("select datname::text from pg_database where datallowconn and not datistemplate order by 1");
  return { names: rows.map((r) => r.datname), configured: false };
}

/**
 * `DROP ROLE`. With reassignOwnedTo, first `REASSIGN OWNED BY … TO …; DROP OWNED BY …` in each
 * database (objects move to that role; the role's privileges and default privileges go). Without
 * it, a role that owns objects or holds privileges stays (disabled) and the step fails permanently,
 * listing what depends on it. Sessions left on the dropped role's oid are ended.
 */
export const dropRole: Step = {
  name: "drop-role",
  run: (account, ctx) => onRole(account, ctx, "drop-role", async (client, role, settings) => {
    const who = ident(role.rolname);
    if (settings.reassignOwnedTo) {
      const heir = ident(settings.reassignOwnedTo);
      const { names, configured } = await databasesOf(client, settings);
      for (const database of names) {
        const action = `drop-role: REASSIGN/DROP OWNED BY ${JSON.stringify(role.rolname)} in database ${JSON.stringify(database)}`;
        try {
          await withClient(ctx, settings, action, async (db) => {
            await db.query(`reassign owned by ${who} to ${heir}`);
            await db.query(`drop owned by ${who}`);
          }, { database });
        } catch (error) {
          // a database dropped since it was listed has nothing of the role's left
          if (!configured && sqlStateOf((error as TargetError).detail?.cause) === "3D000") {
            ctx.log.info(`drop-role: database ${JSON.stringify(database)} was dropped after it was listed; skipped`);
            continue;
          }
          throw error;
        }
      }
    }
    try {
      await client.query(`drop role ${who}`);
    } catch (error) {
      if (sqlStateOf(error) !== "2BP01") throw error;
      const detail = String((error as { detail?: unknown }).detail ?? "").split("\n").join("; ");
      const fix = settings.reassignOwnedTo
        ? `add the databases named above to databases (or clean them up by hand)`
        : `set reassignOwnedTo to a role that should receive its objects (README "Delete"), or REASSIGN/DROP OWNED by hand`;
      throw new TargetError("permanent", `drop-role: role ${JSON.stringify(role.rolname)} cannot be dropped, objects depend on it (${detail}); it stays disabled; ${fix}`, { cause: error });
    }
    await terminate(client, role.oid, role.rolname, terminateWaitMs(settings)).catch((error: unknown) => {
      throw toTargetError(error, `drop-role: ending sessions left on dropped role ${JSON.stringify(role.rolname)}`);
    });
    return "done";
  }),
};
