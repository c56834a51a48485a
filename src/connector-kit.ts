/**
 * The connector kit: the ONLY module a connector imports (STYLE.md "The connector contract").
 *
 * Terminology (DESIGN.md "Words"):
 * - connection: one IdP integration (a tenant); its SCIM users are the subjects.
 * - subject: the person an IdP event is about, as the bridge knows them (SCIM id, userName, emails).
 * - target: a registered instance of a connector kind, with its own config and policy.
 * - connector: the code (or declarative definition) that knows one kind of target's API.
 * - account: the subject's account in one target, as `findAccount` resolved it.
 * - entitlement: a target-side grant (team, role, group) mapped from an IdP group.
 * - operation: one event for one subject ("alice's offboarding"): deactivate, delete, revoke-entitlement.
 * - task: one operation's work in one target. step: one idempotent revoke call.
 * - probe: one read-only check. evidence: what a probe observed, with when and how.
 */
import type { Logger } from "./log.js";

/** What the bridge knows about the person an operation is about. */
export interface Subject {
  /** The connection (IdP tenant) the subject belongs to. */
  connectionId: string;
  /** The subject's SCIM id in the bridge. */
  id: string;
  userName: string;
  externalId?: string | null;
  displayName?: string | null;
  /** Email addresses, lower-cased, primary first when the IdP marked one. */
  emails: string[];
  /** The enterprise extension's attributes (employeeNumber, department, manager, …), when the IdP sent any. */
  enterprise?: Record<string, unknown>;
  /** Other extension schemas the IdP sent: schema URN → its attributes. */
  extensions?: Record<string, Record<string, unknown>>;
}

/** The subject's account in one target. `id` is the target-side identifier; `data` whatever else the connector needs later. */
export interface Account {
  id: string;
  /** Stored with the task as JSON and handed back to every later step and probe (Default: none). */
  data?: Record<string, unknown>;
}

export type Intent =
  | { kind: "deactivate" | "delete" }
  /** `entitlement` is the target-side id mapped from an IdP group by the target's policy. */
  | { kind: "revoke-entitlement"; entitlement: string };

export type IntentKind = Intent["kind"];

/** A probe's answer. A probe that cannot decide throws `TargetError`; it never guesses `revoked: true`. */
export type Probe =
  | { revoked: true; evidence: string }
  | { revoked: false; evidence: string };

export { TargetError, classifyHttpStatus, parseRetryAfter, type TargetErrorKind } from "./kit/errors.js";
export { urlProblems } from "./kit/config-checks.js";

export interface TargetResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** The parsed JSON body, the text when it is not JSON, or null when empty. */
  body: T;
}

export interface TargetRequest {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers?: Record<string, string>;
  /** Sent as JSON, with `content-type: application/json` unless `contentType` says otherwise. */
  json?: unknown;
  /** The body's media type, e.g. "application/scim+json" (Default: application/json). */
  contentType?: string;
  /** Appended to the URL's query string. */
  query?: Record<string, string | number | undefined>;
  /** Statuses that are answers rather than failures for this call (e.g. 404 on a lookup). Default: 2xx only. */
  accept?: readonly number[];
  /** Per-request timeout (Default: the target's, 10 s). */
  timeoutMs?: number;
}

/** `ctx.http`'s implementation: the engine builds one per task; a connector's own tests may too. */
export { targetHttp, shownPath, type RateGate, type TargetHttpOptions } from "./kit/target-http.js";

/**
 * HTTP for connectors: fetch with a timeout, the target's rate limit, and every failure turned
 * into a `TargetError` by `classifyHttpStatus` (a connector refines it where its vendor differs).
 */
export interface TargetHttp {
  request<T = unknown>(url: string, request?: TargetRequest): Promise<TargetResponse<T>>;
}

export interface TargetContext<C = unknown> {
  /** The target's config as registered (validated against `configFields`). */
  config: C;
  /** What this task is for: which plan runs and what `verify` must find gone. */
  intent: Intent;
  http: TargetHttp;
  /** A child logger scoped to {operationId, taskId, target, step}. */
  log: Logger;
  /** Aborted on shutdown, like graphile-worker's JobHelpers.abortSignal. */
  signal: AbortSignal;
  /** The engine's clock (injected in tests), like baton-sdk's builder.nowFunc. */
  now(): Date;
  /**
   * Waits for the target's rate limit (policy.maxRequestsPerSec) and any pause: a kind that talks
   * to its target outside `ctx.http` (a database, a directory) calls it before each connection or
   * request. `ctx.http` calls it itself (Default: absent in hand-made contexts: no pacing).
   */
  throttle?(): Promise<void>;
  /**
   * In `verify`: which probe of the task this is (1 = the first after the plan). A connector that
   * must not believe a first 404 (replication lag) answers not-revoked until a later probe
   * (Default: absent outside the engine).
   */
  probe?: number;
  /** In a step's `run`: records what the call answered beside the step (Default: absent outside the engine; call it as `ctx.note?.(…)`). */
  note?(note: StepNote): void;
}

export interface RevokeStep<C = unknown> {
  /**
   * Kebab-case verb and noun: "revoke-sessions", "suspend-user". A name means one effect across a
   * kind's plans: a deactivation extended into a delete skips the delete plan's steps whose names
   * are already done, so give steps with different effects different names.
   */
  readonly name: string;
  /** Set to false when no API can show the step's effect: the engine records it "acknowledged", never observed. */
  readonly observable?: false;
  /** Must be safe to run twice: revoking what is already gone answers "already-done". */
  run(account: Account, ctx: TargetContext<C>): Promise<"done" | "already-done">;
}

/** What a step may say about its call beyond done / already-done, through `ctx.note` (status, the console and receipts show it). */
export interface StepNote {
  /** What the call answered, e.g. "POST /users/42/signOut → 204" (never a secret). */
  evidence?: string;
  /**
   * For an unobservable step (sign-out, session revocation): when the tokens it could not reach
   * expire at the latest (an access token's lifetime): the acknowledgement says until when access may remain.
   */
  tokensExpireAt?: Date;
}

export interface ConfigField {
  name: string;
  description: string;
  required?: boolean;
  /** Encrypted at rest, never shown back by the admin API, never logged (Default: false). */
  secret?: boolean;
  /** The JSON type the value must have (Default: "string"). */
  type?: "string" | "number" | "boolean" | "object" | "string[]";
}

export interface Connector<C = unknown> {
  /** Equals the folder name: "github". */
  readonly id: string;
  /** Declared config fields, like baton-sdk's pkg/field/fields.go. */
  readonly configFields: readonly ConfigField[];
  /**
   * Optional: checks a config beyond the declared fields (shapes, URLs, a declarative definition),
   * with no I/O. Runs when a target is registered; returns each problem with its fix (Default: none).
   */
  checkConfig?(config: Record<string, unknown>): string[];
  /**
   * Optional: warnings shown when a target of this kind is registered, e.g. "the IdP may provision
   * this app directly: two writers" (Default: none). No I/O.
   */
  registrationWarnings?(config: Record<string, unknown>): string[];
  /** Checks credentials and scopes; run on registration and from the console. */
  validate(ctx: TargetContext<C>): Promise<void>;
  /** The subject's account, or null when there is none (null is observed absence: nothing to revoke). */
  findAccount(subject: Subject, ctx: TargetContext<C>): Promise<Account | null>;
  readonly plans: {
    deactivate: readonly RevokeStep<C>[];
    /** Absent: delete runs the deactivate plan. */
    delete?: readonly RevokeStep<C>[];
    /** Absent: the kind has no entitlements. */
    "revoke-entitlement"?: readonly RevokeStep<C>[];
  };
  /**
   * Optional: the plan for one target's config, for a kind whose steps each target defines (the
   * declarative `http` kind). Returns undefined to use `plans`; throws TargetError for a config
   * without a plan for the intent (Default: absent, `plans` is the plan).
   */
  plansFor?(config: C, intent: IntentKind): readonly RevokeStep<C>[] | undefined;
  /** Read-only, always. `ctx.intent` says what must be gone. */
  verify(account: Account, ctx: TargetContext<C>): Promise<Probe>;
}

/** The plan a task runs for an intent and (for kinds with `plansFor`) a target's config, with the documented fallbacks. */
export function planFor<C>(connector: Connector<C>, intent: IntentKind, config?: C): readonly RevokeStep<C>[] {
  const own = config !== undefined ? connector.plansFor?.(config, intent) : undefined;
  if (own) return own;
  if (intent === "delete") return connector.plans.delete ?? connector.plans.deactivate;
  if (intent === "revoke-entitlement") return connector.plans["revoke-entitlement"] ?? [];
  return connector.plans.deactivate;
}
