/**
 * The github connector's config: its declared fields, the shape checks (`checkConfig` at
 * registration, `settingsOf` before every call), the defaults and the registration warnings.
 */
import { TargetError, urlProblems, type ConfigField } from "../../src/connector-kit.js";

/** Which of the subject's values is the GitHub login. */
export type LoginFrom = "userName" | "userName-local-part" | "externalId";

/** A target's config as registered. */
export interface GithubConfig {
  /** The organization's login, e.g. "acme". */
  org: string;
  /** A GitHub App installation token (recommended) or an org owner's PAT; sent as `Authorization: Bearer`. */
  token: string;
  /** The REST base (Default: https://api.github.com). */
  baseUrl?: string;
  /** The `X-GitHub-Api-Version` sent (Default: 2022-11-28, the version this connector was tested against). */
  apiVersion?: string;
  /** Which subject value is the GitHub login (Default: userName). */
  loginFrom?: LoginFrom;
  /** The org enforces SAML SSO (GitHub Enterprise Cloud): revoke and verify the person's SSO credential authorizations (Default: false). */
  samlSso?: boolean;
  /** The token is a GitHub App installation token: revoke and verify fine-grained PAT access to the org (Default: false). */
  fineGrainedTokens?: boolean;
  /** The IdP already provisions this org or its enterprise through SAML/SCIM (Default: false): registration warns of two writers. */
  scimProvisioned?: boolean;
}

export interface GithubSettings {
  org: string;
  baseUrl: string;
  authorization: string;
  apiVersion: string;
  loginFrom: LoginFrom;
  samlSso: boolean;
  fineGrainedTokens: boolean;
}

const LOGIN_FROM: readonly LoginFrom[] = ["userName", "userName-local-part", "externalId"];
/** GitHub logins and org names: alphanumerics and single hyphens, not at the ends, at most 39 characters. */
export const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

export const configFields: readonly ConfigField[] = [
  { name: "org", description: "The GitHub organization's login, e.g. acme", required: true },
  { name: "token", description: "A GitHub App installation token (recommended) or an org owner's personal access token", required: true, secret: true },
  { name: "baseUrl", description: "The REST API base (default https://api.github.com)" },
  { name: "apiVersion", description: "The X-GitHub-Api-Version header (default 2022-11-28)" },
  { name: "loginFrom", description: 'Which subject value is the GitHub login: "userName" (default), "userName-local-part" (the part before @) or "externalId"' },
  { name: "samlSso", description: "The org enforces SAML SSO (GitHub Enterprise Cloud): revoke the person's SSO credential authorizations first (default false)", type: "boolean" },
  { name: "fineGrainedTokens", description: "The token is a GitHub App installation token: also revoke the person's fine-grained PAT access to the org (default false)", type: "boolean" },
  { name: "scimProvisioned", description: "The IdP already provisions this org (or its enterprise) through SAML/SCIM: registration warns of two writers (default false)", type: "boolean" },
];

const text = (value: unknown): value is string => typeof value === "string" && value.trim() !== "";

/** Every problem with a config, each with its fix. No I/O. */
export function configProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const known = new Set(configFields.map((f) => f.name));
  for (const key of Object.keys(config)) if (!known.has(key)) problems.push(`${key} is not a github config field; known fields: ${[...known].join(", ")}`);
  if (!text(config.org)) problems.push("org is required: the organization's login, e.g. acme");
  else if (!LOGIN.test(config.org)) problems.push(`org ${JSON.stringify(config.org)} is not an organization login (letters, digits and single hyphens)`);
  if (!text(config.token)) problems.push("token is required: a GitHub App installation token or an org owner's personal access token");
  problems.push(...urlProblems("baseUrl", config.baseUrl));
  if (config.apiVersion !== undefined && !(typeof config.apiVersion === "string" && /^\d{4}-\d{2}-\d{2}$/.test(config.apiVersion))) problems.push("apiVersion must be a date like 2022-11-28");
  if (config.loginFrom !== undefined && !(typeof config.loginFrom === "string" && (LOGIN_FROM as readonly string[]).includes(config.loginFrom))) problems.push(`loginFrom must be one of ${LOGIN_FROM.join(", ")}`);
  for (const flag of ["samlSso", "fineGrainedTokens", "scimProvisioned"]) if (config[flag] !== undefined && typeof config[flag] !== "boolean") problems.push(`${flag} must be true or false`);
  return problems;
}

/** The trap of two writers (targets-reference §2.3): shown at registration, no I/O. */
export function registrationWarnings(config: Record<string, unknown>): string[] {
  if (config.scimProvisioned !== true) return [];
  return [
    "scimProvisioned: the IdP already provisions this GitHub org or enterprise through SAML/SCIM. GitHub wants one SCIM writer; this connector never writes SCIM, " +
      "but the IdP may re-add a person it still assigns, or remove them itself: unassign the person from the IdP's GitHub app too, and expect removals here to be undone if the IdP still assigns them. " +
      "With Enterprise Managed Users, suspend through the IdP instead.",
  ];
}

const cache = new WeakMap<object, GithubSettings>();

/** The config with defaults, or `TargetError("permanent")` naming the problems and their fixes. */
export function settingsOf(config: GithubConfig): GithubSettings {
  const cached = cache.get(config);
  if (cached) return cached;
  const problems = configProblems((config ?? {}) as unknown as Record<string, unknown>);
  if (problems.length > 0) throw new TargetError("permanent", `github target config: ${problems.join("; ")}`);
  const settings: GithubSettings = {
    org: config.org,
    baseUrl: (config.baseUrl ?? "https://api.github.com").replace(/\/+$/, ""),
    authorization: `Bearer ${config.token}`,
    apiVersion: config.apiVersion ?? "2022-11-28",
    loginFrom: config.loginFrom ?? "userName",
    samlSso: config.samlSso ?? false,
    fineGrainedTokens: config.fineGrainedTokens ?? false,
  };
  cache.set(config, settings);
  return settings;
}
