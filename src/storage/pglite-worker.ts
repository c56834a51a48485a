/**
 * The embedded database's own thread. PGlite is WebAssembly: every query runs on the thread that
 * owns it. Here that is this worker, so SCIM parsing on the main thread and SQL here use both
 * cores. Messages come from pglite-thread-driver.ts; a transaction holds the database from its
 * `begin` to its `commit`/`rollback`, and statements of other callers wait their turn.
 */
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";

export type Request =
  | { id: number; kind: "query"; text: string; values: unknown[]; txId?: string; begin?: boolean }
  | { id: number; kind: "exec"; text: string; txId?: string; begin?: boolean }
  | { id: number; kind: "begin" | "commit" | "rollback"; txId: string }
  | { id: number; kind: "batch"; statements: { text: string; values: unknown[]; expectOne?: boolean }[]; txId?: string }
  | { id: number; kind: "close" };

export type Reply =
  | { id: number; ok: true; rows?: Record<string, unknown>[]; rowCount?: number; results?: { rows: Record<string, unknown>[]; rowCount: number }[] }
  | { id: number; ok: false; error: { message: string; code?: string; detail?: string; constraint?: string } };

interface Options {
  dataDir?: string;
  loadDataDir?: Uint8Array;
  sharedBuffersMb?: number;
}

const options = workerData as Options;
const port = parentPort!;
const pg = await PGlite.create({
  // A data directory is PGlite's NodeFS: every page write is a write(2) to the real file as the
  // query runs, and its syncToFs is a no-op. Awaiting that no-op after each query costs more than
  // the query itself, so it is not awaited; durability is unchanged (a commit survives a killed
  // process, as scimmy-facts.md §11 measured and test/cli/crash.test.ts checks).
  relaxedDurability: true,
  // PostgreSQL's page cache lives in the WebAssembly heap and is never given back: size it.
  postgresqlconf: [`shared_buffers = ${options.sharedBuffersMb ?? 64}MB`],
  ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  ...(options.loadDataDir ? { loadDataDir: new Blob([options.loadDataDir]) } : {}),
});

/** Who holds the database: a transaction id, or nobody. Waiters queue in order. */
let holder: string | null = null;
const waiting: (() => void)[] = [];
const acquire = (txId: string): Promise<void> =>
  holder === null ? ((holder = txId), Promise.resolve()) : new Promise((resolve) => waiting.push(() => ((holder = txId), resolve())));
const release = (): void => {
  holder = null;
  waiting.shift()?.();
};

async function handle(message: Request): Promise<Reply> {
  const { id } = message;
  switch (message.kind) {
    case "begin":
      await acquire(message.txId);
      await pg.exec("begin");
      return { id, ok: true };
    case "commit":
    case "rollback":
      try {
        await pg.exec(message.kind);
      } finally {
        release();
      }
      return { id, ok: true };
    case "close":
      await pg.close();
      return { id, ok: true };
    case "batch": {
      // Inside a caller's transaction the statements join it; otherwise they are their own.
      const own = message.txId !== undefined && message.txId === holder;
      if (!own) {
        await acquire(`batch-${id}`);
        await pg.exec("begin").catch((error: unknown) => {
          release();
          throw error;
        });
      }
      const results: { rows: Record<string, unknown>[]; rowCount: number }[] = [];
      try {
        for (const [index, statement] of message.statements.entries()) {
          const result = await pg.query(statement.text, statement.values);
          const rowCount = result.affectedRows ?? result.rows.length;
          if (statement.expectOne && rowCount !== 1) throw Object.assign(new Error(`batch statement ${index + 1} found no row`), { code: "SB001", detail: String(index) });
          results.push({ rows: result.rows as Record<string, unknown>[], rowCount });
        }
        if (!own) await pg.exec("commit");
      } catch (error) {
        if (!own) await pg.exec("rollback").catch(() => {});
        throw error;
      } finally {
        if (!own) release();
      }
      return { id, ok: true, results };
    }
    default: {
      // The first statement of a transaction carries its begin: one message, not two.
      if (message.begin && message.txId) {
        await acquire(message.txId);
        await pg.exec("begin");
      }
      // A statement outside any transaction briefly holds the database like a transaction would.
      const own = message.txId !== undefined && message.txId === holder;
      const solo = own ? undefined : `solo-${id}`;
      if (solo) await acquire(solo);
      try {
        if (message.kind === "exec") {
          await pg.exec(message.text);
          return { id, ok: true };
        }
        const result = await pg.query(message.text, message.values);
        return { id, ok: true, rows: result.rows as Record<string, unknown>[], rowCount: result.affectedRows ?? result.rows.length };
      } finally {
        if (solo) release();
      }
    }
  }
}

port.on("message", (message: Request) => {
  handle(message).then(
    (reply) => port.postMessage(reply),
    (error: { message?: string; code?: string; detail?: string; constraint?: string }) =>
      port.postMessage({ id: message.id, ok: false, error: { message: String(error?.message ?? error), code: error?.code, detail: error?.detail, constraint: error?.constraint } } satisfies Reply),
  );
});
port.postMessage({ id: 0, ok: true } satisfies Reply);
