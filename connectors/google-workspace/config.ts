/**
 * The google-workspace connector's config: its declared fields, the shape checks (`checkConfig`
 * at registration, `settingsOf` before every call) and the defaults, in one place.
 */
import { TargetError, urlProblems, type ConfigField } from "../../src/connector-kit.js";

/** A target's config as registered. */
export interface GoogleWorkspaceConfig {
  /** The service account's client email: `bridge@project.iam.gserviceaccount.com`. */
  clientEmail: string;
  /** The service account's private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as in its JSON key file. Secret. */
  privateKey: string;
  /** The admin user the service account impersonates through domain-wide delegation (the JWT's `sub`). */
  adminEmail: string;
  /** The OAuth token endpoint (Default: https://oauth2.googleapis.com/token). */
  tokenUri?: string;
  /** The Admin SDK base URL, before `/admin/directory/v1` (Default: https://admin.googleapis.com). */
  baseUrl?: string;
}

export interface GoogleWorkspaceSettings {
  clientEmail: string;
  privateKey: string;
  adminEmail: string;
  tokenUri: string;
  /** Ends with /admin/directory/v1, no trailing slash. */
  directoryUrl: string;
}

export const DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token";
export const DEFAULT_BASE_URL = "https://admin.googleapis.com";

/**
 * Least-privilege scopes, all requested in one token (each must be authorised for the client id
 * under Admin console → Security → API controls → Domain-wide delegation).
 */
export const SCOPES = [
  "https://www.googleapis.com/auth/admin.directory.user",
  "https://www.googleapis.com/auth/admin.directory.user.security",
  "https://www.googleapis.com/auth/admin.directory.group.member",
  "https://www.googleapis.com/auth/admin.directory.group.readonly",
] as const;


export const configFields: readonly ConfigField[] = [
  { name: "clientEmail", description: "The service account's client email (client_email in its JSON key), e.g. bridge@project.iam.gserviceaccount.com", required: true },
  { name: "privateKey", description: "The service account's private key (private_key in its JSON key), PKCS#8 PEM", required: true, secret: true },
  { name: "adminEmail", description: "The Workspace admin the service account impersonates (domain-wide delegation); needs the User Management and Groups admin privileges", required: true },
  { name: "tokenUri", description: `OAuth token endpoint (default ${DEFAULT_TOKEN_URI})` },
  { name: "baseUrl", description: `Admin SDK base URL, before /admin/directory/v1 (default ${DEFAULT_BASE_URL})` },
];

const text = (value: unknown): value is string => typeof value === "string" && value.trim() !== "";
const email = (value: unknown): boolean => text(value) && /^[^@\s]+@[^@\s]+$/.test(value);


/** Every problem with a config, each with its fix. No I/O. Never quotes the private key. */
export function configProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const known = new Set(configFields.map((f) => f.name));
  for (const key of Object.keys(config)) if (!known.has(key)) problems.push(`${key} is not a google-workspace config field; known fields: ${[...known].join(", ")}`);
  if (!email(config.clientEmail)) problems.push("clientEmail is required: the service account's client_email from its JSON key");
  if (!text(config.privateKey)) problems.push("privateKey is required: the service account's private_key from its JSON key");
  else if (!/-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/.test(config.privateKey)) {
    problems.push("privateKey must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----), as private_key in the service account's JSON key file; convert an RSA key with `openssl pkcs8 -topk8 -nocrypt`");
  }
  if (!email(config.adminEmail)) problems.push("adminEmail is required: the email of the Workspace admin to impersonate");
  problems.push(...urlProblems("tokenUri", config.tokenUri), ...urlProblems("baseUrl", config.baseUrl));
  if (text(config.baseUrl) && /\/admin\/directory/.test(config.baseUrl)) problems.push("baseUrl must end before /admin/directory/v1, e.g. https://admin.googleapis.com");
  return problems;
}

const cache = new WeakMap<object, GoogleWorkspaceSettings>();

/** The config with defaults, or `TargetError("permanent")` naming the problems. */
export function settingsOf(config: GoogleWorkspaceConfig): GoogleWorkspaceSettings {
  const cached = cache.get(config);
  if (cached) return cached;
  const problems = configProblems((config ?? {}) as unknown as Record<string, unknown>);
  if (problems.length > 0) throw new TargetError("permanent", `google-workspace target config: ${problems.join("; ")}`);
  const settings: GoogleWorkspaceSettings = {
    clientEmail: config.clientEmail,
    privateKey: config.privateKey,
    adminEmail: config.adminEmail,
    tokenUri: config.tokenUri ?? DEFAULT_TOKEN_URI,
    directoryUrl: `${(config.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "")}/admin/directory/v1`,
  };
  cache.set(config, settings);
  return settings;
}
