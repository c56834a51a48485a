import type { Sealed } from "../secret-box.js";
import type { Db } from "./db.js";
import { OPEN_STATES_SQL } from "./tasks-repo.js";

/**
 * Storage of signed receipts and of the keys that sign them (migration 0005). Rows are mapped here
 * once; the crypto lives in `evidence/keys.ts` and `evidence/receipts.ts`.
 */

/** The public half of a receipt key, as published in the JWKS. */
export interface ReceiptPublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  kid: string;
  alg: "EdDSA";
  use: "sig";
}

export interface ReceiptKeyRecord {
  kid: string;
  publicJwk: ReceiptPublicJwk;
  /** The private JWK, sealed by the secret box for the field `receiptKeyField(kid)`. */
  privateSealed: Sealed;
  createdAt: Date;
  /** Set: the key no longer signs (it stays in the JWKS). */
  retiredAt: Date | null;
}

interface ReceiptKeyRow {
  [key: string]: unknown;
  kid: string;
  public_jwk: ReceiptPublicJwk;
  private_sealed: Sealed;
  created_at: Date;
  retired_at: Date | null;
}

const keyFromRow = (row: ReceiptKeyRow): ReceiptKeyRecord => ({
  kid: row.kid,
  publicJwk: row.public_jwk,
  privateSealed: row.private_sealed,
  createdAt: row.created_at,
  retiredAt: row.retired_at,
});

const INSERT_KEY = `insert into receipt_keys (kid, public_jwk, private_sealed, created_at) values ($1, $2, $3, $4) on conflict do nothing`;
const keyValues = (key: Omit<ReceiptKeyRecord, "retiredAt">) => [key.kid, JSON.stringify(key.publicJwk), JSON.stringify(key.privateSealed), key.createdAt];

/** The key that signs now, or null before the first start made one. */
export async function currentReceiptKey(db: Db): Promise<ReceiptKeyRecord | null> {
  const result = await db.query<ReceiptKeyRow>("select * from receipt_keys where retired_at is null");
  return result.rows[0] ? keyFromRow(result.rows[0]) : null;
}

/**
 * Stores `key` as the current key unless there is one already (another replica won the race:
 * the unique index on the current key makes the insert do nothing). Returns the current key.
 */
export async function insertFirstReceiptKey(db: Db, key: Omit<ReceiptKeyRecord, "retiredAt">): Promise<ReceiptKeyRecord> {
  await db.query(INSERT_KEY, keyValues(key));
  const current = await currentReceiptKey(db);
  if (!current) throw new Error("receipt_keys has no current key right after inserting one");
  return current;
}

/** Retires the current key and makes `key` current, in one transaction. Returns the current key. */
export async function replaceCurrentReceiptKey(db: Db, key: Omit<ReceiptKeyRecord, "retiredAt">): Promise<ReceiptKeyRecord> {
  await db.batch([
    { text: "update receipt_keys set retired_at = $1 where retired_at is null", values: [key.createdAt] },
    { text: INSERT_KEY, values: keyValues(key) },
  ]);
  const current = await currentReceiptKey(db);
  if (!current) throw new Error("receipt_keys has no current key right after a rotation");
  return current;
}

/** Every key, current and retired, oldest first: what the JWKS publishes. */
export async function listReceiptKeys(db: Db): Promise<ReceiptKeyRecord[]> {
  const result = await db.query<ReceiptKeyRow>("select * from receipt_keys order by created_at, kid");
  return result.rows.map(keyFromRow);
}

/** Replaces a key's sealed private half (sealed again with the newest secrets key). */
export async function updateSealedReceiptKey(db: Db, kid: string, sealed: Sealed): Promise<void> {
  await db.query("update receipt_keys set private_sealed = $2 where kid = $1", [kid, JSON.stringify(sealed)]);
}

export interface StoredReceipt {
  operationId: string;
  kid: string;
  /** The compact JWS. */
  jws: string;
  issuedAt: Date;
}

interface ReceiptRow {
  [key: string]: unknown;
  operation_id: string;
  kid: string;
  jws: string;
  issued_at: Date;
}

export async function findReceipt(db: Db, operationId: string): Promise<StoredReceipt | null> {
  const result = await db.query<ReceiptRow>("select * from receipts where operation_id = $1", [operationId]);
  const row = result.rows[0];
  return row ? { operationId: row.operation_id, kid: row.kid, jws: row.jws, issuedAt: row.issued_at } : null;
}

/**
 * Stores a receipt and settles its operation, in one transaction. Idempotent: when the operation
 * has a receipt already (another replica issued it first), nothing changes and false is returned.
 */
export async function insertReceipt(db: Db, receipt: StoredReceipt): Promise<boolean> {
  const [inserted] = await db.batch([
    {
      text: "insert into receipts (operation_id, kid, jws, issued_at) values ($1, $2, $3, $4) on conflict (operation_id) do nothing",
      values: [receipt.operationId, receipt.kid, receipt.jws, receipt.issuedAt],
    },
    { text: "update operations set receipt_settled_at = $2 where id = $1 and receipt_settled_at is null", values: [receipt.operationId, receipt.issuedAt] },
  ]);
  return (inserted?.rowCount ?? 0) === 1;
}

/** Marks an operation that will never have a receipt, so the issuer stops looking at it. */
export async function settleWithoutReceipt(db: Db, operationId: string, at: Date): Promise<void> {
  await db.query("update operations set receipt_settled_at = $2 where id = $1 and receipt_settled_at is null", [operationId, at]);
}

/**
 * Released operations not yet settled and with no open task (every task verified, resolved or
 * cancelled), oldest first: the issuer's candidates. Reads the partial index `operations_receipt_due`.
 */
export async function operationsDueForReceipt(db: Db, limit: number): Promise<string[]> {
  const result = await db.query<{ id: string }>(
    `select o.id from operations o
     where o.status = 'released' and o.receipt_settled_at is null
       and not exists (select 1 from tasks t where t.operation_id = o.id and t.state in ${OPEN_STATES_SQL} and t.resolution is null)
     order by o.created_at, o.id limit $1`,
    [limit],
  );
  return result.rows.map((r) => r.id);
}

/** What a receipt needs beyond the operation's view: the connection's name, the subject's externalId, which tasks ran dry. */
export interface ReceiptFacts {
  connectionName: string;
  externalId: string | null;
  dryRunTaskIds: ReadonlySet<string>;
}

export async function receiptFacts(db: Db, operationId: string): Promise<ReceiptFacts | null> {
  const result = await db.query<{ connection_name: string; external_id: string | null; dry_run_task_ids: string[] | null }>(
    `select c.name as connection_name, o.subject ->> 'externalId' as external_id,
            (select array_agg(t.id::text) from tasks t where t.operation_id = o.id and t.dry_run) as dry_run_task_ids
     from operations o join connections c on c.id = o.connection_id where o.id = $1`,
    [operationId],
  );
  const row = result.rows[0];
  return row ? { connectionName: row.connection_name, externalId: row.external_id, dryRunTaskIds: new Set(row.dry_run_task_ids ?? []) } : null;
}
