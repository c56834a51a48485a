/**
 * The storage seam: one narrow interface that both drivers satisfy (DESIGN.md "Storage").
 * Modelled on graphile-worker's `WithPgClient`: callers see rows, never a driver.
 */
export type Row = Record<string, unknown>;

export interface QueryResult<T extends Row = Row> {
  rows: T[];
  rowCount: number;
}

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
