/**
 * The postgres connector kind: a person's database role.
 *
 * Revokes (deactivate): disable-login (NOLOGIN, VALID UNTIL now) → terminate-sessions →
 * revoke-role-memberships; (delete): the same, then drop-role; (revoke-entitlement): the one role
 * membership. NOLOGIN lands before the sessions are ended, so a client that reconnects at once is
 * refused (README "Order").
 * Verifies: pg_roles, pg_auth_members and pg_stat_activity, then a login as the role that the
 * server must refuse (SQLSTATE 28000).
 */
import { TargetError, type Connector } from "../../src/connector-kit.js";
import { checkConfig, configFields, roleNameFor, settingsOf, type PostgresConfig } from "./config.js";
import { guard, loadRole, withClient } from "./sql.js";
import { disableLogin, dropRole, revokeRoleMembership, revokeRoleMemberships, terminateSessions } from "./steps.js";
import { verify } from "./verify.js";

export type { PostgresConfig } from "./config.js";

/** pg_terminate_backend(pid, timeout) arrived in 14. */
const MIN_SERVER_VERSION = 140000;

interface Self {
  me: string;
  rolsuper: boolean;
  rolcreaterole: boolean;
  signal: boolean;
  version: number;
  version_text: string;
}

export default {
  id: "postgres",
  configFields,
  checkConfig,

  async validate(ctx) {
    const settings = settingsOf(ctx.config);
    await withClient(ctx, settings, "validate", async (client) => {
      const { rows } = await client.query<Self>(
        `select current_user::text as me, r.rolsuper, r.rolcreaterole,
                pg_has_role(current_user, 'pg_signal_backend', 'USAGE') as signal,
                current_setting('server_version_num')::int as version, current_setting('server_version') as version_text
           from pg_roles r where r.rolname = current_user`,
      );
      const self = rows[0]!;
      const me = JSON.stringify(self.me);
      if (self.version < MIN_SERVER_VERSION) throw new TargetError("permanent", `the server runs PostgreSQL ${self.version_text}; the postgres connector needs 14 or later (pg_terminate_backend with a timeout)`);
      if (!self.rolsuper && !self.rolcreaterole) throw new TargetError("auth", `the connector's role ${me} has neither CREATEROLE nor SUPERUSER, so it cannot change roles: ALTER ROLE ${me} CREATEROLE (README "Least privilege")`);
      if (!self.rolsuper && !self.signal) throw new TargetError("auth", `the connector's role ${me} cannot end other roles' sessions: GRANT pg_signal_backend TO ${me} (README "Least privilege")`);
      if (settings.reassignOwnedTo && !(await loadRole(client, settings.reassignOwnedTo))) {
        throw new TargetError("permanent", `reassignOwnedTo names role ${JSON.stringify(settings.reassignOwnedTo)}, which does not exist: create it or fix the name`);
      }
      if (settings.databases) {
        const missing = await client.query<{ name: string }>("select name from unnest($1::text[]) as name where name not in (select datname from pg_database where datallowconn)", [settings.databases]);
        if (missing.rows.length > 0) throw new TargetError("permanent", `databases names ${missing.rows.map((r) => JSON.stringify(r.name)).join(", ")}, which do not exist or take no connections: fix databases`);
      }
    });
  },

  async findAccount(subject, ctx) {
    const settings = settingsOf(ctx.config);
    const name = roleNameFor(subject, settings);
    return withClient(ctx, settings, `findAccount role ${JSON.stringify(name)}`, async (client) => {
      const role = await loadRole(client, name);
      if (!role) return null;
      guard(role, settings);
      return { id: role.rolname, data: { oid: role.oid } };
    });
  },

  plans: {
    deactivate: [disableLogin, terminateSessions, revokeRoleMemberships],
    delete: [disableLogin, terminateSessions, revokeRoleMemberships, dropRole],
    "revoke-entitlement": [revokeRoleMembership],
  },

  verify,
} satisfies Connector<PostgresConfig>;
