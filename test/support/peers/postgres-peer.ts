/**
 * A real PostgreSQL server as the postgres kind's conformance peer. Every role it makes is named
 * `sbk_<random>_…`, so parallel runs and other suites on the same server do not meet; `close()`
 * drops them all. Seeded accounts are LOGIN roles with a live session held open (for
 * terminate-sessions to end) and the entitlement roles granted. No jest here: the bench reuses it.
 *
 * The server is PG_PEER_URL (Default: postgres://postgres@127.0.0.1:5432/postgres, trust auth):
 * under trust, a login as a NOLOGIN role is refused with SQLSTATE 28000, which the connector's
 * login probe relies on.
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import type { Subject } from "../../../src/connector-kit.js";
import type { PostgresConfig } from "../../../connectors/postgres/config.js";
import { PROBE_APPLICATION_NAME } from "../../../connectors/postgres/sql.js";
import type { ConformancePeer, SeedInput } from "../conformance-peer.js";

export const PG_PEER_URL = process.env.PG_PEER_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const ident = (name: string) => pg.escapeIdentifier(name);

export interface PostgresPeer extends ConformancePeer<PostgresConfig> {
  /** `sbk_<random>_`: every role this peer makes starts with it. */
  prefix: string;
  /** The role `seedAccount` makes for a userName (what the config's roleName maps it to). */
  roleOf(userName: string): string;
  /** PG_PEER_URL as another role (no password), optionally in another database. */
  url(role?: string, database?: string): string;
  /** Runs SQL as the peer's superuser. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>;
  /** CREATE ROLE `name` `options`; dropped on close. */
  createRole(name: string, options?: string): Promise<string>;
  /** Opens a session as `role` and keeps it until it is terminated or the peer closes. */
  openSession(role: string, database?: string): Promise<pg.Client>;
  /** The sessions whose login is `role`, the connector's login probe excepted. */
  sessionCount(role: string): Promise<number>;
}

const redacted = (url: string) => {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(PG_PEER_URL is not a URL)";
  }
};

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: "postgres-peer", connectionTimeoutMillis: 5_000 });
  client.on("error", () => {}); // a terminated session reports here; the tests look at the server instead
  await client.connect();
  return client;
}

export interface PostgresPeerOptions {
  /** Merged over the peer's config. */
  config?: Partial<PostgresConfig>;
}

export async function postgresPeer(options: PostgresPeerOptions = {}): Promise<PostgresPeer> {
  let admin: pg.Client;
  try {
    admin = await connect(PG_PEER_URL);
  } catch (error) {
    throw new Error(
      `the postgres peer cannot reach PostgreSQL at ${redacted(PG_PEER_URL)} (${(error as Error).message}); ` +
        "start it with `pg_ctlcluster --skip-systemctl-redirect 15 main start`, or point PG_PEER_URL at a server with trust auth",
      { cause: error },
    );
  }
  const prefix = `sbk_${randomBytes(4).toString("hex")}_`;
  const made: string[] = [];
  const sessions = new Set<pg.Client>();

  const url = (role?: string, database?: string) => {
    const u = new URL(PG_PEER_URL);
    if (role !== undefined) {
      u.username = encodeURIComponent(role);
      u.password = "";
    }
    if (database !== undefined) u.pathname = "/" + encodeURIComponent(database);
    return u.toString();
  };
  const query = async <R extends pg.QueryResultRow>(sql: string, values: unknown[] = []) => (await admin.query<R>(sql, values)).rows;
  const createRole = async (name: string, roleOptions = "") => {
    await query(`create role ${ident(name)} ${roleOptions}`);
    made.push(name);
    return name;
  };
  const openSession = async (role: string, database?: string) => {
    const client = await connect(url(role, database));
    sessions.add(client);
    client.on("end", () => sessions.delete(client));
    return client;
  };
  const roleOf = (userName: string) => (prefix + userName).toLowerCase();

  const entitlement = await createRole(`${prefix}ent_reader`, "nologin");
  const otherEntitlement = await createRole(`${prefix}ent_writer`, "nologin");
  const config: PostgresConfig = { connectionString: PG_PEER_URL, roleName: `${prefix}{{userName}}`, ...options.config };

  return {
    prefix,
    config,
    badCredentials: { ...config, connectionString: url(`${prefix}nobody`) },
    entitlement,
    otherEntitlement,
    deletes: true,
    noThrottleReason: "PostgreSQL has no HTTP 429: too many connections (SQLSTATE 53300) is retryable, and statements are bounded by statement_timeout",
    roleOf,
    url,
    query,
    createRole,
    openSession,

    async seedAccount(input: SeedInput): Promise<Subject> {
      const role = await createRole(roleOf(input.userName), "login");
      for (const e of input.entitlements ?? []) {
        if (!made.includes(e)) await createRole(e, "nologin");
        await query(`grant ${ident(e)} to ${ident(role)}`);
      }
      await openSession(role);
      const email = input.userName.includes("@") ? input.userName.toLowerCase() : `${input.userName.toLowerCase()}@example.com`;
      return { connectionId: "postgres-peer", id: randomUUID(), userName: input.userName, emails: [email] };
    },

    async sessionCount(role: string) {
      const rows = await query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity a join pg_roles r on r.oid = a.usesysid where r.rolname = $1 and a.application_name <> $2",
        [role, PROBE_APPLICATION_NAME],
      );
      return rows[0]!.n;
    },

    /** The state of every role this peer made: attributes, memberships, sessions (the login probe's excepted: it writes nothing). */
    async writes() {
      return query(
        `select r.rolname::text, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolvaliduntil,
                array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid where m.member = r.oid order by 1) as member_of,
                (select count(*)::int from pg_stat_activity a where a.usesysid = r.oid and a.application_name <> $2) as sessions
           from pg_roles r where starts_with(r.rolname, $1) order by 1`,
        [prefix, PROBE_APPLICATION_NAME],
      );
    },

    async close() {
      await Promise.all([...sessions].map((c) => c.end().catch(() => {})));
      try {
        await query(
          "select pg_terminate_backend(a.pid, 5000) from pg_stat_activity a join pg_roles r on r.oid = a.usesysid where starts_with(r.rolname, $1) and a.pid <> pg_backend_pid()",
          [prefix],
        );
        const left = await query<{ rolname: string }>("select rolname::text from pg_roles where starts_with(rolname, $1) order by 1", [prefix]);
        // objects a test gave the roles (in this database) go first; other databases' are the test's to clean
        for (const { rolname } of left) await query(`drop owned by ${ident(rolname)} cascade`);
        for (const { rolname } of left) await query(`drop role if exists ${ident(rolname)}`);
      } finally {
        await admin.end();
      }
    },
  };
}
