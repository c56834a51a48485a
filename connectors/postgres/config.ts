/**
 * The postgres kind's config: the declared fields, the shape checks (`checkConfig`, no I/O), and
 * the normalised settings every call works from. A bad config is a `TargetError("permanent")`
 * that says what is wrong and how to fix it; a secret is never echoed back.
 */
import { TargetError, type ConfigField, type Subject } from "../../src/connector-kit.js";

export interface PostgresConfig {
  /** `postgres://user:password@host:5432/db?sslmode=require`: the connector's own (admin) login. Secret. */
  connectionString: string;
  /** How a subject maps to a role name (Default: `{{userName}}`). Placeholders: see ROLE_PLACEHOLDERS. */
  roleName?: string;
  /** Lower-case the mapped name, as PostgreSQL folds unquoted identifiers (Default: true). */
  roleNameLowerCase?: boolean;
  /** Where the login probe connects, as a URL without a password; its user is replaced by the role (Default: connectionString's host, port, database and options). */
  probeConnectionString?: string;
  /** How verify uses the login probe (Default: "best-effort"). */
  loginProbe?: LoginProbeMode;
  /** disable-login also sets `VALID UNTIL` to the moment it ran, so a later `LOGIN` by mistake still refuses the password (Default: true). */
  expirePassword?: boolean;
  /** drop-role first runs `REASSIGN OWNED BY <role> TO <this>; DROP OWNED BY <role>` in each database (Default: none: a role that owns objects or holds privileges is not dropped). */
  reassignOwnedTo?: string;
  /** The databases REASSIGN/DROP OWNED run in (Default: every database that allows connections and is not a template). Needs reassignOwnedTo. */
  databases?: string[];
  /** `statement_timeout` of the connector's sessions (Default: 10000). */
  statementTimeoutMs?: number;
  /** How long connecting may take (Default: 10000). */
  connectTimeoutMs?: number;
}

/**
 * required: the probe must observe the refusal itself (else verify throws);
 * best-effort: a refusal or a login is recorded, an undecidable probe (the server wants a
 * password) is noted and the catalogs decide; off: no probe.
 */
export type LoginProbeMode = "required" | "best-effort" | "off";
const LOGIN_PROBE_MODES: readonly LoginProbeMode[] = ["required", "best-effort", "off"];

/** What `roleName` can refer to. */
export const ROLE_PLACEHOLDERS = ["userName", "localPart", "email", "emailLocalPart", "externalId"] as const;
type Placeholder = (typeof ROLE_PLACEHOLDERS)[number];

export const DEFAULT_ROLE_TEMPLATE = "{{userName}}";
/** PostgreSQL's NAMEDATALEN - 1: longer names are truncated by the server, so they would name another role. */
export const MAX_NAME_BYTES = 63;

export const configFields = [
  { name: "connectionString", description: "postgres:// URL of the connector's own login (CREATEROLE and pg_signal_backend; see README)", required: true, secret: true },
  { name: "roleName", description: "How a person maps to a role: a template of {{userName}}, {{localPart}}, {{email}}, {{emailLocalPart}}, {{externalId}} (Default: {{userName}})" },
  { name: "roleNameLowerCase", description: "Lower-case the mapped role name (Default: true)", type: "boolean" },
  { name: "probeConnectionString", description: "postgres:// URL (no password) the login probe connects to as the role (Default: connectionString's host, port and database)" },
  { name: "loginProbe", description: "required | best-effort | off: whether verify must see a login as the role refused (Default: best-effort)" },
  { name: "expirePassword", description: "disable-login also sets VALID UNTIL to now (Default: true)", type: "boolean" },
  { name: "reassignOwnedTo", description: "Role that receives the objects of a dropped role (REASSIGN OWNED, then DROP OWNED); without it a role that owns objects is not dropped" },
  { name: "databases", description: "Databases where REASSIGN/DROP OWNED run (Default: all that allow connections)", type: "string[]" },
  { name: "statementTimeoutMs", description: "statement_timeout of the connector's sessions in ms (Default: 10000)", type: "number" },
  { name: "connectTimeoutMs", description: "Connect timeout in ms (Default: 10000)", type: "number" },
] as const satisfies readonly ConfigField[];

const KNOWN_FIELDS = new Set<string>(configFields.map((f) => f.name));

/** The config after defaults, as the steps and probes use it. */
export interface Settings {
  connectionString: string;
  roleTemplate: string;
  lowerCase: boolean;
  /** The probe's URL with no user and no password. */
  probeUrl: string;
  loginProbe: LoginProbeMode;
  expirePassword: boolean;
  reassignOwnedTo: string | null;
  databases: string[] | null;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

const byteLength = (s: string) => Buffer.byteLength(s, "utf8");

/** A postgres:// URL, or the problem with it. The value itself never appears in the problem (it may hold a password). */
function urlProblem(name: string, value: unknown, { allowPassword }: { allowPassword: boolean }): string | null {
  if (typeof value !== "string" || value.trim() === "") return `${name} must be a postgres:// URL`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${name} is not a valid URL: write it as postgres://user:password@host:5432/database (percent-encode special characters)`;
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") return `${name} must start with postgres:// or postgresql:// (got ${url.protocol}//)`;
  if (!url.hostname && !url.searchParams.get("host")) return `${name} names no host: write postgres://user@host:5432/database`;
  if (!allowPassword && (url.password || url.searchParams.has("password"))) return `${name} must not contain a password: the login probe never sends one`;
  return null;
}

function positiveMs(name: string, value: unknown): string | null {
  if (value === undefined) return null;
  return typeof value === "number" && Number.isInteger(value) && value > 0 && value <= 600_000
    ? null
    : `${name} must be a whole number of milliseconds between 1 and 600000`;
}

function nameProblem(name: string, value: unknown): string | null {
  if (typeof value !== "string" || value === "") return `${name} must be a role or database name`;
  if (value.includes("\0")) return `${name} must not contain a NUL character`;
  if (byteLength(value) > MAX_NAME_BYTES) return `${name} is longer than ${MAX_NAME_BYTES} bytes, PostgreSQL's limit for names`;
  return null;
}

/** Every problem with a config, each with its fix (no I/O). The bridge runs it on registration. */
export function checkConfig(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(config)) {
    if (!KNOWN_FIELDS.has(key)) problems.push(`${key} is not a postgres config field; the fields are ${[...KNOWN_FIELDS].join(", ")}`);
  }
  const push = (p: string | null) => p && problems.push(p);
  push(urlProblem("connectionString", config.connectionString, { allowPassword: true }));
  if (config.probeConnectionString !== undefined) push(urlProblem("probeConnectionString", config.probeConnectionString, { allowPassword: false }));

  const template = config.roleName;
  if (template !== undefined) {
    if (typeof template !== "string" || template.trim() === "") problems.push(`roleName must be a template such as ${DEFAULT_ROLE_TEMPLATE}`);
    else {
      const used = [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
      const unknown = used.filter((p) => !(ROLE_PLACEHOLDERS as readonly string[]).includes(p));
      if (unknown.length > 0) problems.push(`roleName uses unknown placeholder(s) ${unknown.map((p) => `{{${p}}}`).join(", ")}; known: ${ROLE_PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ")}`);
      else if (used.length === 0) problems.push(`roleName must contain a placeholder such as {{userName}}, or every person would map to the one role ${JSON.stringify(template)}`);
    }
  }
  for (const flag of ["roleNameLowerCase", "expirePassword"] as const) {
    if (config[flag] !== undefined && typeof config[flag] !== "boolean") problems.push(`${flag} must be true or false`);
  }
  if (config.loginProbe !== undefined && !LOGIN_PROBE_MODES.includes(config.loginProbe as LoginProbeMode)) {
    problems.push(`loginProbe must be one of ${LOGIN_PROBE_MODES.join(", ")}`);
  }
  if (config.reassignOwnedTo !== undefined) push(nameProblem("reassignOwnedTo", config.reassignOwnedTo));
  if (config.databases !== undefined) {
    if (!Array.isArray(config.databases) || config.databases.length === 0) problems.push("databases must be a non-empty list of database names");
    else config.databases.forEach((d, i) => push(nameProblem(`databases[${i}]`, d)));
    if (config.reassignOwnedTo === undefined) problems.push("databases is only used with reassignOwnedTo: set reassignOwnedTo, or remove databases");
  }
  push(positiveMs("statementTimeoutMs", config.statementTimeoutMs));
  push(positiveMs("connectTimeoutMs", config.connectTimeoutMs));
  return problems;
}

/** A URL with the user and password taken out (the login probe's, and one safe to show). */
export function withoutCredentials(connectionString: string): string {
  const url = new URL(connectionString);
  url.username = "";
  url.password = "";
  url.searchParams.delete("user");
  url.searchParams.delete("password");
  return url.toString();
}

/** The config as settings, or a permanent error naming every problem. */
export function settingsOf(config: unknown): Settings {
  const c = (typeof config === "object" && config !== null ? config : {}) as Record<string, unknown>;
  const problems = checkConfig(c);
  if (problems.length > 0) throw new TargetError("permanent", `postgres config: ${problems.join("; ")}`);
  const pc = c as unknown as PostgresConfig;
  return {
    connectionString: pc.connectionString,
    roleTemplate: pc.roleName ?? DEFAULT_ROLE_TEMPLATE,
    lowerCase: pc.roleNameLowerCase ?? true,
    probeUrl: withoutCredentials(pc.probeConnectionString ?? pc.connectionString),
    loginProbe: pc.loginProbe ?? "best-effort",
    expirePassword: pc.expirePassword ?? true,
    reassignOwnedTo: pc.reassignOwnedTo ?? null,
    databases: pc.databases ?? null,
    statementTimeoutMs: pc.statementTimeoutMs ?? 10_000,
    connectTimeoutMs: pc.connectTimeoutMs ?? 10_000,
  };
}

const localPart = (s: string) => (s.includes("@") ? s.slice(0, s.lastIndexOf("@")) : s);

function placeholderValue(subject: Subject, p: Placeholder): string | null {
  const email = subject.emails[0] ?? null;
  switch (p) {
    case "userName": return subject.userName;
    case "localPart": return localPart(subject.userName);
    case "email": return email;
    case "emailLocalPart": return email === null ? null : localPart(email);
    case "externalId": return subject.externalId ?? null;
  }
}

/**
 * The role a subject maps to. A name PostgreSQL cannot hold as-is (empty, over 63 bytes, a NUL)
 * is a permanent error rather than "no account": the server would have truncated it at CREATE
 * ROLE, so looking it up could miss the person's real role.
 */
export function roleNameFor(subject: Subject, settings: Pick<Settings, "roleTemplate" | "lowerCase">): string {
  const missing: string[] = [];
  let name = settings.roleTemplate.replace(PLACEHOLDER, (_, p: string) => {
    const value = placeholderValue(subject, p as Placeholder);
    if (value === null || value === "") missing.push(p);
    return value ?? "";
  });
  if (missing.length > 0) {
    throw new TargetError("permanent", `roleName ${settings.roleTemplate} needs {{${missing.join("}}, {{")}}}, which the IdP did not send for this person; map them with another template or send the attribute`);
  }
  if (settings.lowerCase) name = name.toLowerCase();
  const problem = nameProblem("the mapped role name", name);
  if (problem) throw new TargetError("permanent", `${problem} (from roleName ${settings.roleTemplate}); shorten the template, e.g. {{localPart}}`);
  return name;
}
