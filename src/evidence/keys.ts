/**
 * The bridge's receipt signing keys: Ed25519 (JWS alg EdDSA), named by their RFC 7638 JWK
 * thumbprint (`kid`). The first start makes one; `rotateReceiptKey` makes a new current key and
 * retires the old one, which no longer signs but stays in the JWKS so older receipts still verify.
 *
 * The private key is stored sealed by the bridge's secret box (AES-256-GCM, `secret-box.ts`), bound
 * to the field `receipt-key:<kid>` so a sealed key cannot be passed off as another; the public JWK
 * is stored in clear. Replicas sharing a database must share SECRETS_KEY, as for target secrets.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";
import type { Clock } from "../engine/clock.js";
import { systemClock } from "../engine/clock.js";
import type { SecretBox } from "../secret-box.js";
import {
  currentReceiptKey, insertFirstReceiptKey, listReceiptKeys, replaceCurrentReceiptKey, updateSealedReceiptKey,
  type ReceiptKeyRecord, type ReceiptPublicJwk,
} from "../storage/receipts-repo.js";
import type { Db } from "../storage/db.js";

export type { ReceiptPublicJwk } from "../storage/receipts-repo.js";

/** The secret-box field a key's private half is sealed for. */
export const receiptKeyField = (kid: string): string => `receipt-key:${kid}`;

/** A key that can sign now. */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/** A new key pair, its public JWK and its sealed private JWK (not stored). */
export async function newReceiptKey(box: SecretBox, now: Date): Promise<Omit<ReceiptKeyRecord, "retiredAt">> {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const pub = await exportJWK(publicKey);
  if (pub.kty !== "OKP" || pub.crv !== "Ed25519" || typeof pub.x !== "string") throw new Error("jose did not export an Ed25519 public JWK");
  const kid = await calculateJwkThumbprint({ kty: pub.kty, crv: pub.crv, x: pub.x }, "sha256");
  const publicJwk: ReceiptPublicJwk = { kty: "OKP", crv: "Ed25519", x: pub.x, kid, alg: "EdDSA", use: "sig" };
  const priv = await exportJWK(privateKey);
  return { kid, publicJwk, privateSealed: box.seal(receiptKeyField(kid), priv), createdAt: now };
}

/** The current key, making the first one when there is none (safe when replicas start together). */
export async function ensureReceiptKey(db: Db, box: SecretBox, clock: Clock = systemClock): Promise<ReceiptKeyRecord> {
  const current = await currentReceiptKey(db);
  if (current) return current;
  return insertFirstReceiptKey(db, await newReceiptKey(box, clock.now()));
}

/** Makes a new current key and retires the old one (it stays in the JWKS). Returns the new key. */
export async function rotateReceiptKey(db: Db, box: SecretBox, clock: Clock = systemClock): Promise<ReceiptKeyRecord> {
  return replaceCurrentReceiptKey(db, await newReceiptKey(box, clock.now()));
}

/**
 * Seals again, with the box's newest secrets key, every receipt key sealed with an older one (as
 * `resealTargets` does for target secrets at start). Returns how many changed; a key the box
 * cannot open is reported, not thrown, so one lost key never stops the bridge.
 */
export async function resealReceiptKeys(db: Db, box: SecretBox): Promise<{ resealed: number; failures: { kid: string; error: string }[] }> {
  let resealed = 0;
  const failures: { kid: string; error: string }[] = [];
  for (const key of await listReceiptKeys(db)) {
    if (box.keyIdOf(key.privateSealed) === box.primaryKeyId) continue;
    try {
      const field = receiptKeyField(key.kid);
      await updateSealedReceiptKey(db, key.kid, box.seal(field, box.open(field, key.privateSealed)));
      resealed++;
    } catch (error) {
      failures.push({ kid: key.kid, error: (error as Error).message });
    }
  }
  return { resealed, failures };
}

/** Opens a stored key's private half. Throws SecretBoxError naming the missing secrets key. */
export async function signingKeyOf(key: Pick<ReceiptKeyRecord, "kid" | "privateSealed">, box: SecretBox): Promise<SigningKey> {
  const jwk = box.open(receiptKeyField(key.kid), key.privateSealed) as JWK;
  const privateKey = await importJWK(jwk, "EdDSA");
  if (privateKey instanceof Uint8Array) throw new Error(`receipt key ${key.kid} is not an asymmetric key`);
  return { kid: key.kid, privateKey };
}

/**
 * The signing key of the moment, with private keys imported once per kid. Each call reads which
 * key is current (one indexed row), so a rotation made by another replica is picked up at once.
 */
export function receiptKeyring(db: Db, box: SecretBox, clock: Clock = systemClock): { signingKey(): Promise<SigningKey> } {
  const imported = new Map<string, SigningKey>();
  return {
    async signingKey() {
      const current = await ensureReceiptKey(db, box, clock);
      const cached = imported.get(current.kid);
      if (cached) return cached;
      const key = await signingKeyOf(current, box);
      imported.set(key.kid, key);
      return key;
    },
  };
}

/** The JWKS: every key's public JWK, current and retired, as `/.well-known/jwks.json` publishes it. */
export async function receiptJwks(db: Db): Promise<{ keys: ReceiptPublicJwk[] }> {
  return { keys: (await listReceiptKeys(db)).map((k) => ({ ...k.publicJwk, kid: k.kid, alg: "EdDSA" as const, use: "sig" as const })) };
}
