/**
 * Graph and token-endpoint answers → TargetError. `ctx.http` classifies by status alone; Graph
 * says more in its error body (`{"error": {"code", "message"}}`), and the identity platform in
 * its OAuth error (`{"error": "invalid_client", "error_codes": [7000215]}`). The refinements:
 *
 * - 429 (Graph throttling, `MSG-THROTTLE`) → rate-limited with `Retry-After` seconds.
 * - 503 / 504 → retryable, honouring `Retry-After` when Graph sends one (it does under load).
 * - 401 / 403 → auth, the message naming the permission the call needs (403
 *   `Authorization_RequestDenied` is a missing application permission or admin role).
 * - 403 on a member removal → auth, naming both causes: the permission, or a dynamic,
 *   on-premises-synced or role-assignable group (Graph answers those with the same 403
 *   `Authorization_RequestDenied` "Insufficient privileges" [obs: microsoft-graph-docs#14806,
 *   msgraph-sdk-powershell#1539]); a 400 there → permanent with the same fix.
 * - Token endpoint 400/401 `invalid_client`, `unauthorized_client`, `invalid_request` with an
 *   unknown tenant → auth (the credentials or tenant are wrong, a retry cannot fix them).
 */
import { classifyHttpStatus, TargetError, type TargetErrorKind } from "../../src/connector-kit.js";

/** What the call is for: decides the message's fix and what a 400 means. */
export type GraphCall = "token" | "find-user" | "read-user" | "disable-user" | "delete-user" | "revoke-sessions" | "list-memberships" | "remove-member" | "list-app-roles" | "remove-app-role" | "read-deleted";

/** Every error status: the connector classifies them all itself. */
export const ERROR_STATUSES: readonly number[] = [400, 401, 403, 404, 405, 409, 412, 423, 429, 500, 502, 503, 504];

const PERMISSION: Record<GraphCall, string> = {
  token: "a valid client id, client secret and tenant id",
  "find-user": "User.Read.All",
  "read-user": "User.Read.All",
  "read-deleted": "User.Read.All",
  "disable-user": "User.EnableDisableAccount.All (and a privileged admin role for admin users)",
  "delete-user": "User.ReadWrite.All",
  "revoke-sessions": "User.RevokeSessions.All",
  "list-memberships": "GroupMember.Read.All",
  "remove-member": "GroupMember.ReadWrite.All",
  "list-app-roles": "AppRoleAssignment.ReadWrite.All (or Directory.Read.All to read)",
  "remove-app-role": "AppRoleAssignment.ReadWrite.All",
};

/** The error code Graph or the token endpoint put in the body, if any. Never the message text of a token error (it can quote the client id). */
export function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string") return (error as { code: string }).code;
  return undefined;
}

/** An error answer as a TargetError. `what` is "METHOD /path" without the query string. */
export function graphError(status: number, body: unknown, call: GraphCall, what: string, retryAfterMs?: number): TargetError {
  const code = errorCodeOf(body);
  const said = code ? ` (${code})` : "";
  const detail = { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  const error = (kind: TargetErrorKind, message: string) => new TargetError(kind, `${what} answered ${status}${said}: ${message}`, detail);

  if (call === "token") {
    if (status === 400 || status === 401) return error("auth", "the identity platform refused the client credentials; check tenantId, clientId and that clientSecret is a current secret's Value");
    if (status === 429) return error("rate-limited", "the token endpoint is throttling");
    if (status >= 500) return error("retryable", "the token endpoint failed");
    return error("permanent", "unexpected answer from the token endpoint; check authorityUrl");
  }
  if (status === 429) return error("rate-limited", "Graph is throttling this app; waiting for Retry-After");
  if (status === 503 || status === 504) return error("retryable", "Graph is unavailable; retrying");
  if (status === 401) return error("auth", "the access token was refused; check the app registration and tenant");
  if (status === 403 && call === "remove-member") return error("auth", `the membership cannot be removed: grant ${PERMISSION[call]} with admin consent; if it is granted, the group is dynamic, synced from on-premises or role-assignable (needs RoleManagement.ReadWrite.Directory): remove it at its source`);
  if (status === 403) return error("auth", `the app lacks the permission for this call; grant the application permission ${PERMISSION[call]} with admin consent`);
  if (status === 400 && call === "remove-member") return error("permanent", "the membership cannot be edited through Graph: the group may be dynamic, synced from on-premises or role-assignable (needs RoleManagement.ReadWrite.Directory); remove it at its source");
  if (status === 404 && call === "find-user") return error("permanent", "the users collection is not there; check graphUrl (it ends in /v1.0)");
  if (status === 409 || status === 412 || status === 423) return error("retryable", "a concurrent change; the step reads again on retry");
  const kind = classifyHttpStatus(status) ?? "permanent";
  return error(kind, kind === "permanent" ? "unexpected answer" : "retrying");
}
