/**
 * The ldap kind's config: the declared fields, the shape checks (no I/O), and the settings a
 * connection runs with, every default resolved in one place.
 */
import type { ConnectionOptions } from "node:tls";
import { FilterParser } from "ldapts";
import { TargetError, type ConfigField } from "../../src/connector-kit.js";
import { PLACEHOLDERS, renderFilter, type Placeholder } from "./filter.js";

export type MemberAttribute = "member" | "uniqueMember" | "memberUid";
export type DisableStyle = "openldap-ppolicy" | "active-directory" | "attribute";

/** A target's config as registered. */
export interface LdapConfig {
  /** `ldap://host[:port]` or `ldaps://host[:port]`. */
  url: string;
  /** The service account the connector binds as. */
  bindDn: string;
  bindPassword: string;
  /** Where people are searched (subtree). */
  userBase: string;
  /** An RFC 4515 filter with placeholders (Default: `(uid={{userName}})`). */
  userFilter?: string;
  /** Where groups are searched (subtree); the connector changes no group outside it. */
  groupBase: string;
  /** How a group lists its members (Default: "member"). */
  memberAttribute?: MemberAttribute;
  /** For memberUid groups: the person's attribute whose value the groups list (Default: "uid"). */
  memberUidAttribute?: string;
  /** The group attribute an entitlement that is not a DN names (Default: "cn"). */
  groupNameAttribute?: string;
  /** How an account is disabled (Default: "openldap-ppolicy"). */
  disableStyle?: DisableStyle;
  /** For disableStyle "attribute": the attribute set to `disableValue`. */
  disableAttribute?: string;
  disableValue?: string;
  /** For disableStyle "openldap-ppolicy": the pwdPolicy entry that applies to people; validate checks it enforces locks. */
  passwordPolicyDn?: string;
  /** A DN put in a group in the person's place when they are its last member and the group's class requires one. */
  emptyGroupPlaceholder?: string;
  /** Upgrade an ldap:// connection with StartTLS before binding (Default: false). */
  starttls?: boolean;
  /** PEM CA certificate(s) the server's certificate must chain to (Default: the system's). */
  tlsCa?: string;
  /** The name the server's certificate must carry, when it differs from the URL's host. */
  tlsServername?: string;
  /** Connect and per-operation timeout in ms (Default: 10,000). */
  timeoutMs?: number;
}

/** How an account is disabled, and how verify reads it. */
export type DisableSpec =
  | { style: "openldap-ppolicy"; attribute: "pwdAccountLockedTime"; value: typeof PPOLICY_LOCKED }
  | { style: "attribute"; attribute: string; value: string }
  | { style: "active-directory"; attribute: "userAccountControl" };

/** ppolicy's permanent lock: only an administrator unlocks it (slapo-ppolicy(5), pwdAccountLockedTime). */
export const PPOLICY_LOCKED = "000001010000Z";

/** The config with every default resolved. */
export interface Settings {
  url: string;
  bindDn: string;
  bindPassword: string;
  userBase: string;
  userFilter: string;
  groupBase: string;
  memberAttribute: MemberAttribute;
  memberUidAttribute: string;
  groupNameAttribute: string;
  disable: DisableSpec;
  passwordPolicyDn: string | undefined;
  emptyGroupPlaceholder: string | undefined;
  starttls: boolean;
  /** For ldaps:// and StartTLS. */
  tls: ConnectionOptions;
  timeoutMs: number;
}

export const DEFAULT_USER_FILTER = "(uid={{userName}})";
export const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_TIMEOUT_MS = 120_000;

export const configFields: readonly ConfigField[] = [
  { name: "url", description: "The directory's URL: ldap://host[:port] or ldaps://host[:port]", required: true },
  { name: "bindDn", description: "The DN of the service account the connector binds as", required: true },
  { name: "bindPassword", description: "The service account's password", required: true, secret: true },
  { name: "userBase", description: "The DN under which people are searched (subtree)", required: true },
  { name: "userFilter", description: `The filter that finds the person, with placeholders ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ")} (Default: ${DEFAULT_USER_FILTER})` },
  { name: "groupBase", description: "The DN under which groups are searched (subtree); no group outside it is changed", required: true },
  { name: "memberAttribute", description: "How groups list members: member (groupOfNames, AD), uniqueMember (groupOfUniqueNames) or memberUid (posixGroup) (Default: member)" },
  { name: "memberUidAttribute", description: "For memberUid groups: the person's attribute the groups list (Default: uid)" },
  { name: "groupNameAttribute", description: "The group attribute an entitlement names when it is not a DN (Default: cn)" },
  { name: "disableStyle", description: "How an account is disabled: openldap-ppolicy (pwdAccountLockedTime), active-directory (userAccountControl ACCOUNTDISABLE) or attribute (disableAttribute set to disableValue) (Default: openldap-ppolicy)" },
  { name: "disableAttribute", description: "For disableStyle attribute: the attribute to set, e.g. nsAccountLock" },
  { name: "disableValue", description: "For disableStyle attribute: the value that means disabled, e.g. TRUE" },
  { name: "passwordPolicyDn", description: "For openldap-ppolicy: the pwdPolicy entry that applies to people; validate checks it has pwdLockout TRUE" },
  { name: "emptyGroupPlaceholder", description: "A DN put in a group in the person's place when they are its last member and its objectClass requires one" },
  { name: "starttls", description: "Upgrade an ldap:// connection with StartTLS before binding (Default: false)", type: "boolean" },
  { name: "tlsCa", description: "PEM CA certificate(s) the server's certificate must chain to (Default: the system's CAs)" },
  { name: "tlsServername", description: "The name the server's certificate must carry, when it differs from the URL's host" },
  { name: "timeoutMs", description: `Connect and per-operation timeout in ms (Default: ${DEFAULT_TIMEOUT_MS})`, type: "number" },
];

const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;
const RDN = String.raw`\s*(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)\s*=\s*(?:[^,+\\]|\\.)+?`;
const DN = new RegExp(String.raw`^${RDN}(?:\+${RDN})*(?:\s*,${RDN}(?:\+${RDN})*)*\s*$`);

/** Whether `value` has the shape of a DN (RFC 4514): attribute=value pairs separated by commas. */
export const looksLikeDn = (value: string): boolean => DN.test(value);

/** One parenthesised filter: starts with "(", and its parentheses close exactly at the end (ldapts' parser is lenient here). */
function balanced(filter: string): boolean {
  const f = filter.trim();
  if (!f.startsWith("(") || !f.endsWith(")")) return false;
  let depth = 0;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "(") depth++;
    else if (f[i] === ")" && --depth === 0 && i !== f.length - 1) return false;
    if (depth < 0) return false;
  }
  return depth === 0;
}

const SAMPLE: Record<Placeholder, string> = { userName: "alice@example.com", localPart: "alice", email: "alice@example.com", externalId: "00u1", employeeNumber: "42" };

/** Every problem of a config, each with its fix; empty when the connector can run with it. */
export function configProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const str = (name: keyof LdapConfig) => (typeof config[name] === "string" ? (config[name] as string) : undefined);
  const given = (name: keyof LdapConfig) => config[name] !== undefined && config[name] !== null;
  const mustBeString = (name: keyof LdapConfig) => {
    if (given(name) && (typeof config[name] !== "string" || (config[name] as string).trim() === "")) problems.push(`config.${name} must be a non-empty string`);
  };
  for (const name of ["url", "bindDn", "bindPassword", "userBase", "groupBase"] as const) {
    if (!given(name)) problems.push(`config.${name} is required: ${configFields.find((f) => f.name === name)!.description}`);
  }
  for (const f of configFields) if ((f.type ?? "string") === "string") mustBeString(f.name as keyof LdapConfig);

  const url = str("url");
  if (url !== undefined) {
    const parsed = URL.canParse(url) ? new URL(url) : null;
    if (!parsed || (parsed.protocol !== "ldap:" && parsed.protocol !== "ldaps:") || parsed.hostname === "") {
      problems.push(`config.url must be ldap://host[:port] or ldaps://host[:port], not ${JSON.stringify(url)}`);
    } else if ((parsed.pathname !== "" && parsed.pathname !== "/") || parsed.search !== "" || parsed.username !== "" || parsed.password !== "") {
      problems.push("config.url must hold only the scheme, host and port: put the base DNs in userBase and groupBase, the credentials in bindDn and bindPassword");
    } else if (parsed.protocol === "ldaps:" && config.starttls === true) {
      problems.push("config.starttls is for ldap:// URLs: an ldaps:// connection is already TLS; remove starttls or use ldap://");
    }
  }
  for (const name of ["bindDn", "userBase", "groupBase", "passwordPolicyDn", "emptyGroupPlaceholder"] as const) {
    const dn = str(name);
    if (dn !== undefined && dn.trim() !== "" && !looksLikeDn(dn)) problems.push(`config.${name} must be a DN such as ou=people,dc=example,dc=org, not ${JSON.stringify(dn)}`);
  }

  const filter = str("userFilter");
  if (filter !== undefined && filter.trim() !== "") {
    const used = [...filter.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map((m) => m[1]!);
    const unknown = used.filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p));
    if (used.length === 0) problems.push(`config.userFilter must use a placeholder such as {{userName}} to find the person; it is ${JSON.stringify(filter)}`);
    else if (unknown.length > 0) problems.push(`config.userFilter uses unknown placeholders ${unknown.map((p) => `{{${p}}}`).join(", ")}; known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ")}`);
    else if (!balanced(filter)) {
      problems.push(`config.userFilter must be one parenthesised RFC 4515 filter with balanced parentheses, e.g. (&(objectClass=person)(uid={{userName}})); it is ${JSON.stringify(filter)}`);
    } else {
      try {
        FilterParser.parseString(renderFilter(filter, (p) => SAMPLE[p]));
      } catch (error) {
        problems.push(`config.userFilter is not an RFC 4515 filter (${(error as Error).message}); write it in parentheses, e.g. (&(objectClass=person)(uid={{userName}}))`);
      }
    }
  }

  const member = config.memberAttribute;
  if (given("memberAttribute") && !["member", "uniqueMember", "memberUid"].includes(member as string)) {
    problems.push(`config.memberAttribute must be member, uniqueMember or memberUid, not ${JSON.stringify(member)}`);
  }
  for (const name of ["memberUidAttribute", "groupNameAttribute", "disableAttribute"] as const) {
    const a = str(name);
    if (a !== undefined && a.trim() !== "" && !ATTRIBUTE_NAME.test(a)) problems.push(`config.${name} must be an attribute name such as uid, not ${JSON.stringify(a)}`);
  }

  const style = config.disableStyle ?? "openldap-ppolicy";
  if (!["openldap-ppolicy", "active-directory", "attribute"].includes(style as string)) {
    problems.push(`config.disableStyle must be openldap-ppolicy, active-directory or attribute, not ${JSON.stringify(style)}`);
  } else if (style === "attribute") {
    if (!given("disableAttribute") || !given("disableValue")) problems.push("config.disableStyle attribute needs disableAttribute and disableValue, e.g. nsAccountLock and TRUE");
  } else if (given("disableAttribute") || given("disableValue")) {
    problems.push(`config.disableAttribute and disableValue are only read with disableStyle attribute; remove them or set disableStyle: attribute (it is ${style})`);
  }
  if (given("passwordPolicyDn") && style !== "openldap-ppolicy") problems.push("config.passwordPolicyDn is only read with disableStyle openldap-ppolicy; remove it");

  if (given("starttls") && typeof config.starttls !== "boolean") problems.push("config.starttls must be true or false");
  const ca = str("tlsCa");
  if (ca !== undefined && !ca.includes("-----BEGIN CERTIFICATE-----")) problems.push("config.tlsCa must be PEM: one or more -----BEGIN CERTIFICATE----- blocks");
  if (given("timeoutMs")) {
    const t = config.timeoutMs;
    if (typeof t !== "number" || !Number.isFinite(t) || t < 100 || t > MAX_TIMEOUT_MS) problems.push(`config.timeoutMs must be a number of milliseconds from 100 to ${MAX_TIMEOUT_MS}`);
  }
  return problems;
}

/** The settings a connection runs with; a config with problems is a permanent failure naming each fix. */
export function settingsOf(config: LdapConfig): Settings {
  const problems = configProblems(config as unknown as Record<string, unknown>);
  if (problems.length > 0) throw new TargetError("permanent", `the ldap target's config is invalid: ${problems.join("; ")}`);
  const style = config.disableStyle ?? "openldap-ppolicy";
  const disable: DisableSpec = style === "attribute"
    ? { style, attribute: config.disableAttribute!, value: config.disableValue! }
    : style === "active-directory"
      ? { style, attribute: "userAccountControl" }
      : { style, attribute: "pwdAccountLockedTime", value: PPOLICY_LOCKED };
  const host = new URL(config.url).hostname.replace(/^\[(.*)\]$/, "$1");
  const isIp = /^[\d.]+$/.test(host) || host.includes(":");
  const servername = config.tlsServername ?? (isIp ? undefined : host);
  return {
    url: config.url,
    bindDn: config.bindDn,
    bindPassword: config.bindPassword,
    userBase: config.userBase,
    userFilter: config.userFilter ?? DEFAULT_USER_FILTER,
    groupBase: config.groupBase,
    memberAttribute: config.memberAttribute ?? "member",
    memberUidAttribute: config.memberUidAttribute ?? "uid",
    groupNameAttribute: config.groupNameAttribute ?? "cn",
    disable,
    passwordPolicyDn: config.passwordPolicyDn,
    emptyGroupPlaceholder: config.emptyGroupPlaceholder,
    starttls: config.starttls ?? false,
    tls: {
      host,
      ...(servername !== undefined ? { servername } : {}),
      ...(config.tlsCa !== undefined ? { ca: config.tlsCa } : {}),
    },
    timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
}
