/**
 * The microsoft-graph connector's config: declared fields, shape checks (`checkConfig` at
 * registration, `settingsOf` before every call) and defaults, in one place.
 */
import { TargetError, urlProblems, type ConfigField } from "../../src/connector-kit.js";

export type MatchAttribute = "userPrincipalName" | "mail";

export interface GraphConfig {
  /** The Entra tenant id (a GUID) or a verified domain. */
  tenantId: string;
  /** The app registration's application (client) id. */
  clientId: string;
  /** A client secret of that app registration. */
  clientSecret: string;
  /** The Microsoft identity platform authority (Default: https://login.microsoftonline.com). */
  authorityUrl?: string;
  /** The Graph base URL (Default: https://graph.microsoft.com/v1.0). */
  graphUrl?: string;
  /** The user property findAccount filters on (Default: userPrincipalName, compared with the subject's userName; mail with the primary email). */
  matchAttribute?: MatchAttribute;
  /** The upper bound of an already-issued access token's lifetime, in minutes (Default: 90: Entra's default is a random 60–90). */
  accessTokenLifetimeMinutes?: number;
}

export interface GraphSettings {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  tokenUrl: string;
  graphUrl: string;
  /** The token's audience: the Graph origin + "/.default". */
  scope: string;
  matchAttribute: MatchAttribute;
  accessTokenLifetimeMs: number;
}


export const configFields: readonly ConfigField[] = [
  { name: "tenantId", description: "The Entra tenant id (GUID) or its verified domain, e.g. contoso.onmicrosoft.com", required: true },
  { name: "clientId", description: "The app registration's application (client) id", required: true },
  { name: "clientSecret", description: "A client secret of the app registration (client credentials grant)", required: true, secret: true },
  { name: "authorityUrl", description: "The Microsoft identity platform authority (default https://login.microsoftonline.com; a national cloud's authority otherwise)" },
  { name: "graphUrl", description: "The Microsoft Graph base URL (default https://graph.microsoft.com/v1.0)" },
  { name: "matchAttribute", description: 'User property to find the account by: "userPrincipalName" (default, the subject\'s userName) or "mail" (the primary email)' },
  { name: "accessTokenLifetimeMinutes", description: "Upper bound of an issued access token's lifetime, for the sign-out acknowledgement (default 90; raise it if a token lifetime policy applies)", type: "number" },
];

const text = (value: unknown): value is string => typeof value === "string" && value.trim() !== "";


/** Every problem with a config, each with its fix. No I/O. */
export function configProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const known = new Set(configFields.map((f) => f.name));
  for (const key of Object.keys(config)) if (!known.has(key)) problems.push(`${key} is not a microsoft-graph config field; known fields: ${[...known].join(", ")}`);
  if (!text(config.tenantId)) problems.push("tenantId is required: the Entra tenant id (Entra admin center → Overview → Tenant ID)");
  else if (!/^[A-Za-z0-9.-]+$/.test(config.tenantId)) problems.push("tenantId must be a GUID or a domain name");
  if (!text(config.clientId)) problems.push("clientId is required: the app registration's Application (client) ID");
  if (!text(config.clientSecret)) problems.push("clientSecret is required: a client secret's Value (not its Secret ID)");
  problems.push(...urlProblems("authorityUrl", config.authorityUrl), ...urlProblems("graphUrl", config.graphUrl));
  if (config.matchAttribute !== undefined && config.matchAttribute !== "userPrincipalName" && config.matchAttribute !== "mail") problems.push('matchAttribute must be "userPrincipalName" or "mail"');
  const minutes = config.accessTokenLifetimeMinutes;
  if (minutes !== undefined && !(typeof minutes === "number" && Number.isFinite(minutes) && minutes > 0 && minutes <= 24 * 60)) problems.push("accessTokenLifetimeMinutes must be a number of minutes between 1 and 1440");
  return problems;
}

const cache = new WeakMap<object, GraphSettings>();

/** The config with defaults, or `TargetError("permanent")` naming the problems and their fixes. */
export function settingsOf(config: GraphConfig): GraphSettings {
  const cached = cache.get(config);
  if (cached) return cached;
  const problems = configProblems((config ?? {}) as unknown as Record<string, unknown>);
  if (problems.length > 0) throw new TargetError("permanent", `microsoft-graph target config: ${problems.join("; ")}`);
  const authority = (config.authorityUrl ?? "https://login.microsoftonline.com").replace(/\/+$/, "");
  const graphUrl = (config.graphUrl ?? "https://graph.microsoft.com/v1.0").replace(/\/+$/, "");
  const settings: GraphSettings = {
    tenantId: config.tenantId,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    tokenUrl: `${authority}/${encodeURIComponent(config.tenantId)}/oauth2/v2.0/token`,
    graphUrl,
    scope: `${new URL(graphUrl).origin}/.default`,
    matchAttribute: config.matchAttribute ?? "userPrincipalName",
    accessTokenLifetimeMs: (config.accessTokenLifetimeMinutes ?? 90) * 60_000,
  };
  cache.set(config, settings);
  return settings;
}
