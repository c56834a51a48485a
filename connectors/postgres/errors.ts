/**
 * PostgreSQL failures as TargetErrors. The server's SQLSTATE decides (Appendix A of the manual);
 * a failure without one is the network's or the client's. Messages carry what failed and the
 * server's words, never a connection string or a password.
 */
import { TargetError, type TargetErrorKind } from "../../src/connector-kit.js";

/** SQLSTATE → kind. Class 28 and 42501: the login or its privileges; connection trouble, shutdowns, timeouts, resources, serialization: retry; the rest: a human. */
export function kindOfSqlState(code: string): TargetErrorKind {
  if (code.startsWith("28") || code === "42501") return "auth"; // invalid authorization / password; insufficient_privilege
  if (code.startsWith("08")) return "retryable"; // connection exceptions
  if (/^57P0[1-5]$/.test(code)) return "retryable"; // admin/crash shutdown, cannot_connect_now, database_dropped, idle_session_timeout
  if (code === "57014") return "retryable"; // query_canceled: our statement_timeout fired (a lock held by someone else)
  if (code === "55P03") return "retryable"; // lock_not_available
  if (code.startsWith("53")) return "retryable"; // insufficient resources, 53300 too_many_connections
  if (code === "40001" || code === "40P01") return "retryable"; // serialization_failure, deadlock_detected
  return "permanent";
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "ECONNABORTED"]);
/** node-postgres's own words for a dropped or timed-out connection (it gives them no code). */
const CLIENT_RETRYABLE = /connection terminated|timeout expired|query read timeout|connection timeout|socket hang up/i;
/** node-postgres's words when the server wants a password it was not given. */
const CLIENT_AUTH = /^SASL: |password must be a string|client password/i;

export const isSqlState = (code: unknown): code is string => typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);

export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return isSqlState(code) ? code : undefined;
}

/** How the engine should treat a failure that is not yet a TargetError. */
export function kindOfError(error: unknown): TargetErrorKind {
  const code = (error as { code?: unknown } | null)?.code;
  if (isSqlState(code)) return kindOfSqlState(code);
  if (typeof code === "string" && NETWORK_CODES.has(code)) return "retryable";
  const message = error instanceof Error ? error.message : String(error);
  if (CLIENT_AUTH.test(message)) return "auth";
  if (CLIENT_RETRYABLE.test(message)) return "retryable";
  return "permanent";
}

/** The server's message with its SQLSTATE, or the client's with its code. */
export function describe(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown } | null;
  const message = typeof e?.message === "string" && e.message !== "" ? e.message : String(error);
  return typeof e?.code === "string" ? `${message} (${isSqlState(e.code) ? "SQLSTATE " : ""}${e.code})` : message;
}

const HINT: Partial<Record<TargetErrorKind, string>> = {
  auth: "; check the connector's login and its privileges (README \"Least privilege\")",
};

/** `action` failed: wraps the cause, keeping a TargetError as it is. */
export function toTargetError(error: unknown, action: string): TargetError {
  if (error instanceof TargetError) return error;
  const kind = kindOfError(error);
  return new TargetError(kind, `${action}: ${describe(error)}${HINT[kind] ?? ""}`, { cause: error });
}
