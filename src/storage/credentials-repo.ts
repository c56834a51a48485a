/**
 * Credentials: how an IdP proves it speaks for a connection (DESIGN.md "Surfaces", `/scim/v2`).
 * Three kinds, one table (`credentials` in 0001-initial.sql):
 * - `bearer`: an opaque `scb_` token; only its SHA-256 digest is stored (see src/secrets.ts);
 * - `basic`: HTTP Basic (RFC 7617), a user name and a generated `scb_` password, stored hashed;
 * - `jwt`: IdP-issued JWTs, verified with `jose` against the issuer's JWKS or a static public key.
 * Secrets are returned once, by the function that creates them, and never again.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { importJWK, importSPKI, type JWK } from "jose";
import { hashSecret, newSecret } from "../secrets.js";
import { sqlState, UNIQUE_VIOLATION, type Db } from "./db.js";

export type CredentialKind = "bearer" | "basic" | "jwt";

/** A credential as the CLI, admin API and console see it: never a secret, never a digest. */
export interface Credential {
  id: string;
  connectionId: string;
  kind: CredentialKind;
  /** Free text chosen by whoever created it ("okta prod"); null when none was given. */
  label: string | null;
  /** The HTTP Basic user name; null unless `kind` is "basic". */
  username: string | null;
  /** How JWTs are verified; null unless `kind` is "jwt". Public information, not a secret. */
  jwt: JwtConfig | null;
  createdAt: Date;
  /** Updated at most once a minute per credential and replica, so it is approximate. */
  lastUsedAt: Date | null;
  /** Set by `revokeCredential`/`rotateBearerToken`; a revoked credential authenticates nothing. */
  revokedAt: Date | null;
}

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

interface CredentialRow {
  [key: string]: unknown;
  id: string;
  connection_id: string;
  kind: CredentialKind;
  label: string | null;
  basic_username: string | null;
  jwt: JwtConfig | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = "id, connection_id, kind, label, basic_username, jwt, created_at, last_used_at, revoked_at";

const toCredential = (row: CredentialRow): Credential => ({
  id: row.id,
  connectionId: row.connection_id,
  kind: row.kind,
  label: row.label,
  username: row.basic_username,
  jwt: row.jwt,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids that are not UUIDs cannot exist; answering "not found" spares PostgreSQL a cast error. */
export const isUuid = (value: string): boolean => UUID.test(value);

async function requireConnectionName(db: Db, connectionId: string): Promise<string> {
  if (isUuid(connectionId)) {
    const result = await db.query<{ name: string }>("select name from connections where id = $1", [connectionId]);
    if (result.rows[0]) return result.rows[0].name;
  }
  throw new CredentialError("not-found", `connection ${connectionId} does not exist`);
}

async function insertBearer(db: Db, connectionId: string, label: string | undefined): Promise<{ credential: Credential; token: string }> {
  const token = newSecret("scb");
  const result = await db.query<CredentialRow>(
    `insert into credentials (id, connection_id, kind, label, secret_hash) values ($1, $2, 'bearer', $3, $4) returning ${COLUMNS}`,
    [randomUUID(), connectionId, label ?? null, hashSecret(token)],
  );
  return { credential: toCredential(result.rows[0]!), token };
}

// ---------------------------------------------------------------------------------------------
// Creating, listing, revoking

/** A new bearer token for a connection. `token` is shown once; only its SHA-256 digest is stored. */
export async function createBearerToken(db: Db, connectionId: string, label?: string): Promise<{ credential: Credential; token: string }> {
  await requireConnectionName(db, connectionId);
  return insertBearer(db, connectionId, label);
}

/** RFC 7617 §2: the user-id cannot contain a colon; control characters would not survive headers. */
const BASIC_USERNAME = /^[^:\u0000-\u001f\u007f]{1,200}$/;

/**
 * New HTTP Basic credentials for a connection, with a generated `scb_` password shown once.
 * `username` defaults to `<connection name>-<6 random hex>`. User names are unique across all
 * connections, revoked credentials included: a given one that is taken is a "conflict".
 */
export async function createBasicCredential(
  db: Db,
  connectionId: string,
  username?: string,
): Promise<{ credential: Credential; username: string; password: string }> {
  const name = await requireConnectionName(db, connectionId);
  if (username !== undefined && !BASIC_USERNAME.test(username)) {
    throw new CredentialError("invalid", "username must be 1 to 200 characters without colons or control characters (RFC 7617)");
  }
  for (let attempt = 1; ; attempt++) {
    const chosen = username ?? `${name}-${randomBytes(3).toString("hex")}`;
    const password = newSecret("scb");
    try {
      const result = await db.query<CredentialRow>(
        `insert into credentials (id, connection_id, kind, basic_username, secret_hash) values ($1, $2, 'basic', $3, $4) returning ${COLUMNS}`,
        [randomUUID(), connectionId, chosen, hashSecret(password)],
      );
      return { credential: toCredential(result.rows[0]!), username: chosen, password };
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      if (username !== undefined) throw new CredentialError("conflict", `username ${JSON.stringify(username)} is already taken; choose another or omit it`);
      if (attempt >= 5) throw new Error(`could not generate a free basic username for connection ${name}`, { cause: error });
    }
  }
}

/** Serialises JWT credential creation so the issuer/audience check below cannot race. */
const JWT_CREDENTIAL_LOCK_KEY = 7_644_2110;

const audiences = (audience: string | string[]): string[] => (Array.isArray(audience) ? audience : [audience]);

/**
 * A JWT credential for a connection, after `validateJwtConfig`. Refused ("conflict") when another
 * connection already accepts JWTs with the same issuer and an overlapping audience: one token
 * must never be able to speak for two connections. The same connection may hold several (key rotation).
 */
export async function createJwtCredential(db: Db, connectionId: string, config: JwtConfigInput, label?: string): Promise<Credential> {
  const jwt = await validateJwtConfig(config);
  return db.transaction(async (tx) => {
    await requireConnectionName(tx, connectionId);
    await tx.query("select pg_advisory_xact_lock($1)", [JWT_CREDENTIAL_LOCK_KEY]);
    const others = await tx.query<{ name: string; jwt: JwtConfig }>(
      `select c.name, k.jwt from credentials k join connections c on c.id = k.connection_id
        where k.kind = 'jwt' and k.revoked_at is null and k.connection_id <> $1 and k.jwt->>'issuer' = $2`,
      [connectionId, jwt.issuer],
    );
    const wanted = audiences(jwt.audience);
    for (const other of others.rows) {
      const shared = audiences(other.jwt.audience).filter((a) => wanted.includes(a));
      if (shared.length > 0) {
        throw new CredentialError("conflict", `connection ${other.name} already accepts JWTs from issuer ${jwt.issuer} for audience ${shared.join(", ")}; give each connection its own audience`);
      }
    }
    const result = await tx.query<CredentialRow>(
      `insert into credentials (id, connection_id, kind, label, jwt) values ($1, $2, 'jwt', $3, $4::jsonb) returning ${COLUMNS}`,
      [randomUUID(), connectionId, label ?? null, JSON.stringify(jwt)],
    );
    return toCredential(result.rows[0]!);
  });
}

/** A connection's credentials, revoked ones included, oldest first. No secrets. */
export async function listCredentials(db: Db, connectionId: string): Promise<Credential[]> {
  if (!isUuid(connectionId)) return [];
  const result = await db.query<CredentialRow>(`select ${COLUMNS} from credentials where connection_id = $1 order by created_at, id`, [connectionId]);
  return result.rows.map(toCredential);
}

/** Revokes one credential of a connection. False when there is no such credential or it already was revoked. */
export async function revokeCredential(db: Db, connectionId: string, credentialId: string): Promise<boolean> {
  if (!isUuid(connectionId) || !isUuid(credentialId)) return false;
  const result = await db.query(
    "update credentials set revoked_at = now() where id = $1 and connection_id = $2 and revoked_at is null",
    [credentialId, connectionId],
  );
  return result.rowCount > 0;
}

/**
 * A new bearer token for a connection (shown once). With `revokeOthers`, the connection's other
 * active bearer tokens are revoked in the same transaction: there is no instant with no valid
 * token, and none with an old one still valid once this returns. Basic and JWT credentials stay.
 */
export async function rotateBearerToken(
  db: Db,
  connectionId: string,
  options: { revokeOthers: boolean; label?: string },
): Promise<{ credential: Credential; token: string; revokedCredentialIds: string[] }> {
  return db.transaction(async (tx) => {
    await requireConnectionName(tx, connectionId);
    const created = await insertBearer(tx, connectionId, options.label);
    let revokedCredentialIds: string[] = [];
    if (options.revokeOthers) {
      const revoked = await tx.query<{ id: string }>(
        `update credentials set revoked_at = now()
          where connection_id = $1 and kind = 'bearer' and revoked_at is null and id <> $2 returning id`,
        [connectionId, created.credential.id],
      );
      revokedCredentialIds = revoked.rows.map((r) => r.id);
    }
    return { ...created, revokedCredentialIds };
  });
}

// ---------------------------------------------------------------------------------------------
// Lookups for the SCIM authenticator (src/scim/auth.ts). Database errors propagate.

/** A bearer credential by the SHA-256 digest of its token, revoked or not; null when unknown. */
export async function findBearerCredentialByHash(
  db: Db,
  tokenHash: string,
): Promise<{ id: string; connectionId: string; revokedAt: Date | null } | null> {
  const result = await db.query<{ id: string; connection_id: string; revoked_at: Date | null }>(
    "select id, connection_id, revoked_at from credentials where kind = 'bearer' and secret_hash = $1",
    [tokenHash],
  );
  const row = result.rows[0];
  return row ? { id: row.id, connectionId: row.connection_id, revokedAt: row.revoked_at } : null;
}

/** A basic credential by user name with its password digest, revoked or not; null when unknown. */
export async function findBasicCredentialByUsername(
  db: Db,
  username: string,
): Promise<{ id: string; connectionId: string; secretHash: string; revokedAt: Date | null } | null> {
  const result = await db.query<{ id: string; connection_id: string; secret_hash: string; revoked_at: Date | null }>(
    "select id, connection_id, secret_hash, revoked_at from credentials where kind = 'basic' and basic_username = $1",
    [username],
  );
  const row = result.rows[0];
  return row ? { id: row.id, connectionId: row.connection_id, secretHash: row.secret_hash, revokedAt: row.revoked_at } : null;
}

/** The active JWT credentials whose configured issuer equals `issuer`, oldest first. */
export async function findJwtCredentialsByIssuer(db: Db, issuer: string): Promise<Credential[]> {
  const result = await db.query<CredentialRow>(
    `select ${COLUMNS} from credentials where kind = 'jwt' and revoked_at is null and jwt->>'issuer' = $1 order by created_at, id`,
    [issuer],
  );
  return result.rows.map(toCredential);
}

/** Records that a credential authenticated a request at `at`. Never moves the time backwards. */
export async function touchCredential(db: Db, credentialId: string, at: Date): Promise<void> {
  await db.query(
    "update credentials set last_used_at = $2 where id = $1 and (last_used_at is null or last_used_at < $2)",
    [credentialId, at],
  );
}
