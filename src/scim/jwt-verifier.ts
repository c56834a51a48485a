/**
 * Verifies IdP-issued JWTs against the JWT credentials whose issuer they claim, with `jose`.
 * The caller (src/scim/auth.ts) reads the unverified `iss` only to find the candidates; nothing
 * from the token is trusted until `jwtVerify` has checked the signature with the credential's
 * key, the `alg` against its allow-list, and iss, aud, exp and nbf with its clock tolerance.
 */
import {
  createRemoteJWKSet,
  errors,
  importJWK,
  importSPKI,
  jwtVerify,
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import type { Credential, JwtConfig } from "../storage/credentials-repo.js";

/** Why one candidate credential refused a token: jose's error code and, for claims, which claim. Never the token. */
export interface JwtRefusal {
  credentialId: string;
  /** jose's error code, e.g. ERR_JWT_EXPIRED, ERR_JWT_CLAIM_VALIDATION_FAILED, ERR_JWKS_NO_MATCHING_KEY. */
  code: string;
  /** The claim that failed (exp, nbf, iss, aud), when a claim did. */
  claim?: string;
  message: string;
}

export type JwtVerification =
  | { ok: true; credential: Credential; payload: JWTPayload }
  | { ok: false; refusals: JwtRefusal[] };

/**
 * The issuer's JWKS could not be fetched or read (network error, timeout, non-200, malformed),
 * so the token could be neither accepted nor refused. It propagates, like a database error:
 * the caller answers 503 and the IdP retries, rather than being told its credential is wrong.
 */
export class JwksUnavailableError extends Error {
  constructor(readonly credentialId: string, readonly jwksUrl: string, options: { cause: unknown }) {
    super(`could not fetch the JWKS of credential ${credentialId} from ${jwksUrl}`, options);
    this.name = "JwksUnavailableError";
  }
}

export interface JwtVerifierOptions {
  /** The clock, in epoch milliseconds, for exp/nbf checks (Default: Date.now). */
  now?: () => number;
  /** How long one JWKS fetch may take (Default: 5000). */
  jwksTimeoutMs?: number;
  /** Least time between two JWKS refetches caused by an unknown `kid` (Default: 30000). */
  jwksCooldownMs?: number;
  /** How long a fetched JWKS is used before it is fetched again (Default: 600000). */
  jwksCacheMaxAgeMs?: number;
}

export interface JwtVerifier {
  /** Tries each candidate in order; the first whose key and claims accept the token wins. Throws `JwksUnavailableError`. */
  verify(token: string, candidates: readonly Credential[]): Promise<JwtVerification>;
}

/** Errors of a JWKS resolver that say "this key set has no key for this token", not "the key set is unreachable". */
const KEY_SET_ANSWERS = new Set([
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
  errors.JOSENotSupported.code,
  errors.JOSEAlgNotAllowed.code,
]);

interface CachedKey {
  fingerprint: string;
  getKey: JWTVerifyGetKey;
}

function staticKey(publicKey: string | object): JWTVerifyGetKey {
  // One RSA key may verify RS256 and PS256, which WebCrypto binds to distinct CryptoKeys.
  const byAlg = new Map<string, Promise<CryptoKey | Uint8Array>>();
  return async (header) => {
    const alg = header.alg;
    let key = byAlg.get(alg);
    if (!key) {
      key = typeof publicKey === "string" ? importSPKI(publicKey, alg) : importJWK(publicKey, alg);
      byAlg.set(alg, key);
      key.catch(() => byAlg.delete(alg));
    }
    const imported = await key;
    // Defence in depth: validateJwtConfig refuses "oct" keys, and HS* is never in an allow-list.
    if (imported instanceof Uint8Array) throw new errors.JOSENotSupported("symmetric keys are refused");
    return imported;
  };
}

function remoteKey(credentialId: string, jwksUrl: string, options: Required<Omit<JwtVerifierOptions, "now">>): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(new URL(jwksUrl), {
    timeoutDuration: options.jwksTimeoutMs,
    cooldownDuration: options.jwksCooldownMs,
    cacheMaxAge: options.jwksCacheMaxAgeMs,
  });
  return async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && KEY_SET_ANSWERS.has(code)) throw error;
      throw new JwksUnavailableError(credentialId, jwksUrl, { cause: error });
    }
  };
}

const refusalOf = (credentialId: string, error: unknown): JwtRefusal => {
  const e = error as { code?: unknown; claim?: unknown; message?: unknown };
  return {
    credentialId,
    code: typeof e.code === "string" ? e.code : error instanceof Error ? error.name : "unknown",
    ...(typeof e.claim === "string" ? { claim: e.claim } : {}),
    message: typeof e.message === "string" ? e.message : String(error),
  };
};

/** A verifier that keeps one key resolver per credential: a JWKS is fetched once and cached, not per request. */
export function createJwtVerifier(options: JwtVerifierOptions = {}): JwtVerifier {
  const now = options.now ?? Date.now;
  const remoteOptions = {
    jwksTimeoutMs: options.jwksTimeoutMs ?? 5_000,
    jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
    jwksCacheMaxAgeMs: options.jwksCacheMaxAgeMs ?? 600_000,
  };
  const keys = new Map<string, CachedKey>();

  const keyFor = (credentialId: string, config: JwtConfig): JWTVerifyGetKey => {
    const fingerprint = JSON.stringify([config.jwksUrl, config.publicKey]);
    const cached = keys.get(credentialId);
    if (cached?.fingerprint === fingerprint) return cached.getKey;
    const getKey = config.jwksUrl !== undefined
      ? remoteKey(credentialId, config.jwksUrl, remoteOptions)
      : staticKey(config.publicKey as string | object);
    keys.set(credentialId, { fingerprint, getKey });
    return getKey;
  };

  async function verifyWith(token: string, credential: Credential, config: JwtConfig): Promise<JWTPayload> {
    const verifyOptions = {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      clockTolerance: config.clockToleranceSec,
      currentDate: new Date(now()),
      // A JWT without expiry would be a bearer token valid forever.
      requiredClaims: ["exp"],
    };
    const getKey = keyFor(credential.id, config);
    try {
      return (await jwtVerify(token, getKey, verifyOptions)).payload;
    } catch (error) {
      // Several keys match (no kid, or a shared kid): try each, as jose's docs advise.
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      let last: unknown = error;
      for await (const key of error as unknown as AsyncIterable<CryptoKey>) {
        try {
          return (await jwtVerify(token, key, verifyOptions)).payload;
        } catch (inner) {
          last = inner;
        }
      }
      throw last;
    }
  }

  return {
    async verify(token, candidates) {
      const refusals: JwtRefusal[] = [];
      let unavailable: JwksUnavailableError | undefined;
      for (const credential of candidates) {
        if (!credential.jwt || credential.revokedAt) continue;
        try {
          const payload = await verifyWith(token, credential, credential.jwt);
          return { ok: true, credential, payload };
        } catch (error) {
          if (error instanceof JwksUnavailableError) unavailable ??= error;
          else refusals.push(refusalOf(credential.id, error));
        }
      }
      if (unavailable) throw unavailable;
      return { ok: false, refusals };
    },
  };
}
