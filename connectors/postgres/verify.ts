/**
 * verify: read-only. The catalogs first (pg_roles, pg_auth_members, pg_stat_activity, in one
 * admin session); when they show the access gone, the login probe tries to open a session as
 * the role and expects the server to refuse it. Each observation is named in the evidence.
 */
import { TargetError, type Account, type Probe, type TargetContext, type TargetErrorKind } from "../../src/connector-kit.js";
import { settingsOf, type PostgresConfig, type Settings } from "./config.js";
import { describe, kindOfError, sqlStateOf } from "./errors.js";
import { loadRole, newClient, PROBE_APPLICATION_NAME, sessionPids, withClient, type RoleRow } from "./sql.js";
import { recordedOid } from "./steps.js";

type Ctx = TargetContext<PostgresConfig>;

export type LoginProbeResult =
  | { outcome: "connected" }
  | { outcome: "refused"; reason: string }
  /** The server turned the probe away before it looked at the role (a password, pg_hba.conf), or could not be reached. */
  | { outcome: "undecided"; reason: string; kind: TargetErrorKind };

/** The refusals that are about the role itself; others (pg_hba.conf, a password) say nothing about it. */
const ROLE_REFUSAL = /is not permitted to log in|role .* does not exist/;

class PasswordDemanded extends Error {
  constructor() {
    super("the server asked for a password; the login probe sends none");
  }
}

/**
 * Tries to log in as `role` with no password (the probe never sends one, not even the
 * connector's). Under trust-style authentication a refusal names the role; with password
 * authentication the server asks for one first, and the probe cannot decide.
 */
export async function loginProbe(ctx: Ctx, settings: Settings, role: string): Promise<LoginProbeResult> {
  if (ctx.signal.aborted) throw new TargetError("retryable", "login probe: cancelled (the bridge is shutting down or lost the task)");
  const client = newClient(settings, { url: settings.probeUrl, user: role, applicationName: PROBE_APPLICATION_NAME }, ctx.log);
  // The documented async-password hook, set after construction because a connection string's
  // (empty) password would override it; it also keeps PGPASSWORD and ~/.pgpass out of the probe.
  (client as unknown as { password: () => Promise<string> }).password = () => Promise.reject(new PasswordDemanded());
  try {
    await client.connect();
  } catch (error) {
    void client.end().catch(() => {});
    const code = sqlStateOf(error);
    if (error instanceof PasswordDemanded || code === "28P01") return { outcome: "undecided", reason: describe(error), kind: "permanent" };
    if (code === "28000" && ROLE_REFUSAL.test((error as Error).message)) return { outcome: "refused", reason: describe(error) };
    if (code?.startsWith("28")) return { outcome: "undecided", reason: `${describe(error)}, before the role was checked`, kind: "permanent" };
    const kind = kindOfError(error);
    return { outcome: "undecided", reason: describe(error), kind: kind === "auth" ? "permanent" : kind };
  }
  await client.end().catch(() => {});
  return { outcome: "connected" };
}

const names = (list: string[]) => (list.length === 0 ? "none" : list.map((n) => JSON.stringify(n)).join(", "));

function roleEvidence(q: string, role: RoleRow | null): string {
  if (!role) return `pg_roles → no role ${q}`;
  const until = role.rolvaliduntil ? role.rolvaliduntil.toISOString() : "none";
  return `pg_roles → ${q} rolcanlogin=${role.rolcanlogin}, rolvaliduntil=${until}; pg_auth_members → member of ${names(role.memberOf)}`;
}

/** Whether the catalogs show the intent's access gone. */
function catalogsRevoked(kind: "deactivate" | "delete", role: RoleRow | null, sessions: number[], settings: Settings): boolean {
  if (sessions.length > 0) return false;
  if (!role) return true;
  if (kind === "delete") return false;
  return !role.rolcanlogin && (!settings.expirePassword || role.expired) && role.memberOf.length === 0;
}

export async function verify(account: Account, ctx: Ctx): Promise<Probe> {
  const settings = settingsOf(ctx.config);
  const intent = ctx.intent;
  const q = JSON.stringify(account.id);
  const { role, sessions } = await withClient(ctx, settings, `verify role ${q}`, async (client) => {
    const role = await loadRole(client, account.id);
    const oid = role?.oid ?? recordedOid(account);
    const sessions = intent.kind === "revoke-entitlement" || !oid ? [] : await sessionPids(client, oid);
    return { role, sessions };
  });

  if (intent.kind === "revoke-entitlement") {
    const e = JSON.stringify(intent.entitlement);
    if (!role) return { revoked: true, evidence: `pg_roles → no role ${q} (so no membership in ${e})` };
    const still = role.memberOf.includes(intent.entitlement);
    return { revoked: !still, evidence: `pg_auth_members → ${q} is ${still ? "still" : "not"} a member of ${e} (member of ${names(role.memberOf)})` };
  }

  const evidence = [roleEvidence(q, role), `pg_stat_activity → ${sessions.length} session(s)${sessions.length ? ` (pid ${sessions.join(", ")})` : ""}`];
  if (!catalogsRevoked(intent.kind, role, sessions, settings)) {
    if (settings.loginProbe !== "off") evidence.push("login probe not run (the catalogs show access)");
    return { revoked: false, evidence: evidence.join("; ") };
  }
  if (settings.loginProbe === "off") return { revoked: true, evidence: [...evidence, "login probe off"].join("; ") };

  const probe = await loginProbe(ctx, settings, account.id);
  const as = `login probe as ${q}`;
  switch (probe.outcome) {
    case "connected":
      return { revoked: false, evidence: [...evidence, `${as} → connected (the server still lets the role log in)`].join("; ") };
    case "refused":
      return { revoked: true, evidence: [...evidence, `${as} → refused: ${probe.reason}`].join("; ") };
    case "undecided":
      // unreachable or timed out: retry in either mode; only a server that wants a password is tolerated by best-effort
      if (settings.loginProbe === "required" || probe.kind !== "permanent") {
        const fix = probe.kind === "permanent"
          ? "; with password authentication the probe cannot log in: set loginProbe to best-effort, or point probeConnectionString at a server entry that checks the role without a password"
          : "";
        throw new TargetError(probe.kind, `verify: ${as} could not decide: ${probe.reason}${fix}`);
      }
      ctx.log.info(`verify: ${as} could not decide (${probe.reason}); loginProbe is best-effort, so the catalogs decide`);
      return { revoked: true, evidence: [...evidence, `${as} → undecided: ${probe.reason} (best-effort: the catalogs decide)`].join("; ") };
  }
}
