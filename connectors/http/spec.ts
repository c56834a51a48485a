/**
 * The http kind's config and its compiled form: the requests and conditions the connector runs,
 * each with the path (`definition.plans.deactivate[0].request`) its messages name. `definition.ts`
 * builds it from what the app owner wrote; `exchange.ts` runs it.
 */
import type { IntentKind, TargetErrorKind } from "../../src/connector-kit.js";
import type { Condition } from "./conditions.js";
import type { JsonPath } from "./json-path.js";
import type { Problems } from "./problems.js";
import type { JsonTemplate, Template, TemplateUse } from "./template.js";

/** The target config (every top-level key of the target file except `policy`). */
export interface HttpConfig {
  /** The API root every request path is relative to: `https://api.example.com/v2`. */
  baseUrl: string;
  /** Plain values for `{{vars.<name>}}` (an org id, a directory id). */
  vars?: Record<string, string | number | boolean>;
  /** Secret values for `{{secrets.<name>}}`: encrypted at rest, never shown back, never in evidence. */
  secrets?: Record<string, string>;
  /** Allows `http://` to a host other than loopback (Default: false: secrets travel over TLS only). */
  allowInsecureHttp?: boolean;
  /** The requests and conditions (README.md "Definition"). */
  definition: Record<string, unknown>;
}

export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type Method = (typeof METHODS)[number];
export const STEP_METHODS: readonly Method[] = ["POST", "PUT", "PATCH", "DELETE"];
export const ERROR_KINDS: readonly TargetErrorKind[] = ["retryable", "rate-limited", "auth", "permanent"];
export const INTENTS: readonly IntentKind[] = ["deactivate", "delete", "revoke-entitlement"];
export const SUBJECT_FIELDS = ["id", "connectionId", "userName", "externalId", "displayName", "emails", "enterprise", "extensions"];
export const STEP_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/;
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Default wait when an `errors` rule says rate-limited and the answer has no Retry-After. */
export const DEFAULT_RETRY_AFTER_MS = 60_000;
export const MAX_TIMEOUT_MS = 60_000;

export interface RequestSpec {
  /** `definition.plans.deactivate[0].request`, for messages. */
  at: string;
  method: Method;
  path: Template;
  query: readonly [string, Template][];
  /** The definition's headers, then the request's (a request header replaces one of the same name). */
  headers: readonly [string, Template][];
  body?: JsonTemplate;
  timeoutMs?: number;
}

export interface ErrorRule {
  at: string;
  when: Condition;
  kind: TargetErrorKind;
  message?: string;
  retryAfterMs?: number;
}

/** One request and how its answers are judged. `accept`: the non-2xx statuses the conditions name. */
export interface Exchange {
  request: RequestSpec;
  errors: readonly ErrorRule[];
  accept: readonly number[];
}

export interface ValidateSpec extends Exchange { ok: Condition }
export interface Capture { at: string; path?: JsonPath; template?: Template }
export interface FindSpec extends Exchange { found: Condition; absent: Condition; id: JsonPath; data: readonly [string, Capture][] }
export interface StepSpec extends Exchange { name: string; observable: boolean; done: Condition; alreadyDone?: Condition }
export interface ProbeSpec extends Exchange { revoked: Condition; notRevoked: Condition }

export interface CompiledDefinition {
  baseUrl: string;
  vars: Readonly<Record<string, unknown>>;
  secrets: Readonly<Record<string, string>>;
  validate: ValidateSpec;
  find: FindSpec;
  plans: Partial<Record<IntentKind, readonly StepSpec[]>>;
  verify: Partial<Record<IntentKind, readonly ProbeSpec[]>>;
}

/** Where a template is, to know which roots it may use. */
export type Section = "validate" | "find" | "capture" | IntentKind;

/** What the definition's parsers share while checking one config. */
export interface Ctx {
  problems: Problems;
  uses: (TemplateUse & { section: Section })[];
  headers: readonly [string, Template][];
  errors: readonly ErrorRule[];
}

/** Runs a parse that records template uses, and files them under the section they are in. */
export function collect<T>(ctx: Ctx, section: Section, parse: (uses: TemplateUse[]) => T): T {
  const uses: TemplateUse[] = [];
  const result = parse(uses);
  ctx.uses.push(...uses.map((u) => ({ ...u, section })));
  return result;
}
