/**
 * The storage seam: one narrow interface that both drivers satisfy (DESIGN.md "Storage").
 * Modelled on graphile-worker's `WithPgClient`: callers see rows, never a driver.
 */
export type Row = Record<string, unknown>;

export interface QueryResult<T extends Row = Row> {
  rows: T[];
  rowCount: number;
}

/** One statement of a batch. */
export interface Statement {
  text: string;
  values?: readonly unknown[];
  /** The statement must affect or return exactly one row; otherwise the whole batch rolls back. */
  expectOne?: boolean;
}

/** A batch statement marked `expectOne` did not find its row: nothing of the batch was kept. */
export class BatchConditionFailed extends Error {
  constructor(readonly index: number) {
    super(`statement ${index + 1} of the batch did not affect exactly one row; the batch was rolled back`);
    this.name = "BatchConditionFailed";
  }
}

/** SQLSTATE-like code the embedded worker reports for a failed `expectOne` (not a PostgreSQL code). */
export const BATCH_CONDITION = "SB001";

export interface Db {
  /** Which driver serves this handle: "pglite" (embedded) or "pg" (a PostgreSQL server). */
  readonly kind: "pg" | "pglite";
  /** One parametrised statement ($1, $2, …). */
  query<T extends Row = Row>(text: string, values?: readonly unknown[]): Promise<QueryResult<T>>;
  /** A script of several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
  /**
   * Runs `fn` in one transaction: commit when it resolves, roll back when it throws.
   * Calling `transaction` on the handle `fn` receives joins the same transaction.
   * Never hold a transaction open across a call to a target: PGlite runs one query at a time.
   */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /**
   * Runs statements known in advance as one transaction, in one round trip where the driver can:
   * the database is held for exactly as long as they take, never while this process is busy
   * elsewhere. Results come back in order. Inside a transaction, runs in that transaction.
   */
  batch(statements: readonly Statement[]): Promise<QueryResult[]>;
  /**
   * Calls `onNotify` on every NOTIFY on `channel`, over a connection of its own that reconnects
   * when lost; resolves to a function that stops listening. PostgreSQL servers only: the embedded
   * database belongs to one process, which wakes its workers in-process.
   */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /** Releases the connection(s) or closes the embedded database. Idempotent. */
  close(): Promise<void>;
}

/** Raised by a driver when the database cannot be reached or answered with an internal fault. */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageUnavailableError";
  }
}

/** PostgreSQL SQLSTATE of a unique violation: the callers map it to SCIM 409 `uniqueness`. */
export const UNIQUE_VIOLATION = "23505";

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** `batch` for drivers without a one-round-trip form: the statements inside `transaction`. */
export async function batchInTransaction(db: Db, statements: readonly Statement[]): Promise<QueryResult[]> {
  return db.transaction(async (tx) => {
    const results: QueryResult[] = [];
    for (const [index, statement] of statements.entries()) {
      const result = await tx.query(statement.text, statement.values ?? []);
      if (statement.expectOne && result.rowCount !== 1) throw new BatchConditionFailed(index);
      results.push(result);
    }
    return results;
  });
}
