/**
 * Authenticates SCIM requests: which connection is this IdP speaking for?
 *
 * `Authorization: Bearer scb_…` — an opaque token, found by its SHA-256 digest;
 * `Authorization: Bearer <JWT>` — an IdP-issued JWT, verified against the connection's JWT credential;
 * `Authorization: Basic base64(user:pass)` — RFC 7617.
 *
 * The IdP sees a short, generic `detail` per scheme (it becomes the 401 body, DESIGN.md "The SCIM
 * edge"); the real reason goes to `log.warn`, never with the token or password. A failure of the
 * database (or of an issuer's JWKS) is thrown, never reported as a bad credential: the caller
 * answers 503 and the IdP retries, instead of quarantining a job whose token is fine.
 */
import { decodeJwt } from "jose";
import type { Logger } from "../log.js";
import { constantTimeEqual, hashSecret } from "../secrets.js";
import {
  findBasicCredentialByUsername,
  findBearerCredentialByHash,
  findJwtCredentialsByIssuer,
  touchCredential,
  type CredentialKind,
} from "../storage/credentials-repo.js";
import type { Db } from "../storage/db.js";
import { createJwtVerifier, type JwtVerifierOptions } from "./jwt-verifier.js";

/** The outcome of one authentication. `detail` is safe to show the IdP; it never says more than the scheme. */
export type AuthResult =
  | { ok: true; connectionId: string; credentialId: string; kind: CredentialKind }
  | { ok: false; detail: string };

/** The `detail` of each refusal, exactly as the IdP sees it. */
export const AUTH_DETAIL = {
  missing: "missing Authorization header",
  scheme: "unsupported Authorization scheme: use Bearer or Basic",
  bearer: "invalid bearer token",
  basic: "invalid basic credentials",
  jwt: "invalid JWT",
} as const;

export interface ScimAuthenticatorOptions {
  /** The clock, in epoch milliseconds, for JWT checks and last_used_at (Default: Date.now). */
  now?: () => number;
  /** Least time between two last_used_at writes for one credential (Default: 60000). */
  lastUsedIntervalMs?: number;
  /** JWKS fetching and caching. */
  jwt?: Omit<JwtVerifierOptions, "now">;
  /**
   * How long an accepted bearer or basic credential is remembered, so a busy IdP costs no query
   * per request (Default: 2000). A revocation made through this process takes effect at once
   * (`forget()`); on other replicas within this time.
   */
  acceptCacheMs?: number;
}

export interface ScimAuthenticator {
  /** Authenticates one request from its Authorization header. Throws when the database cannot answer. */
  authenticate(authorizationHeader: string | undefined): Promise<AuthResult>;
  /** Resolves when the last_used_at writes in flight have finished: await it before closing the database. */
  settled(): Promise<void>;
  /** Drops every remembered acceptance: call it when a credential is revoked or rotated. */
  forget(): void;
}

/** Three base64url parts; the signature may be empty (alg "none"), so that such a token is refused as a JWT. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** A digest no stored password has, compared when a user name is unknown so both paths cost the same. */
const NO_SUCH_HASH = hashSecret("no such basic credential");

/** One authenticator per process: it caches each JWT credential's keys and remembers recent last_used_at writes. */
export function createScimAuthenticator(db: Db, log: Logger, options: ScimAuthenticatorOptions = {}): ScimAuthenticator {
  const now = options.now ?? Date.now;
  const intervalMs = options.lastUsedIntervalMs ?? 60_000;
  const verifier = createJwtVerifier({ ...options.jwt, now });
  const lastTouched = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  const acceptCacheMs = options.acceptCacheMs ?? 2000;
  /** sha256(Authorization header) → accepted result and until when it may be reused. */
  const accepted = new Map<string, { result: AuthResult & { ok: true }; until: number }>();

  /** At most one write per credential per interval, off the request path; a failed write is logged and retried next time. */
  function touch(credentialId: string): void {
    const at = now();
    const last = lastTouched.get(credentialId);
    if (last !== undefined && at - last < intervalMs) return;
    lastTouched.set(credentialId, at);
    const write: Promise<void> = touchCredential(db, credentialId, new Date(at))
      .catch((error: unknown) => {
        lastTouched.delete(credentialId);
        log.warn(`Could not record the last use of credential ${credentialId}`, { credentialId, error });
      })
      .finally(() => inFlight.delete(write));
    inFlight.add(write);
  }

  function accept(kind: CredentialKind, credentialId: string, connectionId: string): AuthResult {
    touch(credentialId);
    return { ok: true, connectionId, credentialId, kind };
  }

  /**
   * Logs the real reason and answers the generic detail. The message names the scheme as
   * `scheme=bearer`, never "bearer <word>": log.ts redacts whatever follows "Bearer " or "Basic ".
   */
  function refuse(detail: string, scheme: string, reason: string, meta: Record<string, unknown> = {}): AuthResult {
    log.warn(`Refused SCIM request, scheme=${scheme}: ${reason}`, { scheme, reason, ...meta });
    return { ok: false, detail };
  }

  async function bearer(token: string): Promise<AuthResult> {
    if (!token.startsWith("scb_")) return refuse(AUTH_DETAIL.bearer, "bearer", "neither an scb_ token nor a JWT");
    const found = await findBearerCredentialByHash(db, hashSecret(token));
    if (!found) return refuse(AUTH_DETAIL.bearer, "bearer", "unknown token");
    const meta = { credentialId: found.id, connectionId: found.connectionId };
    if (found.revokedAt) return refuse(AUTH_DETAIL.bearer, "bearer", "token revoked", meta);
    return accept("bearer", found.id, found.connectionId);
  }

  async function jwt(token: string): Promise<AuthResult> {
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch (error) {
      return refuse(AUTH_DETAIL.jwt, "jwt", "malformed JWT", { code: (error as { code?: unknown }).code });
    }
    if (typeof issuer !== "string" || issuer === "") return refuse(AUTH_DETAIL.jwt, "jwt", "no iss claim");
    const shownIssuer = issuer.slice(0, 200);
    const candidates = await findJwtCredentialsByIssuer(db, issuer);
    if (candidates.length === 0) return refuse(AUTH_DETAIL.jwt, "jwt", "no JWT credential for this issuer", { issuer: shownIssuer });
    const outcome = await verifier.verify(token, candidates);
    if (!outcome.ok) {
      const reason = outcome.refusals.map((r) => (r.claim ? `${r.code} (${r.claim})` : r.code)).join(", ") || "no usable credential";
      return refuse(AUTH_DETAIL.jwt, "jwt", reason, { issuer: shownIssuer, refusals: outcome.refusals });
    }
    return accept("jwt", outcome.credential.id, outcome.credential.connectionId);
  }

  async function basic(encoded: string): Promise<AuthResult> {
    if (!BASE64.test(encoded)) return refuse(AUTH_DETAIL.basic, "basic", "not base64");
    const decoded = Buffer.from(encoded, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) return refuse(AUTH_DETAIL.basic, "basic", "not user:password");
    const username = decoded.slice(0, colon);
    const passwordHash = hashSecret(decoded.slice(colon + 1));
    const found = await findBasicCredentialByUsername(db, username);
    if (!found) {
      constantTimeEqual(passwordHash, NO_SUCH_HASH);
      return refuse(AUTH_DETAIL.basic, "basic", "unknown username");
    }
    const meta = { credentialId: found.id, connectionId: found.connectionId };
    if (!constantTimeEqual(passwordHash, found.secretHash)) return refuse(AUTH_DETAIL.basic, "basic", "wrong password", meta);
    if (found.revokedAt) return refuse(AUTH_DETAIL.basic, "basic", "credential revoked", meta);
    return accept("basic", found.id, found.connectionId);
  }

  /** Reuses a recent acceptance of the same header; refusals are never remembered. */
  async function remembered(header: string, check: () => Promise<AuthResult>): Promise<AuthResult> {
    if (acceptCacheMs <= 0) return check();
    const key = hashSecret(header);
    const at = now();
    const hit = accepted.get(key);
    if (hit && hit.until > at) {
      touch(hit.result.credentialId);
      return hit.result;
    }
    const result = await check();
    if (result.ok) {
      if (accepted.size >= 10_000) accepted.clear();
      accepted.set(key, { result, until: at + acceptCacheMs });
    } else {
      accepted.delete(key);
    }
    return result;
  }

  return {
    async authenticate(authorizationHeader) {
      const header = authorizationHeader?.trim() ?? "";
      if (header === "") return refuse(AUTH_DETAIL.missing, "none", "no Authorization header");
      const space = header.search(/[ \t]/);
      const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
      const value = space < 0 ? "" : header.slice(space + 1).trim();
      // RFC 7235 §2.1: the scheme is case-insensitive.
      if (scheme === "bearer") {
        if (value === "") return refuse(AUTH_DETAIL.bearer, "bearer", "empty token");
        return JWT_SHAPE.test(value) ? jwt(value) : remembered(header, () => bearer(value));
      }
      if (scheme === "basic") return remembered(header, () => basic(value));
      return refuse(AUTH_DETAIL.scheme, scheme.slice(0, 20), "unsupported scheme");
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    forget() {
      accepted.clear();
    },
  };
}
