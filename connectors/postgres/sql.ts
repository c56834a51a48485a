/**
 * Sessions and catalog reads. One short-lived client per call (no pool: nothing outlives a step
 * or a probe, so nothing leaks and a changed password applies at once), with a statement
 * timeout, a connect timeout, and `ctx.signal` closing it.
 */
import pg from "pg";
import { TargetError, type TargetContext } from "../../src/connector-kit.js";
type Logger = TargetContext["log"];
import type { Settings } from "./config.js";
import { toTargetError } from "./errors.js";

/** Quotes an identifier from the IdP or the config: `"a""b"`. Never build SQL from a name any other way. */
export const ident = (name: string): string => pg.escapeIdentifier(name);
export const literal = (value: string): string => pg.escapeLiteral(value);

export const APPLICATION_NAME = "scim-bridge";
/** The login probe's sessions carry this name, so a peer or a DBA can tell them from the person's own. */
export const PROBE_APPLICATION_NAME = "scim-bridge-login-probe";

export interface ClientOptions {
  /** The URL to connect to (Default: the admin connectionString). */
  url?: string;
  /** Replaces the URL's database (REASSIGN/DROP OWNED run in each database). */
  database?: string;
  /** Replaces the URL's user and drops its password (the login probe logs in as the role). */
  user?: string;
  applicationName?: string;
}

function urlFor(settings: Settings, options: ClientOptions): string {
  const url = new URL(options.url ?? settings.connectionString);
  if (options.database !== undefined) {
    const encoded = encodeURIComponent(options.database);
    // node-postgres decodes the path with decodeURI, which leaves escapes such as %23 (#) as they are
    if (decodeURI(encoded) !== options.database) throw new TargetError("permanent", `database ${JSON.stringify(options.database)} has a character that cannot be put in a connection URL; leave it out of databases and clean it up by hand`);
    url.pathname = "/" + encoded;
  }
  if (options.user !== undefined) {
    url.username = encodeURIComponent(options.user); // node-postgres decodes it with decodeURIComponent
    url.password = "";
  }
  return url.toString();
}

export function newClient(settings: Settings, options: ClientOptions = {}, log?: Logger): pg.Client {
  const client = new pg.Client({
    connectionString: urlFor(settings, options),
    application_name: options.applicationName ?? APPLICATION_NAME,
    statement_timeout: settings.statementTimeoutMs,
    lock_timeout: settings.statementTimeoutMs,
    query_timeout: settings.statementTimeoutMs + 2_000,
    connectionTimeoutMillis: settings.connectTimeoutMs,
  });
  // A terminated or dropped connection emits 'error' (unheard, it would crash the process); a
  // query in flight fails with it too, and that failure is what the caller reports.
  client.on("error", (error) => log?.debug(`postgres session error: ${error.message}`));
  return client;
}

const aborted = (action: string) => new TargetError("retryable", `${action}: cancelled (the bridge is shutting down or lost the task)`);

/**
 * Connects, runs `fn`, closes. Every failure becomes a TargetError named after `action`; an abort
 * of `ctx.signal` closes the session and answers retryable at once.
 */
export async function withClient<T>(ctx: TargetContext<unknown>, settings: Settings, action: string, fn: (client: pg.Client) => Promise<T>, options: ClientOptions = {}): Promise<T> {
  if (ctx.signal.aborted) throw aborted(action);
  await ctx.throttle?.(); // policy.maxRequestsPerSec: one connection per call
  const client = newClient(settings, options, ctx.log);
  let connected = false;
  let onAbort = () => {};
  const abort = new Promise<never>((_, reject) => {
    onAbort = () => {
      void client.end().catch(() => {});
      reject(aborted(action));
    };
    ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
  abort.catch(() => {}); // rejected only on abort, and then also awaited below
  try {
    return await Promise.race([abort, (async () => {
      await client.connect();
      connected = true;
      return fn(client);
    })()]);
  } catch (error) {
    throw toTargetError(error, action);
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    if (connected) await client.end().catch(() => {});
    else void client.end().catch(() => {});
  }
}

/** A role as the steps and probes see it in pg_roles. */
export interface RoleRow {
  oid: string;
  rolname: string;
  rolsuper: boolean;
  rolcanlogin: boolean;
  rolvaliduntil: Date | null;
  /** rolvaliduntil has passed (server clock). */
  expired: boolean;
  /** The connector's own login (session_user or current_user). */
  isSelf: boolean;
  /** The roles it is a direct member of (pg_auth_members.member), by name. */
  memberOf: string[];
  /** server_version_num. */
  serverVersion: number;
}

export async function loadRole(client: pg.Client, name: string): Promise<RoleRow | null> {
  const { rows } = await client.query<RoleRow>(
    `select r.oid::text as oid, r.rolname::text as rolname, r.rolsuper, r.rolcanlogin, r.rolvaliduntil,
            coalesce(r.rolvaliduntil <= now(), false) as expired,
            r.rolname in (session_user, current_user) as "isSelf",
            array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid where m.member = r.oid order by 1) as "memberOf",
            current_setting('server_version_num')::int as "serverVersion"
       from pg_roles r where r.rolname = $1`,
    [name],
  );
  return rows[0] ?? null;
}

/** Sessions whose login is the role (by oid: a dropped role's sessions keep it), the caller's own excepted. */
export async function sessionPids(client: pg.Client, oid: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    "select pid from pg_stat_activity where usesysid = $1::oid and pid <> pg_backend_pid() order by pid",
    [oid],
  );
  return rows.map((r) => r.pid);
}

/**
 * The roles the connector never changes: a superuser (only a superuser may change one, and an
 * IdP event must not take a database's administrator away), its own login (it would lock itself
 * out mid-plan), and the role that receives dropped roles' objects.
 */
export function guard(role: RoleRow, settings: Settings): void {
  const name = JSON.stringify(role.rolname);
  if (role.rolsuper) throw new TargetError("permanent", `role ${name} is a superuser: scim-bridge never changes superusers; remove SUPERUSER by hand (ALTER ROLE … NOSUPERUSER) and retry, or map the person to another role`);
  if (role.isSelf) throw new TargetError("permanent", `role ${name} is the connector's own login: revoking it would lock the connector out; give the connector its own role (README "Least privilege")`);
  if (settings.reassignOwnedTo === role.rolname) throw new TargetError("permanent", `role ${name} is reassignOwnedTo, which receives dropped roles' objects; choose another reassignOwnedTo role`);
}

/** The grants that make `member` a member of `role` (one per grantor on PostgreSQL 16+). */
export async function membershipGrants(client: pg.Client, memberOid: string, roleName?: string): Promise<{ role: string; grantor: string | null }[]> {
  const { rows } = await client.query<{ role: string; grantor: string | null }>(
    `select g.rolname::text as role, gr.rolname::text as grantor
       from pg_auth_members m join pg_roles g on g.oid = m.roleid left join pg_roles gr on gr.oid = m.grantor
      where m.member = $1::oid and ($2::text is null or g.rolname = $2) order by 1, 2`,
    [memberOid, roleName ?? null],
  );
  return rows;
}

/**
 * Revokes each grant. PostgreSQL 16 keeps one grant per grantor and a plain REVOKE removes only
 * the current user's, so it names each grantor; up to 15 there is one grant and no grantor to name.
 */
export async function revokeGrants(client: pg.Client, member: string, grants: { role: string; grantor: string | null }[], serverVersion: number): Promise<void> {
  for (const g of grants) {
    const by = serverVersion >= 160000 && g.grantor ? ` granted by ${ident(g.grantor)}` : "";
    await client.query(`revoke ${ident(g.role)} from ${ident(member)}${by}`);
  }
}
