import pg from "pg";
import { batchInTransaction, type Db, type QueryResult, type Row, type Statement } from "./db.js";

// Timestamps stay Date objects (as in PGlite); bigint counts are cast to int in SQL.

function wrapClient(client: pg.PoolClient): Db {
  return {
    kind: "pg",
    async query<T extends Row = Row>(text: string, values: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await client.query<T>(text, values as unknown[]);
      return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(text: string): Promise<void> {
      await client.query(text);
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      return fn(this);
    },
    async batch(statements: readonly Statement[]): Promise<QueryResult[]> {
      return batchInTransaction(this, statements);
    },
    async close(): Promise<void> {},
  };
}

export interface PgOptions {
  connectionString: string;
  /** Pool size (Default: 10). */
  max?: number;
}

export async function openPg(options: PgOptions): Promise<Db & { pool: pg.Pool }> {
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 10 });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on("error", () => {});
  let closed = false;
  const db: Db & { pool: pg.Pool } = {
    kind: "pg",
    pool,
    async query<T extends Row = Row>(text: string, values: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await pool.query<T>(text, values as unknown[]);
      return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(text: string): Promise<void> {
      await pool.query(text);
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query("begin");
        const result = await fn(wrapClient(client));
        await client.query("commit");
        return result;
      } catch (error) {
        await client.query("rollback").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async batch(statements: readonly Statement[]): Promise<QueryResult[]> {
      return batchInTransaction(this, statements);
    },
    async listen(channel: string, onNotify: () => void): Promise<() => Promise<void>> {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
      let client: pg.Client | undefined;
      let stopped = false;
      let retry: NodeJS.Timeout | undefined;
      const connect = async (): Promise<void> => {
        const c = new pg.Client({ connectionString: options.connectionString });
        c.on("notification", () => onNotify());
        c.on("error", () => {
          // Lost: notifications are missed until reconnected; the workers' poll covers the gap.
          void c.end().catch(() => {});
          if (!stopped) retry = setTimeout(reconnect, 1_000);
        });
        await c.connect();
        await c.query(`listen ${channel}`);
        client = c;
        onNotify(); // anything queued while we were not listening
      };
      const reconnect = (): void => {
        void connect().catch(() => {
          if (!stopped) retry = setTimeout(reconnect, 1_000);
        });
      };
      await connect();
      return async () => {
        stopped = true;
        clearTimeout(retry);
        await client?.end().catch(() => {});
      };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
  // Fail at start with the real reason rather than at the first request.
  await db.query("select 1");
  return db;
}
