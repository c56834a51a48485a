/**
 * How a connection's IdP-issued JWTs are verified, and the checks a JWT credential's
 * configuration must pass before it is stored (split from credentials-repo.ts).
 */
import { importJWK, importSPKI, type JWK } from "jose";

/** Bad input to a credential operation. `message` says what to fix; the admin API maps `reason` to 400/404/409. */
export class CredentialError extends Error {
  constructor(
    readonly reason: "invalid" | "not-found" | "conflict",
    message: string,
    readonly problems: readonly string[] = [message],
  ) {
    super(message);
    this.name = "CredentialError";
  }
}

// ---------------------------------------------------------------------------------------------
// JWT configuration

/** Asymmetric JWS algorithms a JWT credential may allow. HMAC (HS*) and `none` never are. */
export const JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"] as const;

/** Used when a config names no algorithms (Default: RS256, PS256, ES256, EdDSA). */
export const DEFAULT_JWT_ALGORITHMS: readonly string[] = ["RS256", "PS256", "ES256", "EdDSA"];

/** Allowed clock skew between the IdP and us, in seconds (Default: 60; at most 300). */
export const DEFAULT_CLOCK_TOLERANCE_SEC = 60;
export const MAX_CLOCK_TOLERANCE_SEC = 300;

/** A normalised, validated JWT credential config, as stored in `credentials.jwt`. */
export interface JwtConfig {
  /** Must equal the token's `iss` exactly. Tokens are matched to credentials by it. */
  issuer: string;
  /** The token's `aud` must contain this value (or one of these). */
  audience: string | string[];
  /** Where the issuer publishes its keys (https; http only for 127.0.0.1/localhost). Exactly one of jwksUrl/publicKey. */
  jwksUrl?: string;
  /** A static public key: PEM SPKI ("-----BEGIN PUBLIC KEY-----") or a public JWK. */
  publicKey?: string | JWK;
  /** The `alg` header values accepted, an allow-list (Default: RS256, PS256, ES256, EdDSA). */
  algorithms: string[];
  /** Seconds of clock skew tolerated on exp/nbf/iat (Default: 60, at most 300). */
  clockToleranceSec: number;
}

/** What an operator types (CLI flags, admin API JSON); `validateJwtConfig` turns it into a `JwtConfig`. */
export interface JwtConfigInput {
  issuer?: string;
  audience?: string | string[];
  jwksUrl?: string;
  publicKey?: string | JWK;
  algorithms?: string[];
  clockToleranceSec?: number;
}

const JWT_CONFIG_FIELDS = ["issuer", "audience", "jwksUrl", "publicKey", "algorithms", "clockToleranceSec"];
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const HMAC_REFUSED = "HMAC algorithms are refused: a public key must never be used as an HMAC secret";

const nonEmptyString = (value: unknown): value is string => typeof value === "string" && value.trim() !== "";

async function importPublicKey(key: string | JWK, alg: string): Promise<void> {
  if (typeof key === "string") await importSPKI(key, alg);
  else await importJWK(key, alg);
}

/** Checks a static key's shape; the algorithms it fits are found by importing it for each one. */
function publicKeyShapeProblem(key: unknown): string | undefined {
  if (typeof key === "string") {
    if (key.includes("PRIVATE KEY")) return "publicKey is a private key: give the public key (-----BEGIN PUBLIC KEY-----), never the private one";
    if (!key.startsWith("-----BEGIN PUBLIC KEY-----")) return "publicKey must be a PEM SPKI public key starting with -----BEGIN PUBLIC KEY----- or a public JWK object";
    return undefined;
  }
  if (key === null || typeof key !== "object" || Array.isArray(key)) return "publicKey must be a PEM SPKI public key string or a public JWK object";
  const jwk = key as Record<string, unknown>;
  if (jwk.kty === "oct") return `publicKey is a symmetric ("oct") JWK: ${HMAC_REFUSED}`;
  if (!["RSA", "EC", "OKP"].includes(String(jwk.kty))) return `publicKey JWK has kty ${JSON.stringify(jwk.kty)}; expected RSA, EC or OKP`;
  if ("d" in jwk || "p" in jwk || "q" in jwk) return "publicKey JWK holds private key material (d, p, q…): give only the public members";
  return undefined;
}

/**
 * Validates and normalises a JWT credential config; throws a `CredentialError` ("invalid") listing
 * every problem. Defaults: algorithms RS256, PS256, ES256, EdDSA; clockToleranceSec 60.
 * A static `publicKey` is imported with `jose` for each algorithm: when algorithms were given,
 * each must fit the key; when they were defaulted, they are narrowed to those the key fits
 * (an RSA key keeps RS256 and PS256), so a key that fits none is refused.
 */
export async function validateJwtConfig(input: JwtConfigInput): Promise<JwtConfig> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new CredentialError("invalid", "JWT config must be an object with issuer, audience and jwksUrl or publicKey");
  }
  const problems: string[] = [];
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!JWT_CONFIG_FIELDS.includes(key)) problems.push(`unknown field ${JSON.stringify(key)}; expected ${JWT_CONFIG_FIELDS.join(", ")}`);
  }

  if (!nonEmptyString(raw.issuer)) problems.push("issuer is required: the exact `iss` value of the IdP's tokens");
  const issuer = typeof raw.issuer === "string" ? raw.issuer.trim() : "";

  let audience: string | string[] = "";
  if (nonEmptyString(raw.audience)) audience = raw.audience.trim();
  else if (Array.isArray(raw.audience) && raw.audience.length > 0 && raw.audience.every(nonEmptyString)) {
    audience = raw.audience.map((a) => a.trim());
  } else problems.push("audience is required: the `aud` value (or a list of them) the IdP's tokens carry");

  const hasJwks = raw.jwksUrl !== undefined && raw.jwksUrl !== null && raw.jwksUrl !== "";
  const hasKey = raw.publicKey !== undefined && raw.publicKey !== null && raw.publicKey !== "";
  if (hasJwks === hasKey) problems.push(hasJwks ? "give jwksUrl or publicKey, not both" : "give jwksUrl (the issuer's JWKS) or publicKey (a static public key)");

  let jwksUrl: string | undefined;
  if (hasJwks) {
    let url: URL | undefined;
    try {
      url = typeof raw.jwksUrl === "string" ? new URL(raw.jwksUrl) : undefined;
    } catch {
      url = undefined;
    }
    if (!url) problems.push(`jwksUrl ${JSON.stringify(raw.jwksUrl)} is not a URL`);
    else if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) {
      problems.push(`jwksUrl must use https (http is allowed only for 127.0.0.1 and localhost): ${url.href}`);
    } else jwksUrl = url.href;
  }

  let publicKey: string | JWK | undefined;
  if (hasKey) {
    const candidate = typeof raw.publicKey === "string" ? raw.publicKey.trim() : raw.publicKey;
    const problem = publicKeyShapeProblem(candidate);
    if (problem) problems.push(problem);
    else publicKey = candidate as string | JWK;
  }

  const algorithmsGiven = raw.algorithms !== undefined;
  let algorithms = [...DEFAULT_JWT_ALGORITHMS];
  if (algorithmsGiven) {
    if (!Array.isArray(raw.algorithms) || raw.algorithms.length === 0 || !raw.algorithms.every((a) => typeof a === "string")) {
      problems.push(`algorithms must be a non-empty list, e.g. ${JSON.stringify(DEFAULT_JWT_ALGORITHMS)}`);
    } else {
      algorithms = [...new Set(raw.algorithms as string[])];
      for (const alg of algorithms) {
        if (alg.toLowerCase() === "none") problems.push('algorithm "none" is refused: every token must be signed');
        else if (/^HS\d+$/i.test(alg)) problems.push(`${alg}: ${HMAC_REFUSED}`);
        else if (!(JWT_ALGORITHMS as readonly string[]).includes(alg)) problems.push(`unknown algorithm ${JSON.stringify(alg)}; use some of ${JWT_ALGORITHMS.join(", ")}`);
      }
    }
  }

  let clockToleranceSec = DEFAULT_CLOCK_TOLERANCE_SEC;
  if (raw.clockToleranceSec !== undefined) {
    const value = raw.clockToleranceSec;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_CLOCK_TOLERANCE_SEC) {
      problems.push(`clockToleranceSec must be a whole number of seconds from 0 to ${MAX_CLOCK_TOLERANCE_SEC} (Default: ${DEFAULT_CLOCK_TOLERANCE_SEC})`);
    } else clockToleranceSec = value;
  }

  if (problems.length === 0 && publicKey !== undefined) {
    const key = publicKey;
    const results = await Promise.all(algorithms.map(async (alg) => {
      try {
        await importPublicKey(key, alg);
        return { alg, error: undefined };
      } catch (error) {
        return { alg, error: error instanceof Error ? error.message : String(error) };
      }
    }));
    const fitting = results.filter((r) => r.error === undefined).map((r) => r.alg);
    if (fitting.length === 0) {
      problems.push(`publicKey cannot be parsed as a public key for any of ${algorithms.join(", ")}: ${results[0]?.error ?? "unknown error"}`);
    } else if (algorithmsGiven) {
      for (const r of results) if (r.error !== undefined) problems.push(`publicKey does not fit algorithm ${r.alg} (${r.error}); remove ${r.alg} from algorithms`);
    } else algorithms = fitting;
  }

  if (problems.length > 0) throw new CredentialError("invalid", `Invalid JWT config: ${problems.join("; ")}`, problems);
  return {
    issuer,
    audience,
    ...(jwksUrl !== undefined ? { jwksUrl } : {}),
    ...(publicKey !== undefined ? { publicKey } : {}),
    algorithms,
    clockToleranceSec,
  };
}

// ---------------------------------------------------------------------------------------------
// Rows
