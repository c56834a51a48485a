/**
 * The audit log's hash chain: the hashing rule, verification and export (DESIGN.md "evidence/").
 *
 * The rule (written by the database in migrations/0004-audit.sql, checked here):
 *   hash = hex(sha256(utf8(prev_hash + entry)))       the first row's prev_hash is 64 zeros,
 * where `entry` is the exact text stored: a JSON object of seq, at, actor, kind, tx and data, so
 * the hash covers every column of its row. A row edited, inserted or deleted anywhere breaks the
 * chain at that row; verification reads the whole log in seq order, a page at a time, and names
 * the first broken link. Rows removed from the end (or a rewrite of everything up to a point) are
 * found by comparing with a pinned checkpoint: the head (seq, hash) someone kept earlier.
 */
import { createHash } from "node:crypto";
import type { Db } from "../storage/db.js";
import { auditRowsAfter, auditStartAfter, parseEntry, toExportEntry, type AuditExportEntry, type AuditRow, type AuditSince } from "../storage/audit-repo.js";

/** The prev_hash of the first row. */
export const GENESIS_HASH = "0".repeat(64);

/** Rows read per query by verification and export (Default: 1000). */
export const AUDIT_PAGE_ROWS = 1000;

/** The hashing rule: what the database computes for each appended row. */
export function auditHash(prevHash: string, entry: string): string {
  return createHash("sha256").update(prevHash + entry, "utf8").digest("hex");
}

/** A point of the chain someone kept, to check later that nothing up to it was rewritten or cut. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
}

/** "1234:ab12…" → a checkpoint; throws naming the expected form. */
export function parseCheckpoint(text: string): AuditCheckpoint {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(text.trim());
  if (!match || Number(match[1]) < 1) throw new Error(`a checkpoint is <seq>:<hash> (the 64 hex digits of that row's hash), not ${JSON.stringify(text)}`);
  return { seq: Number(match[1]), hash: match[2]! };
}

export type AuditVerification =
  | {
      ok: true;
      /** Rows whose links and hashes were recomputed. */
      checked: number;
      /** The last row: pin it (`--pin seq:hash`) to detect a later truncation or rewrite. Null: empty log. */
      head: (AuditCheckpoint & { at: string }) | null;
      /** When checking an export that starts mid-chain: the first row, whose prev_hash was taken on trust. */
      trustedFrom?: number;
    }
  | {
      ok: false;
      /** Rows verified before the first broken link. */
      checked: number;
      /** Where the chain breaks: the altered, inserted or first missing row. */
      seq: number;
      /** What is wrong there, naming the row(s). */
      problem: string;
      /** What to do about it. */
      hint: string;
    };

const BROKEN_HINT =
  "the audit log was changed outside the bridge at that row: keep a copy of the database as it is now, compare the rows there with " +
  "your last export (scim-bridge audit export) and pinned checkpoint, and treat entries before that row as unproven";

type Broken = { seq: number; problem: string };

/**
 * Checks rows one at a time, in seq order: contiguous seq, prev_hash equal to the previous row's
 * hash, the row's own hash, and its columns equal to what its entry (and so its hash) says.
 * `trustFirst`: the first row starts mid-chain (an export with --since): its prev_hash is accepted.
 */
export class AuditChainChecker {
  /** Rows that passed. */
  checked = 0;
  /** The last row that passed. */
  head: (AuditCheckpoint & { at: string }) | null = null;
  /** The first row that passed (with `trustFirst`, where trust began). */
  firstSeq: number | null = null;
  private beforeLast: string | null = null;

  constructor(private readonly trustFirst = false) {}

  /** Null when `row` continues the chain; else the first broken link. */
  check(row: AuditRow): Broken | null {
    const broken = this.link(row) ?? this.content(row);
    if (broken) return broken;
    this.firstSeq ??= row.seq;
    this.beforeLast = this.head?.hash ?? null;
    this.head = { seq: row.seq, hash: row.hash, at: row.at };
    this.checked++;
    return null;
  }

  private link(row: AuditRow): Broken | null {
    const p = this.head;
    if (!p) {
      if (this.trustFirst) return null;
      if (row.seq !== 1) {
        return { seq: 1, problem: `${row.seq === 2 ? "row 1 is" : `rows 1..${row.seq - 1} are`} missing (deleted): the log starts at row ${row.seq}` };
      }
      if (row.prevHash !== GENESIS_HASH) return { seq: 1, problem: "row 1: prev_hash is not the genesis hash (64 zeros): it was altered, or rows before it were deleted" };
      return null;
    }
    if (row.seq <= p.seq) return { seq: row.seq, problem: `row ${row.seq} comes after row ${p.seq}: rows are out of order or repeated` };
    if (row.seq !== p.seq + 1) {
      const missing = row.seq === p.seq + 2 ? `row ${p.seq + 1} is missing` : `rows ${p.seq + 1}..${row.seq - 1} are missing`;
      return { seq: p.seq + 1, problem: `rows ${p.seq}→${row.seq}: ${missing} (deleted)` };
    }
    if (row.prevHash !== p.hash) {
      if (this.beforeLast !== null && row.prevHash === this.beforeLast) {
        return { seq: p.seq, problem: `row ${p.seq}: inserted (row ${row.seq}'s prev_hash is row ${p.seq - 1}'s hash, so row ${p.seq} was put in between)` };
      }
      return { seq: row.seq, problem: `row ${row.seq}: prev_hash does not match row ${p.seq}'s hash (a row was inserted or deleted before it, or its prev_hash was altered)` };
    }
    return null;
  }

  private content(row: AuditRow): Broken | null {
    if (auditHash(row.prevHash, row.entry) !== row.hash) return { seq: row.seq, problem: `row ${row.seq}: entry altered (its hash does not match its content)` };
    const fields = parseEntry(row.entry);
    if (!fields) return { seq: row.seq, problem: `row ${row.seq}: its entry is not a JSON object` };
    const columns: [keyof AuditRow & string, unknown][] = [["seq", row.seq], ["at", row.at], ["actor", row.actor], ["kind", row.kind]];
    for (const [name, value] of columns) {
      if (fields[name] !== value) {
        return { seq: row.seq, problem: `row ${row.seq}: its ${name} column (${JSON.stringify(value)}) differs from the ${name} its hash covers (${JSON.stringify(fields[name])}): the row was edited` };
      }
    }
    return null;
  }
}

export interface VerifyOptions {
  /** Called after each page with the rows checked so far. */
  onProgress?: (progress: { checked: number; seq: number }) => void;
  /** A checkpoint kept earlier: the row must still be there with this hash. */
  pin?: AuditCheckpoint;
  /** Rows per query (Default: AUDIT_PAGE_ROWS). */
  pageRows?: number;
}

/** Finishes a verification: the pin must have been reached (and matched, which `step` checks on the way). */
function finish(checker: AuditChainChecker, pin: AuditCheckpoint | undefined, trusted: boolean): AuditVerification {
  const head = checker.head;
  if (pin && (head?.seq ?? 0) < pin.seq) {
    const end = head?.seq ?? 0;
    return {
      ok: false,
      checked: checker.checked,
      seq: end + 1,
      problem: `the log ends at row ${end}, but row ${pin.seq} was pinned: ${end + 1 === pin.seq ? `row ${pin.seq} was` : `rows ${end + 1}..${pin.seq} were`} deleted from its end`,
      hint: BROKEN_HINT,
    };
  }
  return { ok: true, checked: checker.checked, head, ...(trusted && checker.firstSeq !== null ? { trustedFrom: checker.firstSeq } : {}) };
}

/** Checks one row, then the pin at it: the failure (with the rows verified before it), or null. */
function step(checker: AuditChainChecker, row: AuditRow, pin: AuditCheckpoint | undefined): AuditVerification | null {
  const broken = checker.check(row);
  if (broken) return { ok: false, checked: checker.checked, ...broken, hint: BROKEN_HINT };
  if (pin && row.seq === pin.seq && row.hash !== pin.hash) {
    const problem = `row ${row.seq}: its hash differs from the pinned checkpoint (the log was rewritten up to there)`;
    return { ok: false, checked: checker.checked - 1, seq: row.seq, problem, hint: BROKEN_HINT };
  }
  return null;
}

/**
 * Verifies the whole log in seq order, one page at a time (keyset paging: memory stays flat
 * however long the log). Stops at the first broken link and names it.
 */
export async function verifyAuditChain(db: Db, options: VerifyOptions = {}): Promise<AuditVerification> {
  const pageRows = options.pageRows ?? AUDIT_PAGE_ROWS;
  const checker = new AuditChainChecker();
  let after = 0;
  for (;;) {
    const rows = await auditRowsAfter(db, after, pageRows);
    for (const row of rows) {
      const broken = step(checker, row, options.pin);
      if (broken) return broken;
    }
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.seq;
    options.onProgress?.({ checked: checker.checked, seq: after });
    if (rows.length < pageRows) break;
  }
  return finish(checker, options.pin, false);
}

/** Every entry from `since` on, in seq order, read a page at a time: stream it, never collect it. */
export async function* auditEntries(db: Db, options: { since?: AuditSince; pageRows?: number } = {}): AsyncGenerator<AuditExportEntry> {
  const pageRows = options.pageRows ?? AUDIT_PAGE_ROWS;
  let after = await auditStartAfter(db, options.since);
  for (;;) {
    const rows = await auditRowsAfter(db, after, pageRows);
    for (const row of rows) yield toExportEntry(row);
    if (rows.length < pageRows) return;
    after = rows[rows.length - 1]!.seq;
  }
}

/**
 * Verifies an export (NDJSON lines of AuditExportEntry) without the bridge. An export that starts
 * at row 1 is checked from the genesis hash; one made with --since is checked from its first row on.
 */
export async function verifyAuditExport(lines: AsyncIterable<string> | Iterable<string>, options: Pick<VerifyOptions, "pin" | "onProgress"> = {}): Promise<AuditVerification> {
  let checker: AuditChainChecker | undefined;
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === "") continue;
    const e = parseEntry(line) as Partial<AuditExportEntry> | null;
    if (!e || typeof e.seq !== "number" || typeof e.entry !== "string" || typeof e.hash !== "string" || typeof e.prevHash !== "string") {
      return { ok: false, checked: checker?.checked ?? 0, seq: checker?.head ? checker.head.seq + 1 : 0, problem: `line ${lineNo} is not an exported audit entry`, hint: "verify a file written by scim-bridge audit export" };
    }
    checker ??= new AuditChainChecker(e.seq !== 1);
    const row: AuditRow = { seq: e.seq, at: String(e.at), actor: String(e.actor), kind: String(e.kind), entry: e.entry, prevHash: e.prevHash, hash: e.hash };
    const broken = step(checker, row, options.pin);
    if (broken) return broken;
    if (checker.checked % AUDIT_PAGE_ROWS === 0) options.onProgress?.({ checked: checker.checked, seq: row.seq });
  }
  const done = checker ?? new AuditChainChecker();
  return finish(done, options.pin, done.firstSeq !== null && done.firstSeq !== 1);
}
