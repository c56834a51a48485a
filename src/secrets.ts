/**
 * Secrets the bridge generates and the verifiers it stores for them (DESIGN.md principle 6).
 *
 * Every secret a client presents is made here: 32 bytes from the operating system's CSPRNG, so
 * 256 bits of entropy. Against such a value a dictionary or brute-force attack on a leaked digest
 * is hopeless, which is why a fast SHA-256 digest is a safe verifier and no slow password hash
 * (bcrypt, scrypt, argon2) is needed: those exist to protect low-entropy, human-chosen passwords.
 * The one human-chosen secret, ADMIN_TOKEN, is refused by config.ts below 24 characters.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * What a secret is for, readable in logs, leak scanners and support tickets:
 * `scb` — a SCIM bearer token or an HTTP Basic password of one connection;
 * `scba` — an admin token for `/admin/api`.
 */
export type SecretPrefix = "scb" | "scba";

/** Random bytes in every generated secret (Default and only value: 32, i.e. 256 bits). */
export const SECRET_BYTES = 32;

/** A new high-entropy secret: `prefix_` followed by base64url of 32 random bytes (43 characters). */
export function newSecret(prefix: SecretPrefix): string {
  return `${prefix}_${randomBytes(SECRET_BYTES).toString("base64url")}`;
}

/** The verifier stored in place of a secret: SHA-256, lower-case hex (64 characters). */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/**
 * Compares two strings in time that depends only on their lengths, never on where they differ.
 * Use it when comparing a presented secret's digest with a stored one fetched by another key
 * (HTTP Basic: the row is found by username, then the password digest is compared).
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/** Whether a presented secret matches a stored SHA-256 verifier, compared in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  return constantTimeEqual(hashSecret(secret), storedHash);
}
