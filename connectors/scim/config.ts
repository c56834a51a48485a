/**
 * The scim connector's config: its declared fields, the shape checks (`checkConfig` at
 * registration, `settingsOf` before every call) and the defaults, all in one place.
 */
import { TargetError, type ConfigField } from "../../src/connector-kit.js";

export type MatchAttribute = "userName" | "externalId" | "emails.value";
export type MatchValue = "userName" | "externalId" | "email";
export type DeactivateWith = "patch-path" | "patch-no-path" | "put" | "delete";
export type GroupEntitlements = "id" | "displayName";

/** A target's config as registered (every key of the target config file except `policy`). */
export interface ScimConfig {
  /** The SCIM base URL, ending before `/Users`: `https://app.example.com/scim/v2`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. Give this or `username` + `password`. */
  token?: string;
  /** HTTP Basic user, with `password`, for service providers without bearer tokens. */
  username?: string;
  password?: string;
  /** The SCIM attribute `findAccount` filters on (Default: userName). */
  matchAttribute?: MatchAttribute;
  /** Which of the subject's values is compared (Default: the one named like `matchAttribute`; the primary email for emails.value). */
  matchValue?: MatchValue;
  /** How the deactivate plan disables the user (Default: patch-path). */
  deactivateWith?: DeactivateWith;
  /** Whether the deactivate plan also removes the user's group memberships (Default: false). */
  removeGroupsOnDeactivate?: boolean;
  /** What an entitlement in the policy names: the SCIM Group `id` or its `displayName` (Default: id). */
  groupEntitlements?: GroupEntitlements;
}

/** The config with its defaults applied and the credentials turned into a header. */
export interface ScimSettings {
  baseUrl: string;
  authorization: string;
  matchAttribute: MatchAttribute;
  matchValue: MatchValue;
  deactivateWith: DeactivateWith;
  removeGroupsOnDeactivate: boolean;
  groupEntitlements: GroupEntitlements;
}

const MATCH_ATTRIBUTES: readonly MatchAttribute[] = ["userName", "externalId", "emails.value"];
const MATCH_VALUES: readonly MatchValue[] = ["userName", "externalId", "email"];
const DEACTIVATE_WITH: readonly DeactivateWith[] = ["patch-path", "patch-no-path", "put", "delete"];
const GROUP_ENTITLEMENTS: readonly GroupEntitlements[] = ["id", "displayName"];
const DEFAULT_MATCH_VALUE: Record<MatchAttribute, MatchValue> = { userName: "userName", externalId: "externalId", "emails.value": "email" };
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export const configFields: readonly ConfigField[] = [
  { name: "baseUrl", description: "The SCIM 2.0 base URL, ending before /Users, e.g. https://app.example.com/scim/v2", required: true },
  { name: "token", description: "Bearer token for the SCIM API (or give username and password)", secret: true },
  { name: "username", description: "HTTP Basic user, when the service provider takes Basic instead of a bearer token" },
  { name: "password", description: "HTTP Basic password, with username", secret: true },
  { name: "matchAttribute", description: 'SCIM attribute to find the account by: "userName" (default), "externalId" or "emails.value"' },
  { name: "matchValue", description: 'The subject\'s value to look for: "userName", "externalId" or "email" (the primary one); default follows matchAttribute' },
  { name: "deactivateWith", description: 'How to deactivate: "patch-path" (default), "patch-no-path", "put" or "delete"' },
  { name: "removeGroupsOnDeactivate", description: "Also remove the user from every group when deactivating (default false; the delete plan always does)", type: "boolean" },
  { name: "groupEntitlements", description: 'What a policy entitlement names: the SCIM Group "id" (default) or its "displayName"' },
];

const oneOf = <T extends string>(value: unknown, allowed: readonly T[]): value is T => typeof value === "string" && (allowed as readonly string[]).includes(value);
const text = (value: unknown): value is string => typeof value === "string" && value.trim() !== "";

/** Every problem with a config, each with its fix. Empty: the config is usable. No I/O. */
export function configProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const known = new Set(configFields.map((f) => f.name));
  for (const key of Object.keys(config)) if (!known.has(key)) problems.push(`${key} is not a scim config field; known fields: ${[...known].join(", ")}`);

  if (!text(config.baseUrl)) problems.push("baseUrl is required: the SCIM base URL ending before /Users, e.g. https://app.example.com/scim/v2");
  else {
    let url: URL | null = null;
    try {
      url = new URL(config.baseUrl);
    } catch {
      problems.push(`baseUrl ${JSON.stringify(config.baseUrl)} is not a URL; give the SCIM base, e.g. https://app.example.com/scim/v2`);
    }
    if (url) {
      if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
        problems.push("baseUrl must use https:// (plain http is accepted only for a loopback test server), so the token is not sent in clear");
      }
      if (/\/(Users|Groups)\/?$/i.test(url.pathname)) problems.push("baseUrl must end before /Users: drop the trailing /Users or /Groups");
      if (url.search !== "" || url.hash !== "") problems.push("baseUrl must have no query string or fragment");
      if (url.username !== "" || url.password !== "") problems.push("baseUrl must not carry credentials: use token, or username and password");
    }
  }

  const bearer = config.token !== undefined;
  const basic = config.username !== undefined || config.password !== undefined;
  if (bearer && basic) problems.push("give either token (bearer) or username and password (Basic), not both");
  else if (bearer && !text(config.token)) problems.push("token must be a non-empty string");
  else if (basic && !(text(config.username) && text(config.password))) problems.push("Basic auth needs both username and password as non-empty strings");
  else if (!bearer && !basic) problems.push("credentials are required: token (bearer), or username and password (Basic)");
  if (typeof config.username === "string" && config.username.includes(":")) problems.push("username must not contain ':' (HTTP Basic cannot carry it)");

  if (config.matchAttribute !== undefined && !oneOf(config.matchAttribute, MATCH_ATTRIBUTES)) problems.push(`matchAttribute must be one of ${MATCH_ATTRIBUTES.join(", ")}`);
  if (config.matchValue !== undefined && !oneOf(config.matchValue, MATCH_VALUES)) problems.push(`matchValue must be one of ${MATCH_VALUES.join(", ")}`);
  if (config.deactivateWith !== undefined && !oneOf(config.deactivateWith, DEACTIVATE_WITH)) problems.push(`deactivateWith must be one of ${DEACTIVATE_WITH.join(", ")}`);
  if (config.removeGroupsOnDeactivate !== undefined && typeof config.removeGroupsOnDeactivate !== "boolean") problems.push("removeGroupsOnDeactivate must be true or false");
  if (config.groupEntitlements !== undefined && !oneOf(config.groupEntitlements, GROUP_ENTITLEMENTS)) problems.push(`groupEntitlements must be one of ${GROUP_ENTITLEMENTS.join(", ")}`);
  return problems;
}

const cache = new WeakMap<object, ScimSettings>();

/** The config with defaults, or `TargetError("permanent")` naming the first problem and its fix. */
export function settingsOf(config: ScimConfig): ScimSettings {
  const cached = cache.get(config);
  if (cached) return cached;
  const problems = configProblems((config ?? {}) as unknown as Record<string, unknown>);
  if (problems.length > 0) throw new TargetError("permanent", `scim target config: ${problems.join("; ")}`);
  const matchAttribute = config.matchAttribute ?? "userName";
  const settings: ScimSettings = {
    baseUrl: config.baseUrl.replace(/\/+$/, ""),
    authorization: config.token !== undefined
      ? `Bearer ${config.token}`
      : `Basic ${Buffer.from(`${config.username}:${config.password}`, "utf8").toString("base64")}`,
    matchAttribute,
    matchValue: config.matchValue ?? DEFAULT_MATCH_VALUE[matchAttribute],
    deactivateWith: config.deactivateWith ?? "patch-path",
    removeGroupsOnDeactivate: config.removeGroupsOnDeactivate ?? false,
    groupEntitlements: config.groupEntitlements ?? "id",
  };
  cache.set(config, settings);
  return settings;
}
