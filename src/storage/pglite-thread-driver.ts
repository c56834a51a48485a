import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { PROJECT_ROOT } from "../paths.js";
import { BATCH_CONDITION, BatchConditionFailed, batchInTransaction, StorageUnavailableError, type Db, type QueryResult, type Row, type Statement } from "./db.js";
import type { Reply, Request } from "./pglite-worker.js";

/** The compiled worker: beside this file in dist/, or in dist/ when running from src/ (tests). */
function workerFile(): string {
  const beside = fileURLToPath(new URL("./pglite-worker.js", import.meta.url));
  if (existsSync(beside)) return beside;
  const built = join(PROJECT_ROOT, "dist", "src", "storage", "pglite-worker.js");
  if (existsSync(built)) return built;
  throw new Error(`the PGlite worker is not built (${built}): run \`npm run build\``);
}

/**
 * Dates arrive built by the worker's structured-clone realm; code running in another realm (a
 * jest VM, say) would not see them as `instanceof Date`. Timestamps are rebuilt in this realm.
 */
function localDates(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  for (const row of rows) {
    for (const key in row) {
      const value = row[key];
      if (value !== null && typeof value === "object" && !(value instanceof Date) && Object.prototype.toString.call(value) === "[object Date]") {
        row[key] = new Date((value as Date).getTime());
      }
    }
  }
  return rows;
}

export interface PgliteThreadOptions {
  dataDir?: string;
  /** A `dumpDataDir()` tarball to start from (the migrated test template). */
  loadDataDir?: Uint8Array;
  /** PostgreSQL shared_buffers in MiB (Default: 32). */
  sharedBuffersMb?: number;
}

/**
 * Embedded PGlite in a worker thread, behind the same `Db` interface. The main thread keeps
 * HTTP and SCIM work; the worker runs SQL, so the two overlap on two cores.
 */
export async function openPgliteThread(options: PgliteThreadOptions = {}): Promise<Db> {
  const worker = new Worker(workerFile(), { workerData: options });
  const pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let dead: Error | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    pending.set(0, { resolve: () => resolve(), reject });
  });
  worker.on("message", (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    waiter?.resolve(reply);
  });
  const fail = (error: Error) => {
    dead = new StorageUnavailableError(`the embedded database stopped: ${error.message}`, { cause: error });
    for (const waiter of pending.values()) waiter.reject(dead);
    pending.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`worker exited with code ${code}`)));
  await ready;

  const send = (message: Omit<Request, "id"> & { kind: Request["kind"] }): Promise<Reply> => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  };
  const call = async (message: Omit<Request, "id"> & { kind: Request["kind"] }): Promise<Reply & { ok: true }> => {
    const reply = await send(message);
    if (!reply.ok) throw Object.assign(new Error(reply.error.message), reply.error);
    return reply;
  };

  /**
   * `tx` is set inside a transaction. Its begin travels with its first statement, so the
   * database is held from that statement to the commit, never while waiting to start: under
   * load the main thread may take a while to read a reply, and the database waits for nothing.
   */
  const handle = (tx: { id: string; begun: boolean } | undefined): Db => {
    const scope = () => {
      if (!tx) return {};
      const begin = !tx.begun;
      tx.begun = true;
      return { txId: tx.id, ...(begin ? { begin } : {}) };
    };
    return {
      kind: "pglite",
      async query<T extends Row = Row>(text: string, values: readonly unknown[] = []): Promise<QueryResult<T>> {
        const reply = await call({ kind: "query", text, values: [...values], ...scope() } as Request);
        return { rows: localDates(reply.rows ?? []) as T[], rowCount: reply.rowCount ?? 0 };
      },
      async exec(text: string): Promise<void> {
        await call({ kind: "exec", text, ...scope() } as Request);
      },
      async batch(statements: readonly Statement[]): Promise<QueryResult[]> {
        // In a transaction that has not begun yet, the batch is its first (and begin-carrying) statement.
        if (tx && !tx.begun) return batchInTransaction(this, statements);
        try {
          const reply = await call({ kind: "batch", statements: statements.map((s) => ({ text: s.text, values: [...(s.values ?? [])], ...(s.expectOne ? { expectOne: true } : {}) })), ...(tx ? { txId: tx.id } : {}) } as Request);
          return (reply.results ?? []).map((r) => ({ rows: localDates(r.rows), rowCount: r.rowCount }));
        } catch (error) {
          if ((error as { code?: string }).code === BATCH_CONDITION) throw new BatchConditionFailed(Number((error as { detail?: string }).detail));
          throw error;
        }
      },
      async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
        if (tx) return fn(this);
        const own = { id: randomUUID(), begun: false };
        try {
          const result = await fn(handle(own));
          if (own.begun) await call({ kind: "commit", txId: own.id } as Request);
          return result;
        } catch (error) {
          if (own.begun) await call({ kind: "rollback", txId: own.id } as Request).catch(() => {});
          throw error;
        }
      },
      async close(): Promise<void> {
        if (tx || dead) return;
        await call({ kind: "close" } as Request).catch(() => {});
        dead = new StorageUnavailableError("the embedded database is closed");
        await worker.terminate();
      },
    };
  };
  return handle(undefined);
}
