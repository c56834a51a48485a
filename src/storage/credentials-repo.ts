/**
 * Credentials: how an IdP proves it speaks for a connection (DESIGN.md "Surfaces", `/scim/v2`).
 * Three kinds, one table (`credentials` in 0001-initial.sql):
 * - `bearer`: an opaque `scb_` token; only its SHA-256 digest is stored (see src/secrets.ts);
 * - `basic`: HTTP Basic (RFC 7617), a user name and a generated `scb_` password, stored hashed;
 * - `jwt`: IdP-issued JWTs, verified with `jose` against the issuer's JWKS or a static public key.
 * Secrets are returned once, by the function that creates them, and never again.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { hashSecret, newSecret } from "../secrets.js";
import { sqlState, UNIQUE_VIOLATION, type Db } from "./db.js";
import { isUuid } from "./uuid.js";
import { CredentialError, validateJwtConfig, type JwtConfig, type JwtConfigInput } from "./jwt-config.js";
export * from "./jwt-config.js";

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
