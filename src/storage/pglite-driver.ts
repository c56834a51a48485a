import { PGlite, type Transaction } from "@electric-sql/pglite";
import { batchInTransaction, type Db, type QueryResult, type Row, type Statement } from "./db.js";

type Queryable = Pick<PGlite, "query" | "exec"> | Transaction;

/** Wraps one PGlite instance (or one of its open transactions) as a `Db`. */
function wrap(pg: PGlite, target: Queryable, inTransaction: boolean): Db {
  return {
    kind: "pglite",
    async query<T extends Row = Row>(text: string, values: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await target.query<T>(text, values as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(text: string): Promise<void> {
      await target.exec(text);
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      if (inTransaction) return fn(this);
      return pg.transaction((tx) => fn(wrap(pg, tx, true)));
    },
    async batch(statements: readonly Statement[]): Promise<QueryResult[]> {
      return batchInTransaction(this, statements);
    },
    async close(): Promise<void> {
      if (!inTransaction && !pg.closed) await pg.close();
    },
  };
}

export interface PgliteOptions {
  /** Data directory; omitted → in memory. */
  dataDir?: string;
  /** A tarball from `dumpDataDir()` to start from (the migrated test template). */
  loadDataDir?: Blob;
}

export async function openPglite(options: PgliteOptions = {}): Promise<Db & { pglite: PGlite }> {
  const pg = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  return Object.assign(wrap(pg, pg, false), { pglite: pg });
}
