/**
 * LDAP outcomes as TargetErrors (STYLE.md "Errors"). LDAP has no 429: a directory that is busy
 * says `busy` (51) or `unavailable` (52), and both are retried like a 5xx.
 *
 * | result code                                   | kind      |
 * |-----------------------------------------------|-----------|
 * | 48 inappropriateAuthentication                | auth      |
 * | 49 invalidCredentials                         | auth      |
 * | 50 insufficientAccessRights                   | auth      |
 * | 3 timeLimitExceeded, 51 busy, 52 unavailable  | retryable |
 * | connection refused/reset/timed out, DNS again | retryable |
 * | TLS certificate not trusted or not matching   | permanent |
 * | every other result code                       | permanent |
 */
import { ResultCodeError } from "ldapts";
import { TargetError, type TargetErrorKind } from "../../src/connector-kit.js";

/** LDAP result codes (RFC 4511 Appendix A) the connector names or acts on. */
export const LDAP = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  strongerAuthRequired: 8,
  adminLimitExceeded: 11,
  confidentialityRequired: 13,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  invalidDNSyntax: 34,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  namingViolation: 64,
  objectClassViolation: 65,
  notAllowedOnNonLeaf: 66,
  other: 80,
} as const;

const NAMES = new Map<number, string>(Object.entries(LDAP).map(([name, code]) => [code, name]));

/** The kind a result code is, for the table above. */
export function kindOfResultCode(code: number): TargetErrorKind {
  if (code === LDAP.inappropriateAuthentication || code === LDAP.invalidCredentials || code === LDAP.insufficientAccessRights) return "auth";
  if (code === LDAP.timeLimitExceeded || code === LDAP.busy || code === LDAP.unavailable) return "retryable";
  return "permanent";
}

/** Network failures worth another attempt (Node's system error codes). */
const RETRYABLE_SYSTEM = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "EHOSTDOWN", "ENETUNREACH", "ENETDOWN", "EPIPE", "EAI_AGAIN"]);
/** ldapts' own messages for a lost connection or an operation past its timeout. */
const RETRYABLE_MESSAGES = [/Connection timeout/, /Operation timed out/, /Socket error/, /Connection closed/, /Socket connection not established/];
/** TLS verification failures: a setting to fix, not a moment to wait for. */
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL/;

/** The LDAP result code of an error thrown by ldapts, if it carries one. */
export const resultCodeOf = (error: unknown): number | undefined => (error instanceof ResultCodeError ? error.code : undefined);

const isErrorLike = (error: unknown): error is { message: string; code?: unknown } =>
  typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string";

const hint = (code: number): string => {
  switch (code) {
    case LDAP.invalidCredentials: return "; check bindDn and bindPassword (Active Directory: the diagnostic's data code says why, e.g. 52e wrong password, 533 disabled, 775 locked)";
    case LDAP.insufficientAccessRights: return "; grant the bind DN the rights the ldap connector's README lists";
    case LDAP.inappropriateAuthentication: return "; the server refuses this kind of bind: check bindDn and bindPassword";
    case LDAP.strongerAuthRequired:
    case LDAP.confidentialityRequired: return "; the server wants TLS: use ldaps:// or starttls: true";
    default: return "";
  }
};

/**
 * An error from an LDAP call as a TargetError, saying what was attempted. A TargetError passes
 * through; an error of unknown shape is a bug and is rethrown as it is.
 */
export function ldapError(error: unknown, what: string): TargetError {
  if (error instanceof TargetError) return error;
  const code = resultCodeOf(error);
  if (code !== undefined) {
    // ldapts appends " Code: 0x31" to the server's diagnostic message; the code is named below instead.
    const diagnostic = (error as Error).message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, "").trim();
    const name = NAMES.get(code) ?? "result";
    return new TargetError(kindOfResultCode(code), `${what}: LDAP ${code} ${name}${diagnostic ? ` (${diagnostic})` : ""}${hint(code)}`, { cause: error });
  }
  // Duck-typed, not `instanceof Error`: Node's net and tls errors may come from another realm (a test VM).
  if (isErrorLike(error)) {
    const system = error.code;
    if (typeof system === "string" && TLS_CODES.test(system)) {
      return new TargetError("permanent", `${what}: TLS: ${error.message} (${system}); set tlsCa to the CA that signed the server's certificate, or tlsServername to the name it carries`, { cause: error });
    }
    if ((typeof system === "string" && RETRYABLE_SYSTEM.has(system)) || RETRYABLE_MESSAGES.some((m) => m.test(error.message))) {
      return new TargetError("retryable", `${what}: ${error.message.split("\n")[0]}`, { cause: error });
    }
    if (system === "ENOTFOUND") {
      return new TargetError("retryable", `${what}: the directory's host name does not resolve (${error.message}); check config.url`, { cause: error });
    }
  }
  throw error;
}
