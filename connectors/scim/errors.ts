/**
 * SCIM error answers → TargetError. The engine's `ctx.http` classifies by status alone
 * (429 rate-limited, 401/403 auth, 408/5xx retryable, other 4xx permanent); a SCIM service
 * provider says more in its error body (RFC 7644 §3.12: `status`, `scimType`, `detail`), and
 * several answers mean "this target needs another config", which only a message naming the
 * config change can fix.
 */
import { classifyHttpStatus, TargetError, type TargetErrorKind } from "../../src/connector-kit.js";
import type { DeactivateWith } from "./config.js";

/** Which call failed: decides what a 400, 404 or 501 means and which fix the message names. */
export type ScimCall =
  | { kind: "deactivate"; mode: DeactivateWith }
  | { kind: "delete-user" }
  | { kind: "remove-member" }
  | { kind: "search"; resource: "Users" | "Groups"; attribute: string }
  | { kind: "read"; resource: "Users" | "Groups" };

/** The parts of a SCIM error body the classifier reads (RFC 7644 §3.12). */
export interface ScimErrorBody {
  scimType?: string;
  detail?: string;
}

/** Statuses the connector reads a SCIM error body for; the others keep `ctx.http`'s classification. */
export const REFINED_STATUSES: readonly number[] = [400, 404, 409, 412, 500, 501];

export function errorBodyOf(body: unknown): ScimErrorBody {
  if (typeof body !== "object" || body === null) return {};
  const b = body as Record<string, unknown>;
  return {
    ...(typeof b.scimType === "string" ? { scimType: b.scimType } : {}),
    ...(typeof b.detail === "string" ? { detail: b.detail } : {}),
  };
}

const ALTERNATIVES: Record<DeactivateWith, string> = {
  "patch-path": "set deactivateWith: patch-no-path, or put",
  "patch-no-path": "set deactivateWith: patch-path, or put",
  put: "set deactivateWith: patch-path",
  delete: "set deactivateWith: patch-path (DELETE is not allowed here)",
};

const SHAPES: Record<DeactivateWith, string> = {
  "patch-path": 'PATCH with path "active"',
  "patch-no-path": 'PATCH without a path (value {"active": false})',
  put: "PUT of the whole user with active=false",
  delete: "DELETE of the user",
};

/**
 * The kind and message for a failed SCIM call. `what` is "METHOD /path" (never the query: a
 * filter carries the person's userName or email). The service provider's `detail` is quoted only
 * for PATCH and DELETE, whose bodies hold nothing personal (a PUT carries the whole user), and cut short.
 */
export function classifyScimError(status: number, body: ScimErrorBody, call: ScimCall, what: string): { kind: TargetErrorKind; message: string } {
  const type = body.scimType ? ` ${body.scimType}` : "";
  const quotable = call.kind === "remove-member" || call.kind === "delete-user" || (call.kind === "deactivate" && call.mode !== "put");
  const quoted = quotable && body.detail ? `: "${body.detail.slice(0, 160)}"` : "";
  const answered = `${what} answered ${status}${type}${quoted}`;
  const permanent = (fix: string) => ({ kind: "permanent" as const, message: `${answered}; ${fix}` });

  if (status === 501) {
    if (call.kind === "deactivate") {
      const fix = call.mode === "put" ? "set deactivateWith: patch-path" : call.mode === "delete" ? "set deactivateWith: patch-path, or put" : "set deactivateWith: put";
      return permanent(`the service provider does not implement ${call.mode === "put" ? "PUT" : call.mode === "delete" ? "DELETE" : "PATCH"}: ${fix}`);
    }
    if (call.kind === "remove-member") return permanent("the service provider cannot change group members without PATCH: map no entitlements to this target and keep removeGroupsOnDeactivate false");
    return permanent("the service provider does not implement this SCIM request");
  }
  if (status === 404 && call.kind === "search") {
    return permanent(`there is no /${call.resource} endpoint at baseUrl: check that baseUrl is the SCIM base, ending before /Users`);
  }
  if (status === 400 && call.kind === "search") {
    if (body.scimType === "tooMany") return permanent("the service provider refuses the search as too broad; report it to the app's vendor");
    return permanent(`the service provider does not support filtering ${call.resource} on ${call.attribute}: ${call.resource === "Users" ? "set matchAttribute to one it supports (userName or externalId)" : "set groupEntitlements: id"}`);
  }
  if (status === 400 && call.kind === "deactivate") {
    if (call.mode === "put" && body.scimType === "mutability") return permanent(`the service provider refuses to have attributes of the user written back: ${ALTERNATIVES.put}`);
    return permanent(`the service provider refused ${SHAPES[call.mode]}: ${ALTERNATIVES[call.mode]}`);
  }
  if (status === 400 && call.kind === "remove-member") {
    return permanent('the service provider refused PATCH remove with path members[value eq "…"] (RFC 7644 §3.5.2.2), the only member removal this connector sends: map no entitlements to this target and keep removeGroupsOnDeactivate false');
  }
  if (status === 409) {
    if (body.scimType === "uniqueness") return permanent("the service provider reports a uniqueness conflict on writing the user back; set deactivateWith: patch-path");
    return { kind: "retryable", message: `${answered}; the resource changed concurrently, the step re-reads it on retry` };
  }
  if (status === 412) return { kind: "retryable", message: `${answered}; the user changed between read and write (ETag), the step re-reads it on retry` };
  if (status === 500 && call.kind === "deactivate" && call.mode === "patch-no-path") {
    return { kind: "retryable", message: `${answered}; if this persists, the service provider may not handle PATCH without a path (Keycloak answers 500 "Unsupported attribute: null"): set deactivateWith: patch-path` };
  }
  const kind = classifyHttpStatus(status) ?? "permanent";
  return { kind, message: answered };
}

/** `classifyScimError` as a TargetError. */
export function scimError(status: number, body: unknown, call: ScimCall, what: string, retryAfterMs?: number): TargetError {
  const { kind, message } = classifyScimError(status, errorBodyOf(body), call, what);
  const retry = retryAfterMs !== undefined && kind === "retryable" ? { retryAfterMs } : {};
  return new TargetError(kind, message, { status, ...retry });
}
