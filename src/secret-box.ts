/**
 * Connector secrets at rest (issue: "encrypted at rest, AES-256-GCM, key from the environment,
 * rotatable"). A sealed value is stored in a target's config as `{"$sealed": "v1.<key id>.<iv>.<data>"}`:
 * a 96-bit random IV, the ciphertext and its 128-bit tag, bound to the config field's name as
 * additional data so a sealed token cannot be moved to another field. The key id is the first
 * 8 hex digits of the key's SHA-256, so a value names the key that opens it.
 *
 * Rotation: SECRETS_KEY holds keys, newest first. New values are sealed with the first; any of
 * them opens; `resealConfig` rewrites values sealed with an older key (done at every start).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface Sealed {
  $sealed: string;
}

export const isSealed = (value: unknown): value is Sealed =>
  typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as Sealed).$sealed === "string" && Object.keys(value).length === 1;

/** Bytes in a key (AES-256). */
export const SECRET_KEY_BYTES = 32;

export class SecretBoxError extends Error {
  override name = "SecretBoxError";
}

export interface SecretBox {
  /** The id of the key new values are sealed with. */
  readonly primaryKeyId: string;
  /** Seals a JSON value (a string, or an object of secrets) for the config field `field`. */
  seal(field: string, value: unknown): Sealed;
  /** The JSON value sealed for `field`; throws SecretBoxError naming the missing key or the tampering. */
  open(field: string, sealed: Sealed): unknown;
  /** The id of the key that sealed a value. */
  keyIdOf(sealed: Sealed): string;
}

const keyId = (key: Buffer) => createHash("sha256").update(key).digest("hex").slice(0, 8);

export function secretBox(keys: readonly Buffer[]): SecretBox {
  if (keys.length === 0) throw new Error("a secret box needs at least one key");
  for (const key of keys) if (key.length !== SECRET_KEY_BYTES) throw new Error(`a secrets key is ${SECRET_KEY_BYTES} bytes, got ${key.length}`);
  const byId = new Map(keys.map((k) => [keyId(k), k] as const));
  const primary = keys[0]!;
  const primaryKeyId = keyId(primary);
  const parts = (sealed: Sealed) => {
    const [version, id, iv, data] = sealed.$sealed.split(".");
    if (version !== "v1" || !id || !iv || !data) throw new SecretBoxError("a sealed config value is malformed (expected v1.<key id>.<iv>.<data>)");
    return { id, iv: Buffer.from(iv, "base64url"), data: Buffer.from(data, "base64url") };
  };
  return {
    primaryKeyId,
    seal(field, value) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", primary, iv);
      cipher.setAAD(Buffer.from(field, "utf8"));
      const data = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final(), cipher.getAuthTag()]);
      return { $sealed: `v1.${primaryKeyId}.${iv.toString("base64url")}.${data.toString("base64url")}` };
    },
    open(field, sealed) {
      const { id, iv, data } = parts(sealed);
      const key = byId.get(id);
      if (!key) {
        throw new SecretBoxError(
          `config.${field} was sealed with secrets key ${id}, which SECRETS_KEY does not hold (it holds ${[...byId.keys()].join(", ")}); put that key back in SECRETS_KEY (after the new one), or register the secret again`,
        );
      }
      if (data.length < 16) throw new SecretBoxError(`config.${field}: the sealed value is truncated`);
      const decipher = createDecipheriv("aes-256-gcm", key, iv);
      decipher.setAAD(Buffer.from(field, "utf8"));
      decipher.setAuthTag(data.subarray(data.length - 16));
      try {
        const text = Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8");
        return JSON.parse(text) as unknown;
      } catch {
        throw new SecretBoxError(`config.${field}: the sealed value does not authenticate (altered, or moved from another field)`);
      }
    },
    keyIdOf: (sealed) => parts(sealed).id,
  };
}

/**
 * Reads SECRETS_KEY's value: keys separated by commas, each 32 bytes as base64/base64url (44 or 43
 * characters) or hex (64). Returns the keys, or the problem with the fix.
 */
export function parseSecretsKeys(text: string): { keys: Buffer[] } | { problem: string } {
  const keys: Buffer[] = [];
  for (const [i, raw] of text.split(",").map((k) => k.trim()).entries()) {
    const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, "hex") : /^[A-Za-z0-9+/_-]{43}=?$/.test(raw) ? Buffer.from(raw, "base64") : null;
    if (!key || key.length !== SECRET_KEY_BYTES) {
      return { problem: `SECRETS_KEY key ${i + 1} is not 32 bytes as base64 or hex; make one with: openssl rand -base64 32 (rotate by putting the new key first: SECRETS_KEY=new,old)` };
    }
    keys.push(key);
  }
  return { keys };
}

/** A new random key, base64 (what `openssl rand -base64 32` prints). */
export const newSecretsKey = (): string => randomBytes(SECRET_KEY_BYTES).toString("base64");

/**
 * The box a bridge process uses: SECRETS_KEY's keys, else the key in `<dataDir>/secrets.key`,
 * generated (mode 0600) on the first start. Replicas that share a database must share the key:
 * set SECRETS_KEY in each.
 */
export async function loadSecretBox(
  options: { keys: readonly Buffer[] | undefined; dataDir: string; sharedDatabase: boolean },
  log: { warn(message: string, meta?: object): unknown; info(message: string, meta?: object): unknown },
): Promise<SecretBox> {
  if (options.keys) return secretBox(options.keys);
  const path = join(options.dataDir, "secrets.key");
  await mkdir(options.dataDir, { recursive: true });
  try {
    await writeFile(path, newSecretsKey() + "\n", { flag: "wx", mode: 0o600 });
    log.info("secrets key generated", { path });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const parsed = parseSecretsKeys((await readFile(path, "utf8")).trim());
  if ("problem" in parsed) throw new Error(`${path} does not hold a secrets key: ${parsed.problem.replace("SECRETS_KEY key 1", "its key")}`);
  if (options.sharedDatabase) {
    log.warn("connector secrets are sealed with the key in DATA_DIR/secrets.key; every replica on this database needs the same key: set SECRETS_KEY to it in each", { path });
  }
  return secretBox(parsed.keys);
}

/** A box with a random key held only in memory (tests). */
export const ephemeralSecretBox = (): SecretBox => secretBox([randomBytes(SECRET_KEY_BYTES)]);
