/**
 * The aws-iam connector's config: its declared fields, the shape checks (`checkConfig` at
 * registration, `settingsOf` before every call) and the defaults, all in one place.
 */
import { TargetError, urlProblems, type ConfigField } from "../../src/connector-kit.js";

/** A target's config as registered (every key of the target config file except `policy`). */
export interface AwsIamConfig {
  /** The SDK's signing region; IAM is global, so any commercial region works (Default: us-east-1). */
  region?: string;
  /** Long-term access key id of the connector's own IAM principal. Omit with the secret to use the default credential chain. */
  accessKeyId?: string;
  /** Its secret access key (secret). */
  secretAccessKey?: string;
  /** Another IAM endpoint (a VPC endpoint, GovCloud, or a test double): `https://iam.amazonaws.com` by default. */
  endpoint?: string;
  /**
   * How the IAM user name is made from the subject: `{userName}` (the whole SCIM userName) and
   * `{localPart}` (the userName before its last `@`) are replaced (Default: `{localPart}`).
   */
  userNameTemplate?: string;
}

export interface AwsIamSettings {
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  endpoint?: string;
  userNameTemplate: string;
}

export const DEFAULT_TEMPLATE = "{localPart}";
const PLACEHOLDERS = new Set(["{userName}", "{localPart}"]);

export const configFields: readonly ConfigField[] = [
  { name: "region", description: "Signing region for the IAM client (IAM is global; default us-east-1)" },
  { name: "accessKeyId", description: "Access key id of the connector's IAM principal; omit it and secretAccessKey to use the default AWS credential chain (instance role, env, SSO)" },
  { name: "secretAccessKey", description: "Secret access key for accessKeyId", secret: true },
  { name: "endpoint", description: "IAM endpoint URL, only to override the SDK's default (e.g. a VPC endpoint); https:// unless loopback" },
  { name: "userNameTemplate", description: "IAM user name made from the subject: {userName} and {localPart} (before the last @) are replaced; default {localPart}" },
];

const text = (value: unknown): value is string => typeof value === "string" && value.trim() !== "";

/** Every problem with a config, each with its fix. Empty: the config is usable. No I/O. */
export function configProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const known = new Set(configFields.map((f) => f.name));
  for (const key of Object.keys(config)) if (!known.has(key)) problems.push(`${key} is not an aws-iam config field; known fields: ${[...known].join(", ")}`);

  if (config.region !== undefined && !(text(config.region) && /^[a-z]{2}(-[a-z]+)+-\d+$/.test(config.region))) problems.push('region must be an AWS region name such as "us-east-1"');
  const hasId = config.accessKeyId !== undefined;
  const hasSecret = config.secretAccessKey !== undefined;
  if (hasId !== hasSecret) problems.push("give accessKeyId and secretAccessKey together, or neither to use the default credential chain");
  if (hasId && !(text(config.accessKeyId) && /^[A-Z0-9]{16,128}$/.test(config.accessKeyId))) problems.push("accessKeyId must be an AWS access key id (16–128 upper-case letters and digits, e.g. AKIA…)");
  if (hasSecret && !text(config.secretAccessKey)) problems.push("secretAccessKey must be a non-empty string");

  problems.push(...urlProblems("endpoint", config.endpoint));

  if (config.userNameTemplate !== undefined) {
    if (!text(config.userNameTemplate)) problems.push("userNameTemplate must be a non-empty string, e.g. {localPart}");
    else {
      const used = config.userNameTemplate.match(/\{[^}]*\}/g) ?? [];
      for (const p of used) if (!PLACEHOLDERS.has(p)) problems.push(`userNameTemplate placeholder ${p} is unknown; use {userName} or {localPart}`);
      if (used.length === 0) problems.push("userNameTemplate must contain {userName} or {localPart}, or every subject would map to one IAM user");
    }
  }
  return problems;
}

const cache = new WeakMap<object, AwsIamSettings>();

/** The config with defaults, or `TargetError("permanent")` naming the first problem and its fix. */
export function settingsOf(config: AwsIamConfig): AwsIamSettings {
  const cached = cache.get(config);
  if (cached) return cached;
  const problems = configProblems((config ?? {}) as unknown as Record<string, unknown>);
  if (problems.length > 0) throw new TargetError("permanent", `aws-iam target config: ${problems.join("; ")}`);
  const settings: AwsIamSettings = {
    region: config.region ?? "us-east-1",
    ...(config.accessKeyId && config.secretAccessKey ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint.replace(/\/+$/, "") } : {}),
    userNameTemplate: config.userNameTemplate ?? DEFAULT_TEMPLATE,
  };
  cache.set(config, settings);
  return settings;
}

/** IAM user names: `[\w+=,.@-]{1,64}` (API reference, CreateUser UserName). */
export const IAM_USER_NAME = /^[\w+=,.@-]{1,64}$/;

/** The IAM user name for a SCIM userName under the template; null when the result cannot be an IAM user name. */
export function iamUserNameOf(userName: string, template: string): string | null {
  const at = userName.lastIndexOf("@");
  const localPart = at > 0 ? userName.slice(0, at) : userName;
  const name = template.replaceAll("{userName}", userName).replaceAll("{localPart}", localPart);
  return IAM_USER_NAME.test(name) ? name : null;
}
