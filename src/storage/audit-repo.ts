/**
 * The audit log's storage (`audit_log`, migrations/0004-audit.sql): who acts in a transaction,
 * explicit appends, and reads in `seq` order one page at a time. Database triggers write every
 * entry; this module never writes one except through the database's own `audit_append`, so the
 * chain has one author. src/evidence/audit-chain.ts holds the hashing rule and verification.
 */
import { BatchConditionFailed, type Db, type QueryResult, type Row, type Statement } from "./db.js";

/** The transaction-local setting the triggers read as the actor of every entry. */
export const ACTOR_SETTING = "scim_bridge.actor";
/**
 * The setting a deliberate maintenance transaction turns `on` before it may UPDATE, DELETE or
 * TRUNCATE audit_log (refused otherwise, superusers included). Whatever it changes still breaks
 * the chain where it changed it.
 */
export const MAINTENANCE_SETTING = "scim_bridge.audit_maintenance";

/** Actors as written in the log: the IdP behind a SCIM request, the admin token behind an admin action. */
export const scimActor = (connectionName: string): string => `scim:${connectionName}`;
export const adminActor = (tokenName: string): string => `admin:${tokenName}`;

/**
 * The statement that names the actor of the current transaction, for a `batch`. Entries are
 * appended at commit, so it may run anywhere in the transaction, and the last actor set names all
 * of its entries. Unset, the log says `engine` for operations and tasks, `system` for the rest.
 */
export function actorStatement(actor: string): Statement {
  return { text: `select set_config('${ACTOR_SETTING}', $1, true)`, values: [actor] };
}

/**
 * The actor statement for a SCIM write of connection `connectionId` (`scim:<connection name>`),
 * for a recorder on the change seam: its statements run in the write's transaction.
 */
export function scimActorStatement(connectionId: string): Statement {
  return {
    text: `select set_config('${ACTOR_SETTING}', 'scim:' || coalesce((select name from connections where id = $1::uuid), $1::text), true)`,
    values: [connectionId],
  };
}

/**
 * Runs `fn` in one transaction whose audit entries name `actor` (an admin action, a SCIM request).
 * Inside a transaction already open on `db`, joins it and sets the actor for all of it.
 */
export async function asActor<T>(db: Db, actor: string, fn: (tx: Db) => Promise<T>): Promise<T> {
  if (actor.trim() === "") throw new Error("an audit actor must not be empty");
  return db.transaction(async (tx) => {
    const set = actorStatement(actor);
    await tx.query(set.text, set.values);
    return fn(tx);
  });
}

/**
 * `db` with every write it makes recorded as `actor`'s: each query and batch runs in a transaction
 * that sets the actor first (a batch carries it as one more statement, so still one round trip
 * where the driver can). For the admin API, whose repositories take a `Db`; reads pay a
 * transaction too, so hand it to the code that writes.
 */
export function withActor(db: Db, actor: string): Db {
  const set = actorStatement(actor);
  return {
    kind: db.kind,
    query: <T extends Row = Row>(text: string, values: readonly unknown[] = []): Promise<QueryResult<T>> =>
      db.batch([set, { text, values }]).then((results) => results[1] as QueryResult<T>),
    exec: (text) => asActor(db, actor, (tx) => tx.exec(text)),
    transaction: (fn) => asActor(db, actor, fn),
    batch: (statements) =>
      db.batch([set, ...statements]).then(
        (results) => results.slice(1),
        (error: unknown) => {
          throw error instanceof BatchConditionFailed ? new BatchConditionFailed(error.index - 1) : error;
        },
      ),
    // The handle belongs to whoever opened `db`.
    close: async () => {},
  };
}

/**
 * Appends an entry for something that changes no row (an export of the log, a verification).
 * It takes the audit lock until its transaction commits: call it alone, or last in a transaction.
 * Returns the entry's seq.
 */
export async function appendAudit(db: Db, kind: string, data: Record<string, unknown>): Promise<number> {
  const result = await db.query<{ seq: string }>("select audit_append($1, $2::jsonb)::text as seq", [kind, JSON.stringify(data)]);
  return Number(result.rows[0]!.seq);
}

/** One audit_log row as stored: `entry` is the exact text its hash covers. */
export interface AuditRow {
  seq: number;
  /** The `at` column rendered as entries render it: UTC, microseconds ("2025-06-01T10:00:00.123456Z"). */
  at: string;
  actor: string;
  kind: string;
  entry: string;
  prevHash: string;
  hash: string;
}

interface AuditRowSql {
  [key: string]: unknown;
  seq: string;
  at: string;
  actor: string;
  kind: string;
  entry: string;
  prev_hash: string;
  hash: string;
}

const COLUMNS = "seq::text as seq, audit_time_text(at) as at, actor, kind, entry, prev_hash, hash";

const toRow = (r: AuditRowSql): AuditRow => ({ seq: Number(r.seq), at: r.at, actor: r.actor, kind: r.kind, entry: r.entry, prevHash: r.prev_hash, hash: r.hash });

/** An entry's text as an object; null when it is not a JSON object (verification says where). */
export function parseEntry(text: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** One exported entry (a line of `audit export`): `entry` is the exact hashed text, so an export verifies offline. */
export interface AuditExportEntry {
  seq: number;
  at: string;
  actor: string;
  kind: string;
  /** The transaction that appended it: entries of one SCIM request or one task run share it. */
  tx: string | null;
  /** What happened, parsed from `entry` (null if the entry is not JSON: verification says where). */
  data: Record<string, unknown> | null;
  prevHash: string;
  hash: string;
  entry: string;
}

/** A row as the admin API and the export show it: its entry parsed beside the exact text. */
export function toExportEntry(row: AuditRow): AuditExportEntry {
  const fields = parseEntry(row.entry);
  const data = fields?.data;
  return {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    kind: row.kind,
    tx: typeof fields?.tx === "string" ? fields.tx : null,
    data: typeof data === "object" && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : null,
    prevHash: row.prevHash,
    hash: row.hash,
    entry: row.entry,
  };
}

/** Rows with seq greater than `afterSeq`, in seq order, at most `limit` (keyset paging: no offset, no scan of what came before). */
export async function auditRowsAfter(db: Db, afterSeq: number, limit: number): Promise<AuditRow[]> {
  const result = await db.query<AuditRowSql>(`select ${COLUMNS} from audit_log where audit_log.seq > $1::bigint order by audit_log.seq limit $2`, [
    String(Math.max(0, Math.trunc(afterSeq))),
    Math.max(1, Math.trunc(limit)),
  ]);
  return result.rows.map(toRow);
}

/**
 * The seq to page after so that a read starts at the first entry appended at or after `at`
 * (entries are appended under one lock, so their times follow their seq). Past the end: the head.
 * A string keeps microseconds ("2025-06-01T10:00:00.123456Z"); a Date has milliseconds.
 */
export async function auditSeqBefore(db: Db, at: Date | string): Promise<number> {
  const result = await db.query<{ seq: string | null }>(
    "select coalesce((select seq - 1 from audit_log where at >= $1::timestamptz order by at, seq limit 1), (select max(seq) from audit_log), 0)::text as seq",
    [at],
  );
  return Number(result.rows[0]?.seq ?? 0);
}

/**
 * Where a read starts: after a seq ("1234": the entries after it), or at a time (ISO 8601: entries
 * at or after it), kept as text so its microseconds reach the database.
 */
export type AuditSince = { afterSeq: number } | { at: string };

/** `--since` / `?since=`: a seq or an ISO time; undefined or "" → from the start. Throws naming the forms. */
export function parseSince(text: string | undefined): AuditSince | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const t = text.trim();
  if (/^\d+$/.test(t)) return { afterSeq: Number(t) };
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t);
  if (!iso || Number.isNaN(new Date(t).getTime())) throw new Error(`since must be a seq (the entries after it) or an ISO time such as 2025-06-01T10:00:00Z, not ${JSON.stringify(text)}`);
  return { at: t };
}

/** The seq to read after for `since`. */
export async function auditStartAfter(db: Db, since: AuditSince | undefined): Promise<number> {
  if (!since) return 0;
  return "afterSeq" in since ? since.afterSeq : auditSeqBefore(db, since.at);
}

/** The last entry, what someone pins to detect a later rewrite or truncation; null when the log is empty. */
export async function auditHead(db: Db): Promise<{ seq: number; hash: string; at: string } | null> {
  const result = await db.query<{ seq: string; hash: string; at: string }>(
    "select seq::text as seq, hash, audit_time_text(at) as at from audit_log order by audit_log.seq desc limit 1",
  );
  const row = result.rows[0];
  return row ? { seq: Number(row.seq), hash: row.hash, at: row.at } : null;
}
